"""Hostile input: a flood of mutated packets must not stop the resolver or grow its memory,
and it must never answer a response (two resolvers would bounce FORMERRs forever); a burst of
broken answers from an upstream gets each client a clean answer and the log a clear warning,
and an upstream's TTL with its top bit set reaches clients as zero."""

from __future__ import annotations

import logging
import random
import socket
import struct
import time
from collections.abc import Callable

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from kidshield.dns.wire import HEADER, WireError, min_ttl_offsets, parse_question, ttls_at
from tests.dns.conftest import (
    ADULT,
    KID,
    TEEN,
    FakeUpstream,
    ServeFactory,
    addresses,
    make_query,
)

PACKETS = 100_000


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _mutants(rng: random.Random, count: int) -> list[bytes]:
    seeds = [make_query(name, rdtype, edns=edns).to_wire()
             for name, rdtype, edns in (("fine.example", "A", False),
                                        ("denied.example", "AAAA", True),
                                        ("www.google.com", "HTTPS", True),
                                        ("a.b.c.d.e.example", "TXT", False))]
    header = struct.pack("!6H", 0x1234, 0x0100, 1, 0, 0, 0)
    out: list[bytes] = []
    for i in range(count):
        kind = i % 6
        seed = seeds[i % len(seeds)]
        if kind == 0:  # random bytes
            out.append(rng.randbytes(rng.randrange(0, 80)))
        elif kind == 1:  # truncated valid queries
            out.append(seed[: rng.randrange(0, len(seed))])
        elif kind == 2:  # bit flips of valid queries
            data = bytearray(seed)
            for _ in range(rng.randrange(1, 4)):
                bit = rng.randrange(len(data) * 8)
                data[bit // 8] ^= 1 << (bit % 8)
            out.append(bytes(data))
        elif kind == 3:  # compression pointer loops in the question and in records
            loop = b"\xc0\x0c" if i % 2 else b"\x03abc\xc0\x0c"
            extra = struct.pack("!HHIH", 1, 1, 60, 4) + b"\x00" * 4
            body = loop + b"\x00\x01\x00\x01"
            hdr = header if i % 4 < 2 else struct.pack("!6H", i & 0xFFFF, 0x0100, 1, 1, 0, 0)
            out.append(hdr + body + (b"\xc0\x0c" + extra if hdr is not header else b""))
        elif kind == 4:  # absurd counts and EDNS options that run past the end
            counts = struct.pack("!4H", *(rng.randrange(0, 65536) for _ in range(4)))
            opt = b"\x00\x00\x29\x10\x00\x00\x00\x80\x00\xff\xff\x00\x0f"
            out.append(seed[:4] + counts + seed[12:] + opt[: rng.randrange(1, len(opt) + 1)])
        else:  # random bytes after a plausible header
            out.append(seed[:12] + rng.randbytes(rng.randrange(0, 300)))
    return out


def _flood(port: int, packets: list[bytes], progress: Callable[[], int]) -> None:
    """Send in bursts of 500 without reading answers; between bursts, give the server up to
    30 ms to work through much of the last one (so the kernel does not drop the rest)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # answers: don't care
        sock.bind((KID, 0))
        for start in range(0, len(packets), 500):
            seen = progress()
            for packet in packets[start : start + 500]:
                sock.sendto(packet, ("127.0.0.1", port))
            deadline = time.monotonic() + 0.03
            while progress() < seen + 200 and time.monotonic() < deadline:
                time.sleep(0.002)


def test_a_flood_of_mutated_packets_leaves_the_resolver_answering_with_bounded_memory(
    serve: ServeFactory,
) -> None:
    served = serve()
    rng = random.Random(20261129)
    packets = _mutants(rng, PACKETS)
    resolver = served.app.dns.resolver
    assert resolver is not None

    def progress() -> int:
        return resolver.malformed

    _flood(served.port, packets[:5000], progress)  # warm up: caches, task machinery
    time.sleep(0.3)
    before = _rss_kb()
    _flood(served.port, packets[5000:], progress)
    time.sleep(0.5)
    for _ in range(3):  # normal answers still work, on every path
        assert addresses(served.query("fine.example", source=KID, timeout=3)) == ["192.0.2.1"]
        assert addresses(served.query("denied.example", source=KID, timeout=3)) == ["127.0.0.1"]
        assert addresses(served.query("tcp.example", source=KID, proto="tcp",
                                      timeout=3)) == ["192.0.2.1"]
    assert resolver.malformed > PACKETS // 4  # many reached the parser; the kernel dropped
    # the rest. Every one of them, handed straight to the parsers, fails only with WireError
    # (the listener hides other exceptions, so check here that there are none to hide).
    expected = 0
    for packet in packets:
        try:
            parse_question(packet)
        except WireError:
            expected += 1
    assert expected > PACKETS // 2

    def fast_path_all() -> list[bytes]:
        return [p for p in packets if resolver.answer_fast(p, KID, True) is not None]

    # the fast path answers only what the full parser would accept as a standard query
    # (mutants that kept a ready question intact, e.g. a flipped bit in the ID, are fine)
    answered = served.lt.call(fast_path_all)
    assert answered
    for packet in answered:
        q = parse_question(packet)
        assert (q.flags >> 11) & 0xF == 0, packet
    served.pump()
    grown = _rss_kb() - before
    assert grown < 40_000, f"RSS grew by {grown} kB"


@pytest.mark.parametrize("payload", ["response", "formerr"])
def test_responses_are_never_answered(serve: ServeFactory, payload: str) -> None:
    served = serve()
    query = make_query("fine.example")
    if payload == "response":
        wire = dns.message.make_response(query).to_wire()
    else:  # what another resolver would send back if we answered its garbage
        wire = struct.pack("!6H", query.id, 0x8181, 0, 0, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        sock.settimeout(0.3)
        sock.sendto(wire, ("127.0.0.1", served.port))
        with pytest.raises(TimeoutError):
            sock.recv(512)
        # a query with a garbled question still gets FORMERR
        sock.sendto(struct.pack("!6H", 7, 0x0100, 2, 0, 0, 0) + b"\x00", ("127.0.0.1",
                                                                          served.port))
        answer = dns.message.from_wire(sock.recv(512))
        assert answer.id == 7 and answer.rcode() == dns.rcode.FORMERR


def test_query_types_differing_only_in_letter_case_bytes_do_not_share_answers(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # HTTPS is type 65 (0x0041, an 'A' byte); type 97 is 0x0061 ('a')
    upstream.add("svc.example", "HTTPS", '1 . alpn="h2"')
    served = serve()
    assert served.query("svc.example", "TYPE97", source=KID).answer == []
    for source in (KID, KID, TEEN):
        answer = served.query("svc.example", "HTTPS", source=source)
        assert [r.rdtype for r in answer.answer] == [dns.rdatatype.HTTPS]
    assert served.query("svc.example", "TYPE97", source=KID).answer == []


def test_a_non_standard_opcode_gets_notimp_even_for_a_ready_question(
    serve: ServeFactory,
) -> None:
    served = serve()
    assert addresses(served.query("fine.example", source=KID)) == ["192.0.2.1"]
    query = make_query("fine.example")
    query.set_opcode(dns.opcode.NOTIFY)
    for _ in range(2):
        answer = dns.query.udp(query, "127.0.0.1", port=served.port, timeout=2, source=KID)
        assert answer.rcode() == dns.rcode.NOTIMP
        assert answer.answer == []


# -- malformed answers from the upstream ------------------------------------------------------
def _faulty(rng: random.Random) -> Callable[[dns.message.Message, dns.message.Message], bytes]:
    """An upstream whose every answer is broken in one of a dozen ways: cut short, bytes
    changed or added past the question, counts, lengths and TTLs wrong, far too big, TC set
    over garbage, a compression loop, a broken OPT record. Its ID and the QR bit are kept, and
    it is never shorter than a header: an answer the resolver could not tie to its question
    would only be waited out (two seconds each)."""
    served = [0]

    def mangle(response: dns.message.Message, query: dns.message.Message) -> bytes:
        kind = served[0] % 12
        served[0] += 1
        if kind == 5:  # far too big, and well formed: 300 addresses
            rrset = dns.rrset.from_text_list(
                response.question[0].name, 300, "IN", "A",
                [f"198.51.{i // 250}.{i % 250 + 1}" for i in range(300)])
            response.answer = [rrset]
        wire = bytearray(response.to_wire(max_size=65535))
        qend = HEADER + len(response.question[0].name.to_wire()) + 4
        records = qend + (2 if response.answer else 0)  # the first record's type, if any
        if kind == 0:  # cut short (in the question too)
            del wire[rng.randrange(HEADER, len(wire)):]
        elif kind == 1:  # bytes changed past the question
            for _ in range(rng.randrange(1, 4)):
                if len(wire) > qend:
                    wire[rng.randrange(qend, len(wire))] = rng.randrange(256)
        elif kind == 2:  # bytes after the last record
            wire += rng.randbytes(rng.randrange(1, 20))
        elif kind == 3:  # counts (the question's too)
            at = rng.choice([4, 6, 8, 10])
            wire[at:at + 2] = rng.randrange(65536).to_bytes(2, "big")
        elif kind == 4:  # tens of kilobytes of garbage after the records
            wire += rng.randbytes(rng.randrange(20_000, 60_000))
        elif kind == 6:  # TC set over a broken body: the resolver asks again over TCP
            wire[2] |= 0x02
            wire[qend:] = rng.randbytes(rng.randrange(0, 40))
        elif kind == 7:  # an answer record whose owner name points at itself
            loop = len(wire)
            wire += bytes([0xC0 | loop >> 8, loop & 0xFF]) + struct.pack("!HHIH", 1, 1, 60, 4)
            wire += b"\xc0\x00\x02\x01"
            wire[6:8] = (int.from_bytes(wire[6:8], "big") + 1).to_bytes(2, "big")
        elif kind == 8:  # TTLs with the top bit set (RFC 2181 8: read as zero)
            if response.answer:
                wire[records + 4:records + 8] = rng.randrange(2**31, 2**32).to_bytes(4, "big")
        elif kind == 9:  # a record data length far past the end
            if response.answer:
                wire[records + 8:records + 10] = b"\xff\xff"
        elif kind == 10:  # a header, then noise
            wire[HEADER:] = rng.randbytes(rng.randrange(0, 200))
        elif kind == 11:  # an OPT record of random options, and a random RCODE
            options = rng.randbytes(rng.randrange(0, 30))
            wire += b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00" + struct.pack("!H", len(options))
            wire += options
            wire[10:12] = (int.from_bytes(wire[10:12], "big") + 1).to_bytes(2, "big")
            wire[3] = (wire[3] & 0xF0) | rng.randrange(16)
        return bytes(wire)

    return mangle


def _ask(port: int, wire: bytes, source: str) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3.5)  # one upstream timeout (2 s) at most, and the answer
        sock.sendto(wire, ("127.0.0.1", port))
        return sock.recv(65535)


def test_a_burst_of_malformed_upstream_answers_gets_clean_answers_and_leaves_it_answering(
    serve: ServeFactory, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture,
) -> None:
    served = serve()
    upstream.mangle = _faulty(random.Random(20261206))
    rcodes: dict[str, int] = {}
    with caplog.at_level(logging.WARNING):
        for i in range(240):
            edns = i % 2 == 1
            query = make_query(f"n{i}.burst.example", "A", edns=edns)
            wire = _ask(served.port, query.to_wire(), KID if i % 3 else ADULT)
            # the answer a strict client reads, to its own question, within its size
            answer = dns.message.from_wire(wire)
            assert answer.id == query.id and answer.question == query.question, i
            assert len(wire) <= (1232 if edns else 512), i
            rcode = "TC" if answer.flags & dns.flags.TC else dns.rcode.to_text(answer.rcode())
            rcodes[rcode] = rcodes.get(rcode, 0) + 1
            if answer.rcode() == dns.rcode.SERVFAIL:
                assert answer.answer == [], i
            # a TTL with its top bit set is zero (RFC 2181 8), not passed on as it came
            # (a client reading it as signed would see a negative TTL)
            assert max(ttls_at(wire, min_ttl_offsets(wire)[0]), default=0) < 2**31, i
        upstream.mangle = None
        for proto in ("udp", "tcp"):  # good questions on every path, answered as before
            assert addresses(served.query("fine.example", source=KID, proto=proto)) == [
                "192.0.2.1"]
            assert addresses(served.query("denied.example", source=KID,
                                          proto=proto)) == ["127.0.0.1"]
    # most broken, some harmless (a changed address), the far too big ones truncated
    assert rcodes.get("SERVFAIL", 0) > 100 and rcodes.get("TC", 0) > 5, rcodes
    # each failure logged as a warning that says what was wrong; no error, no traceback
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "malformed answer" in warned


def test_a_ttl_with_its_top_bit_set_reaches_the_client_as_zero(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # RFC 2181 8: read as zero. Passed on as it came, a client reading TTLs as signed saw a
    # negative one and others 68 years; cached as it came, it was kept for cache_max_ttl
    def top_bit(response: dns.message.Message, _query: dns.message.Message) -> bytes:
        wire = bytearray(response.to_wire())
        for at in min_ttl_offsets(bytes(wire))[0]:
            wire[at:at + 4] = (0x80000000 + at).to_bytes(4, "big")
        return bytes(wire)

    upstream.mangle = top_bit
    served = serve()
    for edns in (False, True, False):
        wire = _ask(served.port, make_query("wild.example", "A", edns=edns).to_wire(), KID)
        assert addresses(dns.message.from_wire(wire)) == ["192.0.2.1"]
        assert ttls_at(wire, min_ttl_offsets(wire)[0]) == [0]
    assert upstream.count("wild.example") == 3  # a TTL of zero: not kept
