"""Pytest fixtures for the served application (loaded for the whole suite from
tests/conftest.py). See tests/e2e/README.md."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from kidshield.app import Timings
from kidshield.clock import Clock, FixedClock
from tests.e2e.harness import TEST_TIMINGS, LoopThread, Served, start
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream
from tests.lists.helpers import FakeListServer, Reply, serve_lists

ServeConfig = Callable[..., Served]
Parent = tuple[httpx.Client, dict[str, str]]


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def lists_server() -> Iterator[FakeListServer]:
    """A block list on an HTTP server on 127.0.0.1 (``url``), in hosts format, with one line
    that cannot be read; set ``reply`` to change what it serves."""
    body = (b"# dating sites\n0.0.0.0 meet-strangers.example\n0.0.0.0 flirt.example\n"
            b"0.0.0.0 not_a..name!\n")
    with serve_lists(Reply(body=body), "/dating.txt") as fake:
        yield fake


@pytest.fixture
def upstream(loop_thread: LoopThread) -> Iterator[FakeUpstream]:
    """A fake authoritative DNS server on loopback, answering every name."""
    fake = FakeUpstream()
    loop_thread.run(fake.start())
    yield fake
    loop_thread.run(fake.stop())


@pytest.fixture
def serve_config(loop_thread: LoopThread, tmp_path: Path) -> Iterator[ServeConfig]:
    """``serve_config(text, clock=None, web=True, name="kidshield.toml")`` writes the
    configuration into the test's folder and starts the application from it, as ``kidshield
    serve`` does; it is stopped when the test ends. Several may run at once."""
    with ExitStack() as stack:

        def factory(text: str, clock: Clock | None = None, *, web: bool = True,
                    name: str = "kidshield.toml", timings: Timings = TEST_TIMINGS) -> Served:
            path = tmp_path / name
            path.write_text(text, encoding="utf-8")
            return stack.enter_context(start(path, clock, web=web, timings=timings,
                                             lt=loop_thread))

        yield factory


@pytest.fixture
def served(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> Served:
    """The household (tests/e2e/household.py) served on a Wednesday afternoon (FixedClock)."""
    write_lists(tmp_path)
    return serve_config(config_text(upstream.port), FixedClock(AFTERNOON))


@pytest.fixture
def client(served: Served) -> httpx.Client:
    """An anonymous visitor: a browser on Mia's tablet (127.0.0.1)."""
    return served.client()


@pytest.fixture
def parent(served: Served) -> Parent:
    """The parent, signed in, and the CSRF header for API writes."""
    return served.parent()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 'dns.test' and '*.dns.test' (and its key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=dns.test",
         "-addext", "subjectAltName=DNS:dns.test,DNS:*.dns.test,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


@contextlib.contextmanager
def served_household(folder: Path, extra: str = "",
                     clock: Clock | None = None) -> Iterator[Served]:
    """The household of the ``served`` fixture (on a Wednesday afternoon unless ``clock`` says
    otherwise), for a module- or session-scoped fixture: starting the application for each
    test costs about half a second, and most API tests change nothing another test reads.
    ``extra`` is TOML added to the configuration (say a ``[media]`` table)::

        @pytest.fixture(scope="module")
        def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
            extra = "[media]\\nmax_upload_mb = 1\\n"
            with served_household(tmp_path_factory.mktemp("media"), extra) as served:
                yield served
    """
    lt = LoopThread()
    fake = FakeUpstream()
    try:
        lt.run(fake.start())
        write_lists(folder)
        path = folder / "kidshield.toml"
        path.write_text(config_text(fake.port) + extra, encoding="utf-8")
        with start(path, clock or FixedClock(AFTERNOON), lt=lt) as served:
            yield served
    finally:
        try:
            lt.run(fake.stop())
        finally:
            lt.close()


@contextlib.contextmanager
def assess_client(folder: Path) -> Iterator[httpx.Client]:
    """The household served (``served_household``) and a platform's script asking it: the API
    token of a moderator's account ("trust and safety") with the "assess" scope only."""
    with served_household(folder) as served:
        served.account("trust and safety", "moderator")
        yield served.client(headers=served.bearer_for("trust and safety", ["assess"]))
