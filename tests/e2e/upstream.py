"""A fake authoritative DNS server on loopback (UDP and TCP on one port) for the served
application to use as its upstream: it answers from a small table, counts what it was asked
and can be told to misbehave (delay, drop, truncate, send garbage)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset


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
    wires: list[bytes] = field(default_factory=list)  # every query as it arrived
    # rewrite each answer (the response as built, the query) into bytes: a faulty upstream
    mangle: Callable[[dns.message.Message, dns.message.Message], bytes] | None = None
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
        self.wires.append(wire)
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
        if self.mangle is not None:
            return self.mangle(response, query)
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


