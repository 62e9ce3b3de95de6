"""End-to-end fixtures for the DNS resolver: a fake authoritative upstream on loopback, the
service running in a background event loop thread, and a dnspython client.

Everything listens on 127.0.0.1 with port 0. Tests talk to the service with the blocking
dnspython clients (``dns.query.udp``/``tcp``/``tls``/``https``) from the test thread while the
service and the fake upstream share one event loop in a helper thread.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
import uvicorn

from kidshield.clock import FixedClock
from kidshield.config import load_config
from kidshield.dns.service import DnsService
from kidshield.web.server import create_app

T = TypeVar("T")

# A Wednesday at noon UTC: outside every default bedtime, inside no schedule unless a test
# says so.
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


# -- the event loop thread ------------------------------------------------------------------
class LoopThread:
    """An asyncio loop in a daemon thread; the test thread submits coroutines to it."""

    def __init__(self) -> None:
        # KIDSHIELD_TEST_UVLOOP=1 runs the service on uvloop, as `kidshield serve` does
        if os.environ.get("KIDSHIELD_TEST_UVLOOP") == "1":
            import uvloop

            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dns-test-loop",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
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


# -- the fake authoritative upstream ----------------------------------------------------------
def _text(name: dns.name.Name | str) -> str:
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text.rstrip(".").lower()


@dataclass
class FakeUpstream:
    """An authoritative server on loopback (UDP and TCP on one port) answering from a small
    table. Unknown names get ``default_a`` / ``default_aaaa`` so any name resolves."""

    records: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    cnames: dict[str, str] = field(default_factory=dict)
    nxdomain: set[str] = field(default_factory=set)
    ttl: int = 300
    negative_ttl: int = 60
    default_a: str | None = "192.0.2.1"
    default_aaaa: str | None = "2001:db8::1"
    delay: float = 0.0
    drop: bool = False  # never answer (but count the query)
    force_tc: bool = False  # UDP answers are empty with TC set: the client must use TCP
    tcp_reply: bytes | None = None  # send this over TCP instead of a real answer (garbage)
    rcode: int | None = None  # answer every query with this rcode (SERVFAIL, REFUSED) and no data
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (proto, name, type)
    udp_sources: list[tuple[str, int]] = field(default_factory=list)  # who sent UDP queries
    port: int = 0
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None
    _replies: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    def add(self, name: str, rdtype: str, *values: str) -> None:
        key = (_text(name), dns.rdatatype.from_text(rdtype))
        self.records.setdefault(key, []).extend(values)

    def cname(self, name: str, target: str) -> None:
        self.cnames[_text(name)] = _text(target)

    def count(self, name: str, rdtype: str | None = None, proto: str | None = None) -> int:
        return sum(1 for p, n, t in self.queries
                   if n == _text(name) and (rdtype is None or t == rdtype)
                   and (proto is None or p == proto))

    # -- answers ---------------------------------------------------------------------------
    def answer(self, wire: bytes, proto: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        question = query.question[0]
        self.queries.append((proto, _text(question.name),
                             dns.rdatatype.to_text(question.rdtype)))
        if self.drop:
            return None
        response = dns.message.make_response(query)
        if self.rcode is not None:
            response.set_rcode(self.rcode)
            return response.to_wire()
        response.flags |= dns.flags.AA
        name = question.name
        for _ in range(16):
            target = self.cnames.get(_text(name))
            if target is None:
                break
            target_name = dns.name.from_text(target)
            response.answer.append(dns.rrset.from_text_list(
                name, self.ttl, "IN", "CNAME", [target_name.to_text()]))
            name = target_name
        key = _text(name)
        values = self.records.get((key, question.rdtype))
        known = any(k == key for k, _t in self.records)
        if values is None and not known:
            if question.rdtype == dns.rdatatype.A and self.default_a:
                values = [self.default_a]
            elif question.rdtype == dns.rdatatype.AAAA and self.default_aaaa:
                values = [self.default_aaaa]
        if key in self.nxdomain:
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa())
        elif values:
            response.answer.append(dns.rrset.from_text_list(
                name, self.ttl, "IN", question.rdtype, values))
        else:
            response.authority.append(self._soa())
        out = response.to_wire()
        limit = query.payload if query.edns >= 0 else 512
        if proto == "udp" and (self.force_tc or len(out) > limit):
            short = dns.message.make_response(query)
            short.flags |= dns.flags.TC | dns.flags.AA
            out = short.to_wire()
        return out

    def _soa(self) -> dns.rrset.RRset:
        return dns.rrset.from_text(
            "example.", self.negative_ttl, "IN", "SOA",
            f"ns.example. hostmaster.example. 1 3600 600 86400 {self.negative_ttl}")

    # -- sockets -----------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        fake = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
                fake.udp_sources.append((addr[0], addr[1]))
                task = loop.create_task(self.reply(data, addr))
                fake._replies.add(task)
                task.add_done_callback(fake._replies.discard)

            async def reply(self, data: bytes, addr: tuple[Any, ...]) -> None:
                if fake.delay:
                    await asyncio.sleep(fake.delay)
                out = fake.answer(data, "udp")
                if out is not None:
                    self.transport.sendto(out, addr)  # type: ignore[attr-defined]

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    data = await reader.readexactly(size)
                    if fake.delay:
                        await asyncio.sleep(fake.delay)
                    out = fake.answer(data, "tcp")
                    if out is not None and fake.tcp_reply is not None:
                        out = fake.tcp_reply
                    if out is not None:
                        writer.write(struct.pack("!H", len(out)) + out)
                        await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        for _ in range(20):  # UDP and TCP on the same port: retry if TCP's is taken
            transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(tcp, "127.0.0.1", port)
            except OSError:
                transport.close()
                continue
            self._udp = transport
            self.port = port
            return
        raise RuntimeError("no free port for the fake upstream")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()


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

KID = "127.0.0.2"
TEEN = "127.0.0.3"
ADULT = "127.0.0.1"


@dataclass
class Served:
    """A running DnsService plus helpers to query it."""

    lt: LoopThread
    service: DnsService
    config_path: Path
    upstream: FakeUpstream

    @property
    def port(self) -> int:
        return next(p for proto, _h, p in self.service.bound if proto == "udp")

    def bound(self, proto: str) -> int:
        return next(p for kind, _h, p in self.service.bound if kind == proto)

    def query(
        self,
        name: str,
        rdtype: str = "A",
        source: str = ADULT,
        proto: str = "udp",
        edns: bool = False,
        timeout: float = 2.0,
        **kw: Any,
    ) -> dns.message.Message:
        q = make_query(name, rdtype, edns)
        if proto == "tcp":
            return dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout,
                                 source=source, **kw)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout, source=source,
                             **kw)

    def pump(self) -> None:
        self.lt.call(lambda: self.service.pump(final=True))
        assert self.service.writer is not None
        self.service.writer.flush()

    def reload(self) -> bool:
        return self.lt.run(self.service.reload())

    def write_config(self, text: str) -> None:
        self.config_path.write_text(text, encoding="utf-8")


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


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def upstream(loop_thread: LoopThread) -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    loop_thread.run(fake.start())
    yield fake
    loop_thread.run(fake.stop())


ServeFactory = Callable[..., Served]


@pytest.fixture
def serve(
    loop_thread: LoopThread, upstream: FakeUpstream, tmp_path: Path
) -> Iterator[ServeFactory]:
    """``serve(rest=HOUSEHOLD, dns_options={...}, clock=...)`` starts a service."""
    started: list[DnsService] = []

    def factory(
        rest: str = HOUSEHOLD,
        dns_options: dict[str, object] | None = None,
        logging_options: dict[str, object] | None = None,
        clock: FixedClock | None = None,
        upstreams: list[str] | None = None,
        default_profile: str | None = None,
    ) -> Served:
        path = tmp_path / "kidshield.toml"
        path.write_text(config_text(upstreams or [upstream.url], dns_options, logging_options,
                                    rest, default_profile), encoding="utf-8")
        service = DnsService(load_config(path), path, clock=clock or FixedClock(NOON),
                             watch_interval=3600)

        async def start() -> None:
            await service.start()

        loop_thread.run(start())
        started.append(service)
        return Served(loop_thread, service, path, upstream)

    yield factory
    for service in started:
        loop_thread.run(service.stop())


class WebServer:
    """The web app on loopback; over HTTPS with ``tls`` (certificate, key)."""

    def __init__(self, lt: LoopThread, served: Served,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.lt = lt
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        # clients such as a DoH upstream keep connections open: don't wait for them at stop
        config = uvicorn.Config(create_app(served.service), log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1,
                                ssl_certfile=str(tls[0]) if tls else None,
                                ssl_keyfile=str(tls[1]) if tls else None)
        self.server = uvicorn.Server(config)

        async def start() -> None:
            self.task = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
            while not self.server.started:
                await asyncio.sleep(0.01)

        lt.run(start())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def stop() -> None:
            self.server.should_exit = True
            await self.task

        self.lt.run(stop())
        self.sock.close()


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


def free_udp_port_in_use() -> tuple[socket.socket, int]:
    """A UDP socket bound to a kernel-chosen loopback port (kept open: the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


__all__ = ["ADULT", "HOUSEHOLD", "KID", "NOON", "TEEN", "FakeUpstream", "LoopThread",
           "Served", "WebServer", "addresses", "cname_targets", "config_text", "make_query"]
