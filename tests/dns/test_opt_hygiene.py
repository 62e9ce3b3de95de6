"""EDNS is hop-by-hop (RFC 6891 6.1.1): the OPT record of an upstream's answer (its payload
size, extended RCODE, version, flags and options) belongs to that hop. A client gets our own
OPT record, as for our own answers, or none when its query had no EDNS: on the first answer
(the miss, over UDP and TCP) and on the ones from the cache (issue 17/14)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

import dns.flags
import dns.message
import dns.rcode
import pytest

from kidshield.dns.answers import OUR_UDP_SIZE
from tests.dns.conftest import (
    EDE,
    KID,
    FakeUpstream,
    LoopThread,
    ServeFactory,
    addresses,
    ede_option,
    make_query,
    recv_exactly,
    with_opt_options,
)

NSID, COOKIE, ECS, PADDING = 3, 10, 8, 12


def _odd_opt(extended_rcode: int = 0) -> bytes:
    """An upstream's OPT record with everything a hop may put there: a payload size of 8192,
    the DO bit and a Z bit, and its own options (a name server id, a cookie, a client subnet,
    padding); with the upper bits of an extended RCODE when given."""
    options = (struct.pack("!HH", NSID, 4) + b"ns-7"
               + struct.pack("!HH", COOKIE, 24) + b"\x01" * 8 + b"\x02" * 16
               + struct.pack("!HHHBB", ECS, 7, 1, 24, 24) + b"\xc6\x33\x64"
               + struct.pack("!HH", PADDING, 5) + bytes(5))
    return b"\x00" + struct.pack("!HHBBHH", 41, 8192, extended_rcode, 0, 0x8001,
                                 len(options)) + options


# an additional record after the OPT record (RFC 6891 does not make OPT the last one): an
# address for the question's name (a pointer to it), TTL 60
GLUE = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes((198, 51, 100, 9))


def _with_odd_opt(
    extended_rcode: int = 0, then_glue: bool = False,
) -> Callable[[dns.message.Message, dns.message.Message], bytes]:
    def mangle(response: dns.message.Message, _query: dns.message.Message) -> bytes:
        response.use_edns(False)  # whatever it was asked: this hop's OPT record
        wire = bytearray(response.to_wire())
        added = 2 if then_glue else 1
        wire[10:12] = (int.from_bytes(wire[10:12], "big") + added).to_bytes(2, "big")
        return bytes(wire) + _odd_opt(extended_rcode) + (GLUE if then_glue else b"")

    return mangle


def _ask(port: int, query: dns.message.Message, proto: str) -> bytes:
    wire = query.to_wire()
    if proto == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((KID, 0))
            sock.settimeout(3.5)
            sock.sendto(wire, ("127.0.0.1", port))
            return sock.recv(65535)
    with socket.create_connection(("127.0.0.1", port), timeout=3.5,
                                  source_address=(KID, 0)) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        size = struct.unpack("!H", recv_exactly(sock, 2))[0]
        return recv_exactly(sock, size)


def _opt_records(wire: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """(payload size, extended RCODE bits, version, flags, options) of every OPT record in
    the additional section, read from the bytes (dnspython folds them into the message)."""
    message = dns.message.from_wire(wire)
    if message.edns < 0:
        return []
    return [(message.payload, (message.ednsflags >> 24) & 0xFF, message.edns,
             message.ednsflags & 0xFFFF, b"".join(o.to_wire() for o in message.options))]


def _queries() -> list[tuple[str, dns.message.Message]]:
    do = make_query("odd-opt.example", edns=True)
    do.want_dnssec(True)
    return [("plain", make_query("odd-opt.example")),
            ("edns", make_query("odd-opt.example", edns=True)),
            ("do", do)]


@pytest.mark.parametrize(("proto", "then_glue"), [("udp", False), ("tcp", False),
                                                  ("udp", True)])
def test_the_upstreams_opt_record_is_replaced_by_ours_on_the_miss_and_from_the_cache(
    serve: ServeFactory, upstream: FakeUpstream, proto: str, then_glue: bool,
) -> None:
    upstream.mangle = _with_odd_opt(then_glue=then_glue)
    served = serve()
    for kind, query in _queries():
        for turn in ("miss", "cached"):
            wire = _ask(served.port, query, proto)
            assert wire[:2] == query.to_wire()[:2]
            answer = dns.message.from_wire(wire)
            assert addresses(answer) == ["192.0.2.1"], (kind, turn)
            assert answer.rcode() == dns.rcode.NOERROR, (kind, turn)
            expected = []
            if kind != "plain":  # ours: our payload size, version 0, the client's DO bit
                expected = [(OUR_UDP_SIZE, 0, 0, 0x8000 if kind == "do" else 0, b"")]
            assert _opt_records(wire) == expected, (kind, turn)
            glue = [f"{rrset.name} {rd}" for rrset in answer.additional for rd in rrset]
            assert glue == (["odd-opt.example. 198.51.100.9"] if then_glue else [])
            assert struct.unpack_from("!H", wire, 10)[0] == len(expected) + len(glue)
    # each kind of query (no EDNS, EDNS, EDNS with DO) asked once: the others were cached
    assert upstream.count("odd-opt.example") == 3


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_an_upstreams_extended_rcode_never_reaches_the_client(
    serve: ServeFactory, upstream: FakeUpstream, proto: str,
) -> None:
    # we ask with EDNS version 0 and no cookie: no extended RCODE (BADVERS, BADCOOKIE) can
    # answer that; the answer is not trusted (nor cached) as the NOERROR of its header
    upstream.mangle = _with_odd_opt(extended_rcode=0x0C)
    served = serve()
    for kind, query in _queries():
        for _ in range(2):
            wire = _ask(served.port, query, proto)
            answer = dns.message.from_wire(wire)
            assert answer.rcode() == dns.rcode.SERVFAIL, kind
            assert answer.answer == [], kind
            expected = []
            if kind != "plain":  # no usable answer: ours, saying so (EDE 23, Network Error)
                expected = [(OUR_UDP_SIZE, 0, 0, 0x8000 if kind == "do" else 0,
                             ede_option(23, "kidshield: no upstream answered")[4:])]
            assert _opt_records(wire) == expected, kind
    assert upstream.count("odd-opt.example") == 6  # not cached
    # the resolver answers good questions as before
    upstream.mangle = None
    fine = dns.message.from_wire(_ask(served.port, make_query("fine.example"), proto))
    assert addresses(fine) == ["192.0.2.1"] and fine.flags & dns.flags.QR


def _edes(wire: bytes) -> list[tuple[int, str]]:
    return [(o.code, o.text or "") for o in dns.message.from_wire(wire).options
            if o.otype == EDE]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_an_upstreams_extended_errors_reach_edns_clients_and_no_other_option(
    serve: ServeFactory, upstream: FakeUpstream, proto: str,
) -> None:
    # RFC 8914 errors describe the answer, not the hop: an EDNS client gets them in our OPT
    # record (on the miss and from the cache), never the upstream's name server id, cookie
    # or padding; a client without EDNS gets no OPT record at all
    upstream.mangle = with_opt_options(
        struct.pack("!HH", NSID, 4) + b"ns-7" + ede_option(0, "filtered upstream")
        + struct.pack("!HH", COOKIE, 8) + b"\x01" * 8 + ede_option(18, "")
        + struct.pack("!HH", PADDING, 3) + bytes(3))
    served = serve()
    for kind, query in _queries():
        for turn in ("miss", "cached"):
            wire = _ask(served.port, query, proto)
            answer = dns.message.from_wire(wire)
            assert addresses(answer) == ["192.0.2.1"], (kind, turn)
            if kind == "plain":
                assert _opt_records(wire) == [], turn
                continue
            assert _edes(wire) == [(0, "filtered upstream"), (18, "")], (kind, turn)
            assert [o.otype for o in answer.options] == [EDE, EDE], (kind, turn)
            assert answer.payload == OUR_UDP_SIZE
    assert upstream.count("odd-opt.example") == 3


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_an_upstreams_servfail_tells_edns_clients_why(
    serve: ServeFactory, upstream: FakeUpstream, proto: str,
) -> None:
    # a validating upstream's SERVFAIL for a DNSSEC failure says so (EDE 6, DNSSEC Bogus):
    # when no upstream answers better, the client gets that SERVFAIL with its reason
    upstream.mangle = with_opt_options(
        ede_option(6, "signature expired") + struct.pack("!HH", NSID, 4) + b"ns-7",
        dns.rcode.SERVFAIL)
    served = serve()
    for kind, query in _queries():
        wire = _ask(served.port, query, proto)
        answer = dns.message.from_wire(wire)
        assert answer.rcode() == dns.rcode.SERVFAIL, kind
        assert answer.id == query.id and answer.question == query.question
        if kind == "plain":
            assert _opt_records(wire) == []
        else:
            assert _edes(wire) == [(6, "signature expired")], kind
            assert [o.otype for o in answer.options] == [EDE]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_when_every_upstream_refuses_edns_clients_get_a_servfail_that_says_so(
    serve: ServeFactory, upstream: FakeUpstream, loop_thread: LoopThread, proto: str,
) -> None:
    # a REFUSED from us would say that we refuse the client: it is our SERVFAIL, with EDE 22
    # (No Reachable Authority: "or they potentially refused to reply", RFC 8914 4.23) and
    # then the extended errors the refusing upstream gave (18, Prohibited), nothing else
    upstream.mangle = with_opt_options(
        ede_option(18, "not for you") + struct.pack("!HH", NSID, 4) + b"ns-7", dns.rcode.REFUSED)
    second = FakeUpstream(rcode=dns.rcode.REFUSED)  # refuses without saying why
    loop_thread.run(second.start())
    try:
        served = serve(upstreams=[upstream.url, second.url])
        for _turn in range(2):  # never kept: asked again
            for kind, query in _queries():
                wire = _ask(served.port, query, proto)
                answer = dns.message.from_wire(wire)
                assert answer.rcode() == dns.rcode.SERVFAIL, kind
                assert answer.id == query.id and answer.question == query.question
                assert not answer.answer and answer.flags & dns.flags.RA
                if kind == "plain":
                    assert _opt_records(wire) == []
                else:
                    assert _edes(wire) == [(22, "kidshield: every upstream refused"),
                                           (18, "not for you")], kind
                    assert answer.payload == OUR_UDP_SIZE
        assert upstream.count("odd-opt.example") == second.count("odd-opt.example") == 6
        # the second one alone: our reason, no other
        served = serve(upstreams=[second.url])
        wire = _ask(served.port, make_query("odd-opt.example", edns=True), proto)
        assert dns.message.from_wire(wire).rcode() == dns.rcode.SERVFAIL
        assert _edes(wire) == [(22, "kidshield: every upstream refused")]
    finally:
        loop_thread.run(second.stop())


def test_a_reply_cut_short_for_the_clients_udp_size_keeps_the_extended_errors(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # RFC 6891 7: a truncated reply keeps its OPT record; the extended errors in it (here an
    # upstream's 17, Filtered) say why the answer is what it is, also when TC sends the
    # client to TCP; on the miss and from the cache
    many = [f"192.0.2.{i}" for i in range(1, 41)]  # 40 addresses: about 700 bytes
    upstream.add("big.example", "A", *many)
    upstream.mangle = with_opt_options(ede_option(17, "filtered upstream"))
    served = serve()
    for turn in ("miss", "cached"):
        query = dns.message.make_query("big.example", "A", use_edns=0, payload=512)
        wire = _ask(served.port, query, "udp")
        answer = dns.message.from_wire(wire)
        assert answer.flags & dns.flags.TC and not answer.answer, turn
        assert answer.id == query.id and answer.question == query.question
        assert _edes(wire) == [(17, "filtered upstream")], turn
        assert answer.payload == OUR_UDP_SIZE and len(wire) <= 512
        plain = _ask(served.port, make_query("big.example"), "udp")  # no EDNS: no OPT
        assert dns.message.from_wire(plain).flags & dns.flags.TC and not _opt_records(plain)
        full = dns.message.from_wire(_ask(served.port, query, "tcp"))
        assert addresses(full) == sorted(many) and _edes(full.to_wire()) == [
            (17, "filtered upstream")]
    assert upstream.count("big.example") == 2  # once with EDNS, once without
