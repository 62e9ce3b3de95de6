"""The served application under test: kidshield started exactly as ``kidshield serve`` starts
it, for tests. See tests/e2e/README.md for how to use it.

``start(config_path)`` builds ``kidshield.app.Application`` (the object ``kidshield serve``
runs: the same composition, middleware, CSP, authentication, thread pools and background
jobs) from a configuration file, on an asyncio loop in a helper thread, with real sockets on
127.0.0.1 (port 0 in the configuration: the kernel picks free ports). Tests talk to it as a
user would: HTTP with httpx, DNS with dnspython, a browser with Playwright. The clock is
injectable (``FixedClock``) so schedules and expiry need no sleeping.

``ServeProcess`` runs the real ``kidshield serve`` command in a child process, for the few
tests that are about the process (signals, the command line, several processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import dns.message
import dns.query
import httpx

from kidshield.app import Application, Timings
from kidshield.clock import Clock, SystemClock
from kidshield.config import load_config
from kidshield.web.context import WebContext
from tests.e2e.contract import Contract

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

# Background jobs as `serve` runs them, but the file watcher and list downloads are left to the
# test (``Served.reload``), so nothing changes under a test's feet.
TEST_TIMINGS = Timings(pump=0.02, state=0.5, watch=3600.0, first_list_update=3600.0)


class LoopThread:
    """An asyncio loop in a daemon thread; the test thread submits coroutines to it.
    ``KIDSHIELD_TEST_UVLOOP=1`` runs it on uvloop, as ``kidshield serve`` does."""

    def __init__(self) -> None:
        if os.environ.get("KIDSHIELD_TEST_UVLOOP") == "1":
            import uvloop

            self.loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="served-loop",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run a plain function inside the loop thread (for state the loop owns)."""

        async def wrapper() -> T:
            return func(*args)

        return self.run(wrapper())

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(cancel_all(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()


class Served:
    """A running application and the ways a test reaches it."""

    def __init__(self, app: Application, lt: LoopThread, config_path: Path) -> None:
        self.app = app
        self.lt = lt
        self.config_path = config_path
        self._clients: list[httpx.Client] = []
        self._contract: Contract | None = None

    # -- where it listens ---------------------------------------------------------------------
    def bound(self, proto: str) -> int:
        return next(p for kind, _h, p in self.app.bound if kind == proto)

    @property
    def dns_port(self) -> int:
        return self.bound("udp")

    @property
    def url(self) -> str:
        assert self.app.web is not None, "started with web=False"
        return self.app.web.url

    @property
    def clock(self) -> Clock:
        return self.app.clock

    # -- running code in the server's loop --------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return self.lt.run(coro, timeout)

    def call(self, func: Callable[..., T], *args: Any) -> T:
        return self.lt.call(func, *args)

    def reload(self) -> bool:
        """What SIGHUP or a changed file does."""
        return self.run(self.app.reload())

    def write_config(self, text: str) -> None:
        self.config_path.write_text(text, encoding="utf-8")

    def pump(self) -> None:
        """Everything answered so far into the query log and the metrics, written."""
        self.run(self.app.dns.settle())

    def refresh_state(self) -> None:
        """What the periodic state refresh does (grants and pauses from the database)."""
        self.call(self.app.refresh_state_now)

    # -- DNS ------------------------------------------------------------------------------------
    def query(self, name: str, rdtype: str = "A", source: str = "127.0.0.1",
              proto: str = "udp", edns: bool = False, timeout: float = 3.0,
              **options: Any) -> dns.message.Message:
        """Ask the server over UDP (or ``proto="tcp"``) from ``source`` (a loopback address:
        the configuration maps addresses to profiles)."""
        if edns:
            q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        else:
            q = dns.message.make_query(name, rdtype, use_edns=False)
        if proto == "tcp":
            return dns.query.tcp(q, "127.0.0.1", port=self.dns_port, timeout=timeout,
                                 source=source, **options)
        return dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=timeout,
                             source=source, **options)

    def addresses(self, name: str, source: str = "127.0.0.1") -> list[str]:
        answer = self.query(name, source=source)
        return sorted(rd.address for rrset in answer.answer if rrset.rdtype in (1, 28)
                      for rd in rrset)

    # -- HTTP -----------------------------------------------------------------------------------
    @property
    def contract(self) -> Contract:
        """The server's OpenAPI document, to check answers against (tests/e2e/contract.py)."""
        if self._contract is None:
            with httpx.Client(base_url=self.url, timeout=15, verify=False) as plain:
                self._contract = Contract(plain.get("/api/v1/openapi.json").json())
        return self._contract

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client for the web server that keeps cookies and follows redirects, as a
        browser does (``follow_redirects=False`` per request to see a redirect itself). Every
        API answer it gets is checked against the OpenAPI document (``contract``)."""
        options.setdefault("follow_redirects", True)
        hooks = options.setdefault("event_hooks", {})
        hooks.setdefault("response", []).append(self.contract.check)
        client = httpx.Client(base_url=self.url, timeout=15, **options)
        self._clients.append(client)
        return client

    @property
    def web(self) -> WebContext:
        assert self.app.web is not None
        ctx = self.app.web.app.state.web
        assert isinstance(ctx, WebContext)
        return ctx

    @property
    def setup_url(self) -> str:
        url = self.web.setup_url(self.url)
        assert url is not None, "the parent account exists already"
        return url

    def parent(self, name: str = "Alex") -> tuple[httpx.Client, dict[str, str]]:
        """A client signed in as the parent (the first account, made with the setup link);
        and the header cookie-authenticated API writes need."""
        client = self.client()
        token = self.web.setup_token
        if token is not None:
            r = client.post("/api/v1/setup", json={"token": token, "name": name,
                                                   "password": PASSWORD})
            assert r.status_code == 201, r.text
        return client, sign_in(client, name)

    def account(self, name: str, *roles: str) -> tuple[httpx.Client, dict[str, str]]:
        """A client signed in with a new account holding ``roles``, added by the parent (the
        first account is an admin) through the API."""
        admin, headers = self.parent()
        r = admin.post("/api/v1/users", headers=headers, json={
            "name": name, "password": PASSWORD, "roles": list(roles)})
        assert r.status_code == 201, r.text
        client = self.client()
        return client, sign_in(client, name)

    def bearer(self, name: str, *roles: str) -> dict[str, str]:
        """The ``Authorization`` header of an API token for a new account holding ``roles``
        (the account is added through the API; the token is issued as Settings -> API tokens
        issues one), with every scope that gives the account something except "tokens"."""
        self.account(name, *roles)
        return self.bearer_for(name)

    def bearer_for(self, name: str, scopes: list[str] | None = None,
                   days: int = 90) -> dict[str, str]:
        """The ``Authorization`` header of a new API token of the account ``name``."""
        from kidshield.web.access import SCOPES, User, permissions_of
        from kidshield.web.accounts import create_token

        found = next(u for u in self.web.users.all() if u.name == name)
        user = User(found.id, found.name, found.roles)
        if scopes is None:
            held = permissions_of(found.roles, None)
            scopes = [s for s, p in SCOPES.items() if p & held and s != "tokens"]
        _info, token = self.call(create_token, self.web, user, f"{name}'s script",
                                 frozenset(scopes), days)
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        for client in self._clients:
            client.close()


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "a form without a CSRF token"
    return match.group(1)


def page_csrf(client: httpx.Client, path: str) -> str:
    """Open ``path`` as a browser would and give the CSRF token its forms carry."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return csrf_of(page.text)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    csrf = client.get("/api/v1/me").json()["csrf"]
    return {"X-CSRF-Token": csrf}


@contextlib.contextmanager
def start(config_path: Path, clock: Clock | None = None, *, web: bool = True,
          timings: Timings = TEST_TIMINGS, lt: LoopThread | None = None,
          isolate: bool = False) -> Iterator[Served]:
    """Run the application from ``config_path`` until the block ends (then stop it as
    SIGTERM does: the query log is flushed). ``isolate=True`` migrates and builds lists in
    child processes as ``kidshield serve`` does (slower to start; same result)."""
    own_loop = lt is None
    loop = lt or LoopThread()
    app = Application(load_config(config_path), clock or SystemClock(),
                      config_path=config_path, web=web, timings=timings, isolate=isolate)
    try:
        loop.run(app.start(), timeout=60)
        served = Served(app, loop, config_path)
        try:
            yield served
        finally:
            served.close()
            loop.run(app.stop())
    finally:
        if own_loop:
            loop.close()


class ServeProcess:
    """``python -m kidshield serve -c CONFIG [args]`` in a child process, with the ports it
    printed. Stop it with ``stop()`` (SIGTERM, as systemd does). ``wait=False`` returns at
    once (to start several together); ``wait_ready()`` then waits for the ports."""

    def __init__(self, config_path: Path, *args: str, env: dict[str, str] | None = None,
                 wait: bool = True) -> None:
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kidshield", "serve", "-c", str(config_path), *args],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=environment,
            cwd=config_path.parent)
        self.output: list[str] = []
        self.ports: dict[str, int] = {}
        self.web_url: str | None = None
        self._drain: threading.Thread | None = None
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.output.append(line)
            if match := re.search(r"listening: (\w+) 127\.0\.0\.1:(\d+)", line):
                self.ports[match.group(1)] = int(match.group(2))
            if match := re.search(r"web: (https?://\S+?)/ ", line):
                self.web_url = match.group(1)
            # the web address comes last; without it, the TCP listener is the last line
            if self.web_url or ("--no-web" in self.args and "tcp" in self.ports):
                break
        if not self.ports:
            self.stop()
            raise AssertionError("kidshield serve did not start:\n" + "".join(self.output))
        # keep reading what it logs, so a full pipe never stalls the server
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.output.append(line)

    @property
    def setup_token(self) -> str | None:
        """The one-time setup token the server printed on its first start."""
        found = re.search(r"/setup\?token=(\S+)", "".join(self.output))
        return found.group(1) if found else None

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        if self._drain is not None:
            self._drain.join(5)
        elif self.proc.stderr is not None:
            self.output.append(self.proc.stderr.read())
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"]


@contextlib.contextmanager
def chromium(names_to_port: dict[str, int] | None = None,
             extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """Debian's Chromium under Playwright (its own browser download cannot work here).
    ``names_to_port`` sends those host names to 127.0.0.1:port, as the DNS server would send
    a child's browser to the block page. Skips the test when Chromium is not installed."""
    import shutil

    import pytest

    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/apt-packages)")
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, *extra_args]
    if names_to_port:
        rules = ", ".join(f"MAP {name} 127.0.0.1:{port}" for name, port in names_to_port.items())
        args.append(f"--host-resolver-rules={rules}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            browser.close()


def wait_for(page: Any, expression: str, timeout: float = 5.0) -> Any:
    """Poll a JavaScript expression in ``page`` until it is truthy. (Playwright's own
    ``wait_for_function`` polls with eval inside the page, which our Content-Security-Policy
    rightly refuses; ``evaluate`` runs from the debugger and is not subject to it.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)
