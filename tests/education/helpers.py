"""Loopback-only fixtures for drills: a fake upstream resolver, a real kidshield (DNS and web,
as `kidshield serve` runs them) in a background thread, stand-ins for the device's system
resolver, and a web server that is not kidshield."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from kidshield.education.drill import LookupFailed, NameNotFound, SystemLookup
from tests.e2e import harness
from tests.e2e.harness import Served
from tests.e2e.household import config_text, write_lists

FAKE_ADDRESS = "192.0.2.10"


def _udp_and_tcp_on_one_port() -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same kernel-chosen loopback port. The port the kernel
    picks for UDP may be taken for TCP (other test runs share the machine): try again."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        return udp, tcp
    raise OSError("no loopback port free for both UDP and TCP after 50 tries")


class FakeUpstream:
    """Answers every A query with 192.0.2.10 and everything else with NODATA, on UDP and TCP."""

    def __init__(self) -> None:
        self.udp, self.tcp = _udp_and_tcp_on_one_port()
        self.port: int = self.udp.getsockname()[1]
        self.tcp.listen()
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]

    @staticmethod
    def answer(wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        question = q.question[0]
        if question.rdtype == 1:
            r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", FAKE_ADDRESS))
        r.set_rcode(dns.rcode.NOERROR)
        return r.to_wire()

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.udp.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.udp.sendto(self.answer(data), addr)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    size = int.from_bytes(conn.recv(2), "big")
                    data = b""
                    while len(data) < size:
                        chunk = conn.recv(size - len(data))
                        if not chunk:
                            break
                        data += chunk
                    if data:
                        out = self.answer(data)
                        conn.sendall(len(out).to_bytes(2, "big") + out)
                except (OSError, dns.exception.DNSException):
                    pass  # a bare connection (the port-853 probe) or garbage

    def __enter__(self) -> FakeUpstream:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()


def drill_config(tmp_path: Path, upstream_port: int, profile_extra: str = "",
                 dns_extra: str = "") -> str:
    """A 9-12 profile "kid" for 127.0.0.1; 127.0.0.2 plays a home router whose queries get
    the adults' profile "household"."""
    (tmp_path / "adult.txt").write_text("adult.drill.test\n", encoding="utf-8")
    return f"""
[server]
storage = "{tmp_path / 'kidshield.db'}"
data_dir = "{tmp_path / 'data'}"
default_profile = "kid"

[dns]
listen = ["127.0.0.1:0"]
upstreams = ["udp://127.0.0.1:{upstream_port}"]
rate_limit_qps = 0
block_page_ipv4 = "127.0.0.1"
{dns_extra}

[web]
listen = "127.0.0.1:0"

[[lists]]
name = "adult"
source = "adult.txt"
category = "adult"

[[clients]]
name = "Router"
profile = "household"
addresses = ["127.0.0.2"]

[profiles.household]
age_band = "adult"

[profiles.kid]
age_band = "9-12"
bedtime = "off"
{profile_extra}
"""


@contextmanager
def served(tmp_path: Path, config_text: str) -> Iterator[Served]:
    """kidshield's DNS and web servers on 127.0.0.1 (kernel-chosen ports), as ``kidshield
    serve`` runs them (tests/e2e/harness.py)."""
    path = tmp_path / "kidshield.toml"
    path.write_text(config_text, encoding="utf-8")
    with harness.start(path) as running:
        yield running


@contextmanager
def served_household_live(folder: Path) -> Iterator[Served]:
    """The household of tests/e2e/household.py served on the real clock: its lists written and
    a fake upstream DNS server running."""
    write_lists(folder)
    with FakeUpstream() as upstream, served(folder, config_text(upstream.port)) as running:
        yield running


def resolver_lookup(port: int, source: str = "127.0.0.1") -> SystemLookup:
    """A stand-in for the device's system resolver: the DNS server at 127.0.0.1:``port``,
    asked from ``source`` (127.0.0.2 plays a router forwarding the device's queries)."""

    def lookup(name: str) -> list[str]:
        q = dns.message.make_query(name, "A")
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1, source=source)
        except (dns.exception.Timeout, OSError) as exc:
            raise LookupFailed(str(exc)) from None
        if r.rcode() == dns.rcode.NXDOMAIN:
            raise NameNotFound(name)
        found = [rd.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                 for rd in rrset]
        if not found:
            raise NameNotFound(name)
        return found

    return lookup


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<h1>Blocked by kidshield</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def block_page_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    """A loopback TCP/UDP port nobody listens on (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port
