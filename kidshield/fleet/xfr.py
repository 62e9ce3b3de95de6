"""Zone transfers for engines that pull: AXFR (RFC 5936), IXFR (RFC 1995), SOA queries, and
NOTIFY (RFC 1996) when a zone's serial changes.

Requests are parsed with dnspython; responses are built from the wire records of the zone
files (``zonefile.py``), streamed in messages of at most ``MESSAGE_BYTES``. IXFR answers with
the differences when the engine's serial is one this process has published and the zone is
small (the time and safe-search zones, which change at schedule edges); otherwise with the
whole zone, which RFC 1995 allows.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

from kidshield.dns.server import explain_bind_error
from kidshield.fleet.zonefile import ZoneFileError, ZoneHead, read_head, records

log = logging.getLogger("kidshield.fleet")

MESSAGE_BYTES = 16_000
HISTORY_RECORDS = 50_000  # zones up to this size keep their last versions for IXFR
HISTORY_VERSIONS = 8
READ_TIMEOUT = 15.0
AXFR, IXFR, SOA = 252, 251, 6


@dataclass(slots=True)
class PublishedZone:
    head: ZoneHead
    path: Path
    # serial -> the records of that version (small zones only), oldest first
    history: dict[int, frozenset[bytes]] = field(default_factory=dict)

    def diff_from(self, serial: int) -> tuple[frozenset[bytes], frozenset[bytes]] | None:
        old = self.history.get(serial)
        new = self.history.get(self.head.serial)
        if old is None or new is None:
            return None
        return old - new, new - old


class ZoneSet:
    """The zones being served, by origin; ``publish`` swaps in new versions."""

    def __init__(self) -> None:
        self.zones: dict[str, PublishedZone] = {}

    def publish(self, paths: Iterable[Path]) -> list[str]:
        """Read the zone files; return the origins whose serial changed (or are new)."""
        changed = []
        fresh: dict[str, PublishedZone] = {}
        for path in paths:
            head = read_head(path)
            old = self.zones.get(head.origin)
            zone = PublishedZone(head, path)
            if old is not None:
                zone.history = dict(old.history)
            if old is None or old.head.serial != head.serial:
                changed.append(head.origin)
            if head.serial not in zone.history:
                recs = _small(path, head)
                if recs is None:
                    zone.history.clear()
                else:
                    zone.history[head.serial] = recs
                    while len(zone.history) > HISTORY_VERSIONS:
                        zone.history.pop(next(iter(zone.history)))
            fresh[head.origin] = zone
        self.zones = fresh
        return changed


def _small(path: Path, head: ZoneHead) -> frozenset[bytes] | None:
    out = set()
    for rec in records(path, head):
        out.add(rec)
        if len(out) > HISTORY_RECORDS:
            return None
    return frozenset(out)


class TransferServer:
    def __init__(self, zones: ZoneSet, allowed: list[str]) -> None:
        self.zones = zones
        self.allowed = [ipaddress.ip_network(n) for n in allowed]
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None

    def permitted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in self.allowed)

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        try:
            self._tcp = await asyncio.start_server(self._tcp_client, host, port,
                                                   reuse_address=True)
            port = int(self._tcp.sockets[0].getsockname()[1])
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(host, port))
        except OSError as exc:
            self.close()
            raise explain_bind_error(exc, host, port, "zone transfer") from None
        return port

    def close(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    async def _tcp_client(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if peer else ""
        loop = asyncio.get_running_loop()
        try:
            while True:
                size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2),
                                                                   READ_TIMEOUT))[0]
                data = await asyncio.wait_for(reader.readexactly(size), READ_TIMEOUT)
                messages = self.answer(data, address, tcp=True)
                while True:
                    # a category zone of a million names is millions of records: read and
                    # encode them off the event loop, so DNS answers go on meanwhile
                    batch = await loop.run_in_executor(None, _take, messages, 32)
                    if not batch:
                        break
                    for message in batch:
                        writer.write(struct.pack("!H", len(message)) + message)
                    await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except ZoneFileError as exc:  # the engine asks again and gets the new version
            log.info("transfer to %s stopped: %s", address, exc)
        finally:
            writer.close()

    def answer(self, data: bytes, address: str, tcp: bool) -> Iterator[bytes]:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            if len(data) >= 12:
                yield _header(data[:2], 0x8000, int(dns.rcode.FORMERR), 0)
            return
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            yield _error(query, dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY
                         else dns.rcode.FORMERR)
            return
        question = query.question[0]
        origin = question.name.to_text(omit_final_dot=True).lower()
        zone = self.zones.zones.get(origin)
        if not self.permitted(address):
            yield _error(query, dns.rcode.REFUSED)
            return
        if zone is None:
            yield _error(query, dns.rcode.NOTAUTH)
            return
        qtype = int(question.rdtype)
        if qtype == SOA or (qtype == IXFR and not tcp):
            yield _message(query, [zone.head.soa()], first=True)
        elif qtype == AXFR and tcp:
            log.info("AXFR of %s (serial %d) to %s", origin, zone.head.serial, address)
            yield from _stream(query, _full(zone))
        elif qtype == IXFR:
            yield from _stream(query, _incremental(query, zone, address))
        else:
            yield _error(query, dns.rcode.NOTIMP)


def _take(items: Iterator[bytes], count: int) -> list[bytes]:
    return list(itertools.islice(items, count))


def _full(zone: PublishedZone) -> Iterator[bytes]:
    soa = zone.head.soa()
    yield soa
    yield from records(zone.path, zone.head)
    yield soa


def _incremental(query: dns.message.Message, zone: PublishedZone,
                 address: str) -> Iterator[bytes]:
    theirs = None
    for rrset in query.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            theirs = int(rrset[0].serial)
    soa = zone.head.soa()
    if theirs == zone.head.serial:
        yield soa  # up to date
        return
    diff = None if theirs is None else zone.diff_from(theirs)
    if diff is None:
        log.info("IXFR of %s from serial %s to %s: whole zone", zone.head.origin, theirs,
                 address)
        yield from _full(zone)
        return
    deleted, added = diff
    log.info("IXFR of %s from serial %d to %d: %d records out, %d in, to %s",
             zone.head.origin, theirs, zone.head.serial, len(deleted), len(added), address)
    old = ZoneHead(zone.head.origin, theirs or 0, zone.head.ttl).soa()
    yield soa
    yield old
    yield from sorted(deleted)
    yield soa
    yield from sorted(added)
    yield soa


def _header(qid: bytes, flags: int, rcode: int, ancount: int, qdcount: int = 0) -> bytes:
    return qid + struct.pack("!HHHHH", flags | rcode, qdcount, ancount, 0, 0)


def _question(query: dns.message.Message) -> bytes:
    q = query.question[0]
    name: bytes = q.name.to_wire() or b"\x00"
    return name + struct.pack("!HH", int(q.rdtype), int(q.rdclass))


def _message(query: dns.message.Message, recs: list[bytes], first: bool) -> bytes:
    flags = 0x8000 | 0x0400  # QR, AA
    qid = struct.pack("!H", query.id)
    question = _question(query) if first else b""
    return _header(qid, flags, 0, len(recs), 1 if first else 0) + question + b"".join(recs)


def _stream(query: dns.message.Message, recs: Iterator[bytes]) -> Iterator[bytes]:
    batch: list[bytes] = []
    size = 0
    first = True
    for rec in recs:
        if batch and size + len(rec) > MESSAGE_BYTES:
            yield _message(query, batch, first)
            first = False
            batch, size = [], 0
        batch.append(rec)
        size += len(rec)
    if batch:
        yield _message(query, batch, first)


def _error(query: dns.message.Message, rcode: dns.rcode.Rcode) -> bytes:
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    return response.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: TransferServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is None:
            return
        try:
            for message in self.server.answer(data, addr[0], tcp=False):
                self.transport.sendto(message, addr)
        except Exception:  # a hostile datagram must not stop the listener
            log.debug("bad datagram from %s", addr[0], exc_info=True)


async def notify(targets: list[tuple[str, int]], zones: list[ZoneHead],
                 timeout: float = 2.0, tries: int = 3) -> dict[tuple[str, str, int], bool]:
    """Tell each target that each zone changed; True where the target acknowledged."""
    loop = asyncio.get_running_loop()
    results: dict[tuple[str, str, int], bool] = {}

    async def one(host: str, port: int, head: ZoneHead) -> None:
        message = dns.message.make_query(head.origin + ".", "SOA")
        message.flags = dns.flags.AA  # (the opcode lives in the flags: set it after them)
        message.set_opcode(dns.opcode.NOTIFY)
        wire = message.to_wire()
        family = 10 if ":" in host else 2
        for _ in range(tries):
            got: asyncio.Future[bytes] = loop.create_future()
            transport, _p = await loop.create_datagram_endpoint(
                lambda got=got: _Reply(got), family=family)  # type: ignore[misc]
            try:
                transport.sendto(wire, (host, port))
                reply = await asyncio.wait_for(got, timeout)
                if len(reply) < 4 or reply[:2] != wire[:2]:
                    continue
                rcode = reply[3] & 0x0F
                if rcode == 0:
                    results[(host, head.origin, port)] = True
                    return
                log.warning("NOTIFY of %s to %s:%d: the engine answered %s (does its "
                            "access control let kidshield's address send it?)", head.origin,
                            host, port, dns.rcode.to_text(dns.rcode.Rcode(rcode)))
                results[(host, head.origin, port)] = False
                return
            except (TimeoutError, OSError):
                continue
            finally:
                transport.close()
        log.warning("NOTIFY of %s to %s:%d was not answered", head.origin, host, port)
        results[(host, head.origin, port)] = False

    await asyncio.gather(*(one(h, p, z) for h, p in targets for z in zones))
    return results


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, got: asyncio.Future[bytes]) -> None:
        self.got = got

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.got.done():
            self.got.set_result(data)
