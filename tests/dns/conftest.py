"""End-to-end fixtures for the DNS resolver: kidshield started as ``kidshield serve`` starts
it (tests/e2e/harness.py), with a fake authoritative upstream on loopback, and a dnspython
client.

Everything listens on 127.0.0.1 with port 0. Tests talk to the server with the blocking
dnspython clients (``dns.query.udp``/``tcp``/``tls``/``https``) from the test thread while the
server and the fake upstream share one event loop in a helper thread.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import sqlalchemy as sa

from kidshield.app import Timings
from kidshield.clock import FixedClock
from kidshield.storage.schema import query_log
from tests.e2e import harness
from tests.e2e.harness import LoopThread
from tests.e2e.upstream import FakeUpstream

# A Wednesday at noon UTC: outside every default bedtime, inside no schedule unless a test
# says so.
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


# -- the service ----------------------------------------------------------------------------
def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def config_text(
    upstreams: list[str],
    dns_options: dict[str, object] | None = None,
    logging_options: dict[str, object] | None = None,
    rest: str = "",
    default_profile: str | None = None,
) -> str:
    dns_cfg: dict[str, object] = {
        "listen": ["127.0.0.1:0"],
        "upstreams": upstreams,
        "rate_limit_qps": 0,
        "block_ttl": 10,
    }
    dns_cfg.update(dns_options or {})
    log_cfg: dict[str, object] = {"anonymize_clients": False}
    log_cfg.update(logging_options or {})
    lines = ["[server]", 'timezone = "UTC"', 'storage = "kidshield.db"', 'data_dir = "data"']
    if default_profile:
        lines.append(f'default_profile = "{default_profile}"')
    lines += ["", "[dns]"] + [f"{k} = {_toml_value(v)}" for k, v in dns_cfg.items()]
    lines += ["", "[logging]"] + [f"{k} = {_toml_value(v)}" for k, v in log_cfg.items()]
    lines += ["", "[web]", 'listen = "127.0.0.1:0"']
    return "\n".join(lines) + "\n\n" + rest + "\n"


# The household most tests use: 127.0.0.2 is a 9-12 year old, 127.0.0.3 a 13-15 year old,
# everyone else (127.0.0.1) gets the adult defaults.
HOUSEHOLD = """
[[clients]]
name = "kid tablet"
profile = "kid"
addresses = ["127.0.0.2"]
client_ids = ["kid-tablet"]

[[clients]]
name = "teen laptop"
profile = "teen"
addresses = ["127.0.0.3"]
client_ids = ["teen-laptop"]

[profiles.kid]
age_band = "9-12"
deny = ["denied.example"]

[profiles.teen]
age_band = "13-15"
"""

# The same household for tests that run ``kidshield serve`` as a process, on the real clock:
# no band's default bedtime, so what they check does not depend on the hour the suite runs
# (a run at 21:12 UTC on a Sunday found the 9-12 band's school-night bedtime blocking).
HOUSEHOLD_ANY_HOUR = HOUSEHOLD.replace(
    'age_band = "9-12"\n', 'age_band = "9-12"\nbedtime = "off"\n').replace(
    'age_band = "13-15"\n', 'age_band = "13-15"\nbedtime = "off"\n')
assert HOUSEHOLD_ANY_HOUR.count('bedtime = "off"') == 2

KID = "127.0.0.2"
TEEN = "127.0.0.3"
ADULT = "127.0.0.1"


class Served(harness.Served):
    """The running application, with the fake upstream it asks."""

    upstream: FakeUpstream

    @property
    def port(self) -> int:
        return self.dns_port


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes from a stream socket (plain or TLS), or ConnectionError if it closes."""
    out = b""
    while len(out) < size:
        chunk = sock.recv(size - len(out))
        if not chunk:
            raise ConnectionError("closed early")
        out += chunk
    return out


def make_query(name: str, rdtype: str = "A", edns: bool = False) -> dns.message.Message:
    if edns:
        return dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    return dns.message.make_query(name, rdtype, use_edns=False)


def addresses(msg: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in msg.answer
                  if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) for rd in rrset)


def cname_targets(msg: dns.message.Message) -> list[str]:
    return [rd.target.to_text(omit_final_dot=True) for rrset in msg.answer
            if rrset.rdtype == dns.rdatatype.CNAME for rd in rrset]


ServeFactory = Callable[..., Served]
Mangle = Callable[[dns.message.Message, dns.message.Message], bytes]
EDE = 15  # the EDNS option code of an extended DNS error (RFC 8914)


def log_rows(served: Served) -> list[dict[str, Any]]:
    """The query log as the server wrote it (after its writer caught up)."""
    served.pump()
    assert served.app.db is not None
    with served.app.db.engine.connect() as conn:
        result = conn.execute(sa.select(query_log).order_by(query_log.c.id))
        return [dict(row._mapping) for row in result]


def ede_option(code: int, text: str) -> bytes:
    """One extended DNS error as an EDNS option, on the wire."""
    body = struct.pack("!H", code) + text.encode()
    return struct.pack("!HH", EDE, len(body)) + body


def with_opt_options(options: bytes, rcode: dns.rcode.Rcode | None = None) -> Mangle:
    """The upstream's answer (with ``rcode``: emptied, that RCODE) with its own OPT record
    carrying ``options``."""
    def mangle(response: dns.message.Message, _query: dns.message.Message) -> bytes:
        response.use_edns(False)
        if rcode is not None:
            response.set_rcode(rcode)
            response.answer.clear()
        wire = bytearray(response.to_wire())
        wire[10:12] = (int.from_bytes(wire[10:12], "big") + 1).to_bytes(2, "big")
        return bytes(wire) + b"\x00" + struct.pack("!HHBBHH", 41, 4096, 0, 0, 0x8000,
                                                   len(options)) + options

    return mangle


@pytest.fixture
def serve(
    loop_thread: LoopThread, upstream: FakeUpstream, tmp_path: Path
) -> Iterator[ServeFactory]:
    """``serve(rest=HOUSEHOLD, dns_options={...}, clock=..., web=False)`` starts kidshield as
    ``kidshield serve`` does (``web=True``: with its web server on a free port; ``timings``:
    how often its background jobs run)."""
    with ExitStack() as stack:

        def factory(
            rest: str = HOUSEHOLD,
            dns_options: dict[str, object] | None = None,
            logging_options: dict[str, object] | None = None,
            clock: FixedClock | None = None,
            upstreams: list[str] | None = None,
            default_profile: str | None = None,
            web: bool = False,
            timings: Timings = harness.TEST_TIMINGS,
        ) -> Served:
            path = tmp_path / "kidshield.toml"
            path.write_text(config_text(upstreams or [upstream.url], dns_options,
                                        logging_options, rest, default_profile),
                            encoding="utf-8")
            running = stack.enter_context(harness.start(
                path, clock or FixedClock(NOON), web=web, timings=timings, lt=loop_thread))
            served = Served(running.app, loop_thread, path)
            served.upstream = upstream
            return served

        yield factory


def free_udp_port_in_use() -> tuple[socket.socket, int]:
    """A UDP socket bound to a kernel-chosen loopback port (kept open: the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


__all__ = ["ADULT", "HOUSEHOLD", "HOUSEHOLD_ANY_HOUR", "KID", "NOON", "TEEN", "FakeUpstream",
           "LoopThread", "Served", "addresses", "cname_targets", "config_text", "make_query"]
