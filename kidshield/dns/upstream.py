"""Upstream resolvers: plain UDP (TCP on truncation), TCP, DNS over TLS and DNS over HTTPS,
with health tracking and failover.

URL forms (config ``dns.upstreams``):
    udp://9.9.9.9:53    tcp://9.9.9.9    tls://dns.quad9.net@9.9.9.9:853
    https://dns.quad9.net/dns-query@9.9.9.9
The ``@address`` part is a bootstrap address, so encrypted upstreams need no other resolver.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.message
from dns.rcode import Rcode

from kidshield.dns.strict import AnswerShape, check_answer
from kidshield.dns.udpexchange import ExchangeError, UdpExchange
from kidshield.dns.wire import HEADER, WireError, set_ttls, skip_name


class UpstreamError(Exception):
    """No usable answer. ``servfail``: an upstream's SERVFAIL, read strictly, when one
    answered so (its extended DNS errors may say why: a DNSSEC failure, no reachable
    authority), else its REFUSED when one only refused, for the client when nothing better
    comes (``forward.failed_answer`` makes a REFUSED one our SERVFAIL). ``malformed``: an
    answer came that could not be used (unreadable, or not an answer to our question), as
    against none at all (a timeout, a network error): an operator looks in different places
    (the upstream's software, or the path to it), so the log and metrics tell them apart.
    ``silent``: an upstream gave no answer at all (so a REFUSED one is not the only word)."""

    def __init__(self, message: str,
                 servfail: tuple[bytes, AnswerShape, Upstream] | None = None,
                 malformed: bool = False, silent: bool = False) -> None:
        super().__init__(message)
        self.servfail = servfail
        self.malformed = malformed
        self.silent = silent


@dataclass
class Health:
    failures: int = 0
    down_until: float = 0.0
    answered: int = 0
    errors: int = 0
    rtt_ms: float = 0.0
    servfail: int = 0  # answers that were no answer: it could not (SERVFAIL) ...
    refused: int = 0  # ... or would not (REFUSED); the next upstream was asked

    def ok(self, rtt: float) -> None:
        self.failures = 0
        self.down_until = 0.0
        self.answered += 1
        self.rtt_ms = rtt * 1000 if not self.rtt_ms else 0.8 * self.rtt_ms + 200 * rtt

    def fail(self, now: float) -> None:
        self.failures += 1
        self.errors += 1
        if self.failures >= 3:
            # back off, doubling up to a minute, then probe again
            self.down_until = now + min(60.0, 2.0 ** (self.failures - 3))


@dataclass
class Upstream:
    url: str
    scheme: str
    host: str  # name or address we talk to (TLS server name for tls/https)
    address: str  # where we connect
    port: int
    path: str = "/dns-query"
    health: Health = field(default_factory=Health)
    _http: Any = None
    _udp: UdpExchange | None = None

    @property
    def label(self) -> str:
        return self.url

    async def query(self, packet: bytes, timeout: float, tcp: bool = False,
                    question_end: int = 0) -> tuple[bytes, AnswerShape]:
        """The upstream's answer to ``packet``, checked to be a response to that question
        (UpstreamError otherwise: garbage must never reach a client or the cache), and what
        reading it found. ``tcp``: a UDP upstream's answer was truncated, ask over TCP.
        ``question_end``: where ``packet``'s question ends, when the caller knows."""
        if question_end <= HEADER:
            question_end = find_question_end(packet)
        answer, matched = await self._query(packet, timeout, tcp, question_end)
        return self.read(packet, answer, question_end, matched)

    @staticmethod
    def read(packet: bytes, answer: bytes, question_end: int,
             matched: bool = False) -> tuple[bytes, AnswerShape]:
        """``answer`` checked to answer ``packet`` (whose question ends at
        ``question_end``) and read strictly (UpstreamError if not), with the OPT record
        ``packet`` carried (ours, or none) in place of the upstream's. ``matched``: the UDP
        exchange took it as the answer to ``packet`` (its ID, opcode and question), which
        is not checked again."""
        if not matched:
            _check_answer(packet, answer, question_end)
        return strict_answer(answer, packet[question_end:])

    def answered(self, answer: bytes, started: float) -> str:
        """An answer read from this upstream, asked at ``started`` (it is alive): "" when
        the answer is for the client, else why the next upstream is asked (it answered
        SERVFAIL: could not; REFUSED: would not)."""
        self.health.ok(time.monotonic() - started)
        rcode = answer[3] & 0xF
        if rcode != Rcode.SERVFAIL and rcode != Rcode.REFUSED:
            return ""
        if rcode == Rcode.REFUSED:
            self.health.refused += 1
        else:
            self.health.servfail += 1
        return f"{self.label}: {Rcode(rcode).name}"

    def failed(self, why: object) -> str:
        """No usable answer from this upstream (``why``): its health notes it; what to
        report."""
        self.health.fail(time.monotonic())
        return f"{self.label}: {why}"

    def ignored(self) -> dict[str, int]:
        """Datagrams the UDP exchange ignored as no answer to a question out, by reason
        (``udpexchange.MISMATCHES``)."""
        return self._udp.ignored if self._udp is not None else {}

    def exchange(self) -> UdpExchange:
        """A UDP upstream's exchange (questions with callbacks: ``UdpExchange.send``)."""
        if self._udp is None:
            self._udp = UdpExchange(self.address, self.port)
        return self._udp

    async def _query(self, packet: bytes, timeout: float, tcp: bool,
                     question_end: int) -> tuple[bytes, bool]:
        """The answer, and whether the UDP exchange has matched it to ``packet``."""
        if self.scheme == "udp" and not tcp:
            try:
                answer = await self.exchange().ask(packet, timeout, question_end)
            except ExchangeError as exc:
                raise UpstreamError(f"{self.address}:{self.port}: {exc}") from exc
            if len(answer) > 2 and answer[2] & 0x02:  # truncated: ask again over TCP
                tcp = True
            else:
                return answer, True
        if self.scheme in ("udp", "tcp"):
            return await _stream_query(self.address, self.port, packet, timeout, None,
                                       None), False
        if self.scheme == "tls":
            return await _stream_query(self.address, self.port, packet, timeout,
                                       _tls_context(), self.host), False
        return await self._doh(packet, timeout), False

    async def _doh(self, packet: bytes, timeout: float) -> bytes:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(http2=True, timeout=timeout, verify=_tls_context())
        url = f"https://{_bracket(self.address)}:{self.port}{self.path}"
        try:
            resp = await self._http.post(
                url,
                content=b"\x00\x00" + packet[2:],  # RFC 8484: use ID 0 for cache friendliness
                headers={"Content-Type": "application/dns-message",
                         "Accept": "application/dns-message", "Host": self.host},
                extensions={"sni_hostname": self.host},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.url}: {exc}") from exc
        if resp.status_code != 200:
            raise UpstreamError(f"{self.url}: HTTP {resp.status_code}")
        content: bytes = resp.content
        return packet[:2] + content[2:]

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def parse_upstream(url: str) -> Upstream:
    text = url if "://" in url else f"udp://{url}"
    scheme, _, rest = text.partition("://")
    bootstrap = None
    if "@" in rest:
        rest, _, bootstrap = rest.rpartition("@")
    parts = urlsplit(f"{scheme}://{rest}")
    host = parts.hostname or ""
    default_port = {"udp": 53, "tcp": 53, "tls": 853, "https": 443}[scheme]
    port = parts.port or default_port
    address = host
    if bootstrap:
        b = urlsplit(f"x://{bootstrap}")
        address = b.hostname or bootstrap
        port = b.port or port
    path = parts.path or "/dns-query"
    return Upstream(url=url, scheme=scheme, host=host, address=address, port=port, path=path)


def _check_answer(packet: bytes, answer: bytes, question_end: int) -> None:
    """UpstreamError unless ``answer`` is a response to ``packet`` (its ID, opcode and
    question, whose name may differ in case)."""
    if (len(answer) < HEADER or not answer[2] & 0x80 or answer[:2] != packet[:2]
            or (answer[2] ^ packet[2]) & 0x78):  # the opcode bits must be the query's
        raise UpstreamError("the answer is not a DNS response to our query", malformed=True)
    if answer[4:6] != b"\x00\x01":
        raise UpstreamError("the answer does not repeat the question", malformed=True)
    name_end = question_end - 4
    if (answer[HEADER:name_end].lower() != packet[HEADER:name_end].lower()
            or answer[name_end:question_end] != packet[name_end:question_end]):
        raise UpstreamError("the answer does not match the question", malformed=True)


def find_question_end(packet: bytes) -> int:
    """Where the question of a query we built ends."""
    try:
        return skip_name(packet, HEADER) + 4  # a label may hold a zero byte: walk the labels
    except WireError as exc:
        raise UpstreamError(f"not a question: {exc}") from None


def strict_answer(answer: bytes, opt: bytes = b"") -> tuple[bytes, AnswerShape]:
    """The answer as dnspython parses it strictly, and what reading it found, or
    UpstreamError: a record cut short, trailing bytes, a bad name or count is never cached,
    checked or passed on (the client gets SERVFAIL); nor is an extended RCODE, which our
    queries (EDNS version 0, no cookie) never call for. EDNS is hop-by-hop (RFC 6891 6.1.1):
    the upstream's OPT record (its payload size, flags, client subnet, cookie and other
    options) is replaced by ``opt``, the one we sent it (or removed: ``opt`` empty), so the
    answer is cached, and reaches every client, with ours. Only its extended DNS errors
    (RFC 8914: why a SERVFAIL, a DNSSEC failure, a filtered name) describe the answer rather
    than the hop: they are kept in ours, for clients that use EDNS. A TTL with its top bit
    set is written as zero (RFC 2181 8). The shape's OPT fields may describe the answer as
    it came; its records' offsets are those of the answer returned."""
    try:
        shape = check_answer(answer)  # the common answers, without building objects
    except WireError as exc:
        raise UpstreamError(f"malformed answer: {exc}", malformed=True) from None
    if shape.extended_rcode:
        raise UpstreamError(f"an extended RCODE we did not ask for ({shape.extended_rcode})",
                            malformed=True)
    if shape.zeroed:  # passed on (and cached) as read: zero, not a TTL of 68 years or -1 s
        answer = set_ttls(answer, shape.ttl_offsets, shape.ttls, 0)
    if not shape.complete:
        try:
            dns.message.from_wire(answer, ignore_trailing=False)
        except (dns.exception.DNSException, ValueError, struct.error, IndexError) as bad:
            # (not ``exc``, a WireError above: compiled, a name keeps its first type)
            raise UpstreamError(f"malformed answer: {type(bad).__name__}: {bad}",
                                malformed=True) from None
    at, end = shape.opt_at, shape.opt_end
    if shape.ede and opt:  # our OPT record (RDLEN at bytes 9-10) with the upstream's EDEs
        size = ((opt[9] << 8) | opt[10]) + len(shape.ede)
        opt = opt[:9] + bytes((size >> 8, size & 0xFF)) + opt[11:] + shape.ede
    if at < 0:
        if not opt:  # the common answer to a query without EDNS
            return answer, shape
        at = end = len(answer)
    additional = ((answer[10] << 8) | answer[11]) + (1 if opt else 0) - (1 if end > at else 0)
    written = (answer[:10] + bytes((additional >> 8, additional & 0xFF)) + answer[HEADER:at]
               + answer[end:] + opt)
    if end == len(answer):  # the records before it stay where they were (the common case):
        return written, shape  # its offsets hold (a new shape: a microsecond per EDNS miss)
    try:
        return written, check_answer(written)  # where its records are now
    except WireError as exc:
        raise UpstreamError(f"malformed answer: {exc}", malformed=True) from None


async def _stream_query(
    address: str, port: int, packet: bytes, timeout: float,
    tls: ssl.SSLContext | None, server_name: str | None,
) -> bytes:
    async def run() -> bytes:
        reader, writer = await asyncio.open_connection(
            address, port, ssl=tls, server_hostname=server_name if tls else None
        )
        try:
            writer.write(struct.pack("!H", len(packet)) + packet)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            return await reader.readexactly(size)
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(run(), timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
        raise UpstreamError(f"{address}:{port}: {exc or type(exc).__name__}") from exc


class UpstreamPool:
    """Tries healthy upstreams in order; a failing one is skipped for a while, then probed."""

    def __init__(self, upstreams: Sequence[Upstream], timeout: float = 2.0) -> None:
        if not upstreams:
            raise ValueError("at least one upstream is needed")
        self.upstreams = list(upstreams)
        self.timeout = timeout

    def order(self) -> list[Upstream]:
        """The upstreams in the order to ask them: the healthy ones first."""
        now = time.monotonic()
        order = [u for u in self.upstreams if u.health.down_until <= now]
        order += [u for u in self.upstreams if u.health.down_until > now]
        return order

    def first_udp(self) -> Upstream | None:
        """The upstream ``resolve`` would ask first, if it is a healthy UDP one (whose
        exchange can answer through a callback, ``Forwarder.begin``)."""
        now = time.monotonic()
        for upstream in self.upstreams:
            if upstream.health.down_until <= now:
                return upstream if upstream.scheme == "udp" else None
        return None

    async def resolve(self, packet: bytes, order: Sequence[Upstream] | None = None,
                      errors: list[str] | None = None, over_tcp: Upstream | None = None,
                      question_end: int = 0,
                      servfail: tuple[bytes, AnswerShape, Upstream] | None = None,
                      malformed: bool = False,
                      silent: bool = False) -> tuple[bytes, AnswerShape, Upstream]:
        """The first usable answer to ``packet`` from the upstreams in ``order`` (default:
        ``order()``), or UpstreamError naming what each said (``errors``: what was said
        before) with the last SERVFAIL answer, or the first REFUSED one when none answered
        SERVFAIL (``servfail``: one before), whether any answer could not be used
        (``malformed``: one before) and whether any upstream gave none (``silent``: one
        before). ``over_tcp``: an
        upstream whose UDP answer was truncated, asked over TCP. ``question_end``: where
        ``packet``'s question ends, when the caller knows."""
        if order is None:
            order = self.order()
        if question_end <= HEADER:
            question_end = find_question_end(packet)
        errors = [] if errors is None else errors
        for upstream in order:
            started = time.monotonic()
            try:
                answer, shape = await upstream.query(packet, self.timeout,
                                                     upstream is over_tcp, question_end)
            except (UpstreamError, OSError) as exc:
                errors.append(upstream.failed(exc))
                if isinstance(exc, UpstreamError) and exc.malformed:
                    malformed = True
                else:
                    silent = True
                continue
            failure = upstream.answered(answer, started)
            if not failure:
                return answer, shape, upstream
            # ask the next one (and, if none can answer, let the resolver serve stale data)
            errors.append(failure)
            if servfail is None or answer[3] & 0xF == Rcode.SERVFAIL:
                servfail = (answer, shape, upstream)  # a SERVFAIL says more than a REFUSED
        raise UpstreamError("; ".join(errors), servfail, malformed, silent)

    async def close(self) -> None:
        for upstream in self.upstreams:
            await upstream.close()
