"""The fast path answers repeats from ready answers built on raw bytes. These tests check it
answers exactly what the slow path would: the question as the client wrote it, EDNS as the
client asked, and never one question's answer for another."""

from __future__ import annotations

import random
import socket
from datetime import timedelta

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from kidshield.clock import FixedClock
from kidshield.dns.wire import parse_question, question_key
from tests.dns.conftest import ADULT, KID, NOON, FakeUpstream, ServeFactory, make_query


def _ask(served_port: int, q: dns.message.Message, source: str = ADULT) -> dns.message.Message:
    return dns.query.udp(q, "127.0.0.1", port=served_port, timeout=2, source=source)


def test_repeats_with_capitals_are_answered_from_the_fast_path_echoing_the_question(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve()
    served.query("mixed.example")
    for spelling in ("MiXeD.ExAmPlE", "MIXED.EXAMPLE", "mixed.example"):
        r = _ask(served.port, make_query(spelling))
        assert r.question[0].name.to_text() == spelling + "."  # 0x20 echoed
        assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.1"]
        assert r.flags & dns.flags.RD
    assert upstream.count("mixed.example") == 1  # the repeats never left the server


def test_a_query_without_recursion_desired_gets_rd_clear_from_a_ready_answer(
    serve: ServeFactory,
) -> None:
    served = serve()
    served.query("rd.example")
    q = make_query("rd.example")
    q.flags &= ~dns.flags.RD
    r = _ask(served.port, q)
    assert not r.flags & dns.flags.RD
    assert r.id == q.id and r.answer


def test_https_and_type_97_never_share_a_ready_answer(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # type 65 is 0x0041 ("A") and type 97 0x0061 ("a"): a key that lower-cased the type
    # would hand one's answer to the other
    upstream.add("svc.example", "HTTPS", '1 . alpn="h2"')
    served = serve()
    for _ in range(2):
        r97 = _ask(served.port, make_query("svc.example", "TYPE97"))
        assert not r97.answer
        r65 = _ask(served.port, make_query("svc.example", "HTTPS"))
        assert r65.answer and r65.answer[0].rdtype == dns.rdatatype.HTTPS
    assert upstream.count("svc.example", "HTTPS") == 1
    assert upstream.count("svc.example", "TYPE97") == 1


def test_plain_edns_and_dnssec_ok_queries_each_get_the_answer_they_asked_for(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve()
    for _ in range(2):  # the second round comes from the fast path
        plain = _ask(served.port, make_query("edns.example"))
        assert plain.edns < 0  # no OPT record for a query without one
        edns = _ask(served.port, make_query("edns.example", edns=True))
        assert edns.edns == 0
        do = dns.message.make_query("edns.example", "A", use_edns=0, want_dnssec=True)
        assert _ask(served.port, do).edns == 0
    # three different questions to the upstream (DO asks for signatures), each asked once
    assert upstream.count("edns.example") == 3


def test_a_ready_answer_is_per_profile(serve: ServeFactory) -> None:
    served = serve()
    assert served.query("denied.example", source=ADULT).answer[0][0].to_text() == "192.0.2.1"
    for _ in range(2):
        kid = served.query("denied.example", source=KID)
        # the kid's block, not the adult's answer
        assert "192.0.2.1" not in [rr.to_text() for rrset in kid.answer for rr in rrset]
    assert served.query("denied.example", source=ADULT).answer[0][0].to_text() == "192.0.2.1"


def test_the_inline_key_of_the_fast_path_matches_the_parsers_key(serve: ServeFactory) -> None:
    """Every question the slow path stores, asked again in any spelling and with any EDNS
    flags, is found by the fast path; and a question it did not store is never found."""
    served = serve()
    resolver = served.app.dns.resolver
    assert resolver is not None
    rnd = random.Random(7)
    for i in range(40):
        name = f"k{i}.Ex-{rnd.randrange(1000)}.example"
        rdtype = rnd.choice(["A", "AAAA", "HTTPS", "TXT", "MX"])
        edns = rnd.random() < 0.5
        q = dns.message.make_query(name.lower(), rdtype, use_edns=0 if edns else None,
                                   want_dnssec=edns and rnd.random() < 0.5)
        _ask(served.port, q)
        again = dns.message.make_query(
            "".join(c.upper() if rnd.random() < 0.5 else c for c in name), rdtype,
            use_edns=0 if edns else None, want_dnssec=bool(q.ednsflags & dns.flags.DO))
        wire = again.to_wire()
        assert question_key(wire, parse_question(wire).end,
                            (1 if edns else 0) | (2 if q.ednsflags & dns.flags.DO else 0)) \
            == parse_question(q.to_wire()).key
        fast = served.lt.call(resolver.answer_fast, wire, ADULT, True)
        assert fast is not None, (name, rdtype, edns)
        assert dns.message.from_wire(fast).question == again.question
        other = dns.message.make_query(name + "x", rdtype).to_wire()
        assert served.lt.call(resolver.answer_fast, other, ADULT, True) is None


def test_ready_answers_count_their_ttls_down_in_every_record(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.cname("www.aging.example", "edge.aging.example")
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    first = _ask(served.port, make_query("www.aging.example"))
    assert [rrset.ttl for rrset in first.answer] == [300, 300]  # CNAME and A
    clock.advance(timedelta(seconds=2.2))
    later = _ask(served.port, make_query("www.aging.example"))
    assert later.answer == first.answer  # same records (rrset equality ignores the TTL)
    assert [rrset.ttl for rrset in later.answer] == [298, 298], later.to_text()
    assert upstream.count("www.aging.example") == 1  # still the ready answer


def test_a_clock_step_drops_every_ready_answer(serve: ServeFactory) -> None:
    clock = FixedClock(NOON)
    served = serve(clock=clock)
    resolver = served.app.dns.resolver
    assert resolver is not None
    served.query("step.example")
    served.pump()
    assert served.lt.call(resolver.ready_count) >= 1
    clock.advance(timedelta(seconds=0.5))  # time going by is no step
    served.lt.call(served.app.dns.pump)
    assert served.lt.call(resolver.ready_count) >= 1
    clock.set(NOON + timedelta(hours=2))  # a step: e.g. NTP setting the clock after boot
    served.lt.call(served.app.dns.pump)
    assert served.lt.call(resolver.ready_count) == 0


def test_an_edns_version_we_do_not_speak_gets_badvers_even_for_a_ready_answer(
    serve: ServeFactory,
) -> None:
    served = serve()
    for _ in range(2):  # the second time a version-0 answer is ready for the name
        assert _ask(served.port, make_query("vers.example", edns=True)).rcode() == 0
        q = dns.message.make_query("vers.example", "A", use_edns=1)
        r = _ask(served.port, q)
        assert r.rcode() == dns.rcode.BADVERS  # RFC 6891 6.1.3
        assert r.edns == 0 and not r.answer  # answered with our version, nothing else


def _raw(port: int, wire: bytes, source: str) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(2)
        sock.sendto(wire, ("127.0.0.1", port))
        return sock.recv(4096)


# every kind of answer that becomes a ready answer: (name, type, asked by)
READY_KINDS = [
    ("fine.example", "A", ADULT),  # from the upstream
    ("fine.example", "TXT", KID),  # NODATA with SOA (negative caching)
    ("gone.example", "A", KID),  # NXDOMAIN
    ("denied.example", "A", KID),  # blocked: the block page
    ("denied.example", "HTTPS", KID),  # blocked: NODATA
    ("alias.example", "A", KID),  # blocked by the CNAME chain
    ("www.google.com", "A", KID),  # safe search: CNAME plus the safe host's address
    ("use-application-dns.net", "A", KID),  # the canary
    ("_dns.resolver.arpa", "SVCB", KID),  # DDR
    ("kidshield.home.arpa", "A", KID),  # the child page
]


@pytest.mark.parametrize("edns", ["plain", "edns", "do"])
def test_every_kind_of_ready_answer_is_byte_for_byte_what_the_slow_path_sent(
    serve: ServeFactory, upstream: FakeUpstream, edns: str,
) -> None:
    upstream.nxdomain.add("gone.example")
    upstream.cname("alias.example", "denied.example")
    served = serve()
    resolver = served.app.dns.resolver
    assert resolver is not None
    for name, rdtype, source in READY_KINDS:
        q = dns.message.make_query(name, rdtype, use_edns=None if edns == "plain" else 0,
                                   want_dnssec=edns == "do")
        wire = q.to_wire()
        slow = _raw(served.port, wire, source)
        fast = served.lt.call(resolver.answer_fast, wire, source, True)
        assert fast == slow, (name, rdtype, dns.message.from_wire(slow).to_text())
        assert _raw(served.port, wire, source) == slow  # and through the listener
