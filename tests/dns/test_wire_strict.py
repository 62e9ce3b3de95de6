"""``strict.check_answer`` reads upstream answers as strictly as dnspython does (issue 14 items 5
and 6), without building objects: on well-formed answers and on every mutation of them
(cut short, bytes flipped, bytes added, counts changed), whenever it vouches for an answer
dnspython parses it, and whenever it refuses one dnspython does too."""

from __future__ import annotations

import struct

import dns.edns
import dns.exception
import dns.message
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kidshield.dns.strict import check_answer
from kidshield.dns.wire import WireError, min_ttl_offsets

LABEL = st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True)
NAME = st.lists(LABEL, min_size=1, max_size=4).map(lambda labels: ".".join(labels) + ".")
RECORDS = {
    "A": st.just("192.0.2.1"),
    "AAAA": st.just("2001:db8::7"),
    "CNAME": NAME,
    "NS": NAME,
    "MX": NAME.map(lambda n: f"10 {n}"),
    "TXT": st.text("abcxyz ", min_size=0, max_size=30).map(lambda t: f'"{t}"'),
    "SOA": NAME.map(lambda n: f"{n} host.{n} 1 3600 600 86400 60"),
    "HTTPS": NAME.map(lambda n: f"1 {n} alpn=h2"),
}


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    qname = draw(NAME)
    query = dns.message.make_query(qname, "A", use_edns=draw(st.sampled_from([False, 0])))
    response = dns.message.make_response(query)
    for section in (response.answer, response.authority, response.additional):
        for _ in range(draw(st.integers(0, 3))):
            rdtype = draw(st.sampled_from(sorted(RECORDS)))
            owner = draw(st.sampled_from([qname, draw(NAME)]))
            section.append(dns.rrset.from_text(owner, 300, "IN", rdtype,
                                               draw(RECORDS[rdtype])))
    if response.edns >= 0:
        options: list[dns.edns.Option] = []
        if draw(st.booleans()):
            options.append(dns.edns.ECSOption("198.51.100.0", 24))
        for _ in range(draw(st.integers(0, 2))):  # extended errors, with text or without
            options.append(dns.edns.EDEOption(draw(st.sampled_from([0, 6, 9, 22])),
                                              draw(st.sampled_from([None, "why", "né"]))))
        response.use_edns(0, options=draw(st.permutations(options)))
    return response.to_wire()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    wire = bytearray(draw(answers()))
    kind = draw(st.sampled_from(["none", "cut", "flip", "add", "count"]))
    if kind == "cut":
        del wire[draw(st.integers(12, len(wire))):]
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 3))):
            wire[draw(st.integers(2, len(wire) - 1))] = draw(st.integers(0, 255))
    elif kind == "add":
        wire += draw(st.binary(min_size=1, max_size=8))
    elif kind == "count":
        at = draw(st.sampled_from([4, 6, 8, 10]))
        wire[at + 1] = (wire[at + 1] + draw(st.integers(1, 3))) % 256
    return bytes(wire)


def _dnspython_reads(wire: bytes) -> bool:
    try:
        dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError):
        return False
    return True


# found by this test: a client subnet option whose family byte was flipped to 0
ECS_FAMILY_0 = bytes.fromhex(
    "7be38100000100030000000201300c3030303030303030303030300000010001c00c000100010000012c0004"
    "c0000201c00c000100010000012c0004c0000201c00c000500010000012c0009013001300130013000c00c00"
    "0100010000012c0004c000020100002904d000000000000b0008000700001800c63364")


# found by this test: flags flipped to opcode UPDATE, which dnspython reads as an update message
UPDATE_OPCODE = bytes.fromhex("00002800000100000000000001300000010001")


@settings(max_examples=600, deadline=None)
@given(wire=mutated())
@example(wire=ECS_FAMILY_0)
@example(wire=UPDATE_OPCODE)
def test_check_answer_agrees_with_dnspython(wire: bytes) -> None:
    try:
        shape = check_answer(wire)
    except WireError:
        assert not _dnspython_reads(wire), wire.hex()
        return
    if shape.complete:
        assert _dnspython_reads(wire), wire.hex()


@settings(max_examples=100, deadline=None)
@given(wire=answers())
def test_well_formed_answers_pass(wire: bytes) -> None:
    shape = check_answer(wire)
    message = dns.message.from_wire(wire)
    assert (shape.opt_at >= 0) == (message.opt is not None)
    ede = [o.to_wire() for o in message.options if o.otype == dns.edns.OptionType.EDE]
    assert shape.ede == b"".join(struct.pack("!HH", 15, len(body)) + body for body in ede)


def _negative_ttl(message: dns.message.Message) -> int | None:
    """RFC 2308 as the forwarder read it with dnspython before the walk did."""
    for rrset in message.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


TTLS = st.lists(st.one_of(st.integers(0, 2**31 - 1), st.integers(2**31, 2**32 - 1)),
               min_size=12, max_size=12)


ONE_A = bytes.fromhex("c0928100000100000000000101300000010001c00c000100010000012c0004c0000201")


@settings(max_examples=300, deadline=None)
@given(wire=answers(), ttls=TTLS)
@example(wire=ONE_A, ttls=[2**31 - 1] + [0] * 11)  # the largest TTL, alone: not "no records"
def test_the_walk_finds_what_dnspython_finds(wire: bytes, ttls: list[int]) -> None:
    """One walk serves the cache, the ready answers and the answer check: its TTLs are where
    wire.min_ttl_offsets finds them and read as dnspython reads them (one with its top bit
    set as zero, RFC 2181 8), its negative TTL and alias targets are what dnspython reads
    (TTLs varied per record)."""
    varied = bytearray(wire)
    for offset, ttl in zip(check_answer(wire).ttl_offsets, ttls, strict=False):
        varied[offset:offset + 4] = ttl.to_bytes(4, "big")
    wire = bytes(varied)
    shape = check_answer(wire)
    offsets, smallest = min_ttl_offsets(wire)
    assert shape.ttl_offsets == offsets
    raw = [int.from_bytes(wire[o:o + 4], "big") for o in shape.ttl_offsets]
    assert shape.ttls == [0 if ttl >= 2**31 else ttl for ttl in raw]
    assert shape.zeroed == any(ttl >= 2**31 for ttl in raw)
    assert shape.min_ttl == (0 if shape.zeroed else smallest)
    message = dns.message.from_wire(wire)
    soa_sets = [r for r in message.authority if r.rdtype == dns.rdatatype.SOA]
    if len(soa_sets) <= 1:
        assert shape.negative_ttl == _negative_ttl(message)
    else:  # several owners' SOA records (malformed): the smallest TTL among them
        assert shape.negative_ttl is not None
        assert shape.negative_ttl <= (_negative_ttl(message) or 0)
    targets = {rdata.target.to_text(omit_final_dot=True).lower()
               for rrset in message.answer if rrset.rdtype in (5, 64, 65) for rdata in rrset}
    walked = [target or "@" for target in shape.targets]
    # every target dnspython sees; and more only where a name has several CNAME records,
    # of which dnspython keeps the last (all are held to the policy)
    assert targets <= set(walked)
    if set(walked) - targets:
        assert any(rrset.rdtype == 5 for rrset in message.answer), wire.hex()


# Hand-made answers, one defect each, for the refusals the random mutations above reach only
# now and then: each is refused with its own reason, and dnspython refuses it too.
_QUESTION = b"\x01a\x07example\x00" + struct.pack("!HH", 1, 1)
_A = b"\xc0\x00\x02\x01"


def _answer(rtype: int, rdata: bytes, name: bytes = b"\xc0\x0c", options: bytes = b"") -> bytes:
    record = name + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(options)) + options if options else b""
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 1 if options else 0)
    return header + _QUESTION + record + opt


def _option(code: int, body: bytes) -> bytes:
    return struct.pack("!HH", code, len(body)) + body


_MALFORMED = [
    (_answer(1, _A + b"\x00"), "an address record of the wrong length"),
    (_answer(28, _A), "an address record of the wrong length"),
    (_answer(16, b"\x05abc"), "a TXT record of the wrong length"),
    (_answer(6, b"\x00\x00" + bytes(10)), "an SOA record of the wrong length"),
    (_answer(1, _A, name=b"\xc0\x1d"), "a compression pointer that does not point back"),
    (_answer(1, _A, name=b"\x80"), "an unknown label type"),
    (_answer(1, _A, options=_option(10, b"\x01" * 5)), "a cookie option of a wrong length"),
    (_answer(1, _A, options=_option(8, b"\x00\x01")), "a client subnet option cut short"),
    (_answer(1, _A, options=_option(8, b"\x00\x01\x18\x00\xc0\x00\x02\x01")),
     "a client subnet option of a wrong length"),
    (_answer(1, _A, options=_option(8, b"\x00\x01\x17\x00\xc0\x00\x03")),
     "a client subnet option with address bits past its prefix"),
    (_answer(1, _A, options=_option(15, b"\x00")), "an extended error option cut short"),
]


@pytest.mark.parametrize(("wire", "reason"), _MALFORMED, ids=[r for _, r in _MALFORMED])
def test_each_malformed_part_of_an_answer_is_refused_with_its_reason(
    wire: bytes, reason: str
) -> None:
    with pytest.raises(WireError) as info:
        check_answer(wire)
    assert str(info.value) == reason
    assert not _dnspython_reads(wire)
    check_answer(_answer(1, _A))  # the same answer without the defect passes
