"""What a DNS engineer found wrong on the wire (issue 14 items 3-7 and the minor items), each
against the served resolver and the fake upstream on loopback, read back with dnspython as a
strict client (``dns.query`` rejects trailing bytes and wrong counts)."""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import httpx
import pytest

from tests.dns.conftest import (
    ADULT,
    KID,
    FakeUpstream,
    ServeFactory,
    addresses,
    make_query,
    recv_exactly,
)

ECS = 8
COOKIE = 10
PADDING = 12


def _udp(port: int, query: dns.message.Message, source: str = KID) -> dns.message.Message:
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=3, source=source)


def _raw(port: int, wire: bytes, source: str = KID) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(1.0)
        sock.sendto(wire, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


# -- item 4: counts in rewritten answers ---------------------------------------------------------
def test_safe_search_with_several_safe_addresses_counts_records_not_rrsets(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.add("safe.duckduckgo.com", "A", "198.51.100.7", "198.51.100.8", "198.51.100.9")
    served = serve()
    for _ in range(2):  # built, then the ready answer
        answer = _udp(served.port, make_query("duckduckgo.com"))  # strict parse
        assert answer.rcode() == dns.rcode.NOERROR
        assert addresses(answer) == ["198.51.100.7", "198.51.100.8", "198.51.100.9"]
        wire = _udp_wire(served.port, make_query("duckduckgo.com"))
        assert struct.unpack_from("!H", wire, 6)[0] == 4  # the CNAME and three addresses


def _udp_wire(port: int, query: dns.message.Message) -> bytes:
    wire = _raw(port, query.to_wire())
    assert wire is not None
    return wire


# -- items 5 and 6: malformed upstream answers ---------------------------------------------------
def _cut_short(response: dns.message.Message, _query: dns.message.Message) -> bytes:
    return response.to_wire()[:-3]  # the last record's data is cut short


def _trailing(response: dns.message.Message, _query: dns.message.Message) -> bytes:
    return response.to_wire() + b"\x00\x05junk"


def _bad_count(response: dns.message.Message, _query: dns.message.Message) -> bytes:
    wire = bytearray(response.to_wire())
    wire[7] += 2  # two more answers than there are
    return bytes(wire)


def _other_opcode(response: dns.message.Message, _query: dns.message.Message) -> bytes:
    wire = bytearray(response.to_wire())
    wire[2] = (wire[2] & 0x87) | (4 << 3)  # NOTIFY: well formed, but no answer to our QUERY
    return bytes(wire)


@pytest.mark.parametrize("mangle", [_cut_short, _trailing, _bad_count, _other_opcode],
                         ids=["cut-short", "trailing-bytes", "wrong-count", "other-opcode"])
def test_every_malformed_upstream_answer_is_servfail_without_a_traceback(
    serve: ServeFactory, upstream: FakeUpstream, mangle: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    served = serve(dns_options={"serve_stale": False})
    upstream.mangle = mangle  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING):
        for name in ("fine.example", "other.example"):
            for source in (KID, ADULT):
                answer = _udp(served.port, make_query(name), source)
                assert answer.rcode() == dns.rcode.SERVFAIL, name
                assert answer.answer == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert served.app.dns.resolver.cache.bytes == 0  # nothing of it was cached


def test_a_cname_to_a_blocked_name_with_trailing_bytes_never_reaches_the_child(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.cname("alias.example", "denied.example")
    upstream.mangle = _trailing
    served = serve(dns_options={"serve_stale": False})
    answer = _udp(served.port, make_query("alias.example"))
    assert answer.rcode() == dns.rcode.SERVFAIL
    assert addresses(answer) == []


def _two_cnames(response: dns.message.Message, query: dns.message.Message) -> bytes:
    """Two CNAME records for the question's name (a name has one at most, RFC 2181 10.1):
    the first into the denied name, with its address; the second to an allowed one."""
    response.answer, response.authority, response.additional = [], [], []
    response.use_edns(False)
    wire = bytearray(response.to_wire())  # header and question, no records yet
    wire[6:8] = b"\x00\x03"

    def name(text: str) -> bytes:
        return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\x00"

    for target in ("denied.example", "fine.example"):
        wire += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, len(name(target))) + name(target)
    wire += name("denied.example") + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([203, 0, 113, 9])
    return bytes(wire)


def test_a_second_cname_for_the_same_name_does_not_hide_a_blocked_first(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # dnspython keeps the last CNAME of a name and drops the others (a CNAME set has one
    # record), so the chain check that read answers with it never saw the first: an allowed
    # name carried the denied name's address to the child. Every alias target is checked.
    upstream.mangle = _two_cnames
    served = serve()
    blocked = served.query("alias.example", source=KID)
    assert addresses(blocked) == ["127.0.0.1"]  # the block page, not 203.0.113.9
    assert blocked.answer[0].rdtype == dns.rdatatype.A  # no CNAME leaks to the child
    assert "203.0.113.9" in addresses(served.query("alias.example", source=ADULT))


# -- item 3: the CD bit ---------------------------------------------------------------------------
def _validating(response: dns.message.Message, query: dns.message.Message) -> bytes:
    """A validating upstream: bogus data only when the client disabled checking."""
    if query.flags & dns.flags.CD:
        response.answer = [dns.rrset.from_text(query.question[0].name, 300, "IN", "A",
                                               "203.0.113.66")]
    else:
        response.answer = []
        response.set_rcode(dns.rcode.SERVFAIL)
    return response.to_wire()


def test_data_fetched_with_cd_is_not_served_to_validating_clients_and_cd_is_echoed(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.mangle = _validating
    served = serve(dns_options={"serve_stale": False})
    unchecked = make_query("bogus.example", edns=True)
    unchecked.flags |= dns.flags.CD
    for _ in range(2):
        answer = _udp(served.port, unchecked, ADULT)
        assert addresses(answer) == ["203.0.113.66"]
        assert answer.flags & dns.flags.CD
    validating = _udp(served.port, make_query("bogus.example", edns=True), ADULT)
    assert validating.rcode() == dns.rcode.SERVFAIL and addresses(validating) == []
    assert not validating.flags & dns.flags.CD
    # our own answers echo CD too (RFC 4035 3.2.2)
    blocked = make_query("denied.example")
    blocked.flags |= dns.flags.CD
    assert _udp(served.port, blocked).flags & dns.flags.CD


# -- item 7: ECS and cookies
def test_client_subnet_and_cookies_are_neither_sent_upstream_nor_returned_to_others(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    def echoing(response: dns.message.Message, query: dns.message.Message) -> bytes:
        # a careless upstream that hands back a subnet and a cookie whatever it was asked
        response.use_edns(0, options=[
            dns.edns.ECSOption("198.51.100.0", 24, 24),
            dns.edns.GenericOption(COOKIE, b"\x01" * 8 + b"\x02" * 16)])
        return response.to_wire()

    upstream.mangle = echoing
    served = serve()
    query = make_query("shared.example", edns=True)
    query.use_edns(0, payload=1232, options=[
        dns.edns.ECSOption("203.0.113.77", 32),
        dns.edns.GenericOption(COOKIE, b"\x0a" * 8)])
    first = _udp(served.port, query, KID)
    second = _udp(served.port, make_query("shared.example", edns=True), ADULT)
    for answer in (first, second):
        assert addresses(answer) == ["192.0.2.1"]
        assert {o.otype for o in answer.options} & {ECS, COOKIE} == set()
    sent = [dns.message.from_wire(w) for w in upstream.wires]
    assert sent and all({o.otype for o in m.options} & {ECS, COOKIE} == set() for m in sent)


# -- coalescing
def test_identical_queries_in_flight_are_sent_upstream_once(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.delay = 0.3
    served = serve()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ADULT, 0))
        sock.settimeout(3)
        for i in range(30):
            q = make_query("popular.example")
            q.id = 500 + i
            sock.sendto(q.to_wire(), ("127.0.0.1", served.port))
        ids = set()
        for _ in range(30):
            msg = dns.message.from_wire(sock.recv(4096))
            assert addresses(msg) == ["192.0.2.1"]
            ids.add(msg.id)
    assert ids == {500 + i for i in range(30)}
    assert upstream.count("popular.example") == 1


# -- DoT padding (RFC 8467)
def test_dns_over_tls_answers_are_padded_to_468_octet_blocks(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    served = serve(dns_options={"dot_listen": ["127.0.0.1:0"], "tls_certificate": str(cert),
                                "tls_key": str(key)})
    ctx = ssl.create_default_context(cafile=str(cert))
    for name in ("fine.example", "denied.example", "www.google.com"):
        query = make_query(name, edns=True)
        query.use_edns(0, payload=1232, options=[dns.edns.GenericOption(PADDING, bytes(40))])
        wire = query.to_wire()
        with socket.create_connection(("127.0.0.1", served.bound("dot")), timeout=3,
                                      source_address=(KID, 0)) as raw, \
                ctx.wrap_socket(raw, server_hostname="dns.test") as tls:
            tls.sendall(struct.pack("!H", len(wire)) + wire)
            size = struct.unpack("!H", recv_exactly(tls, 2))[0]
            answer = recv_exactly(tls, size)
        assert size % 468 == 0, (name, size)
        msg = dns.message.from_wire(answer)
        assert PADDING in {o.otype for o in msg.options}


def test_dns_over_https_answers_are_padded_like_dns_over_tls(
    serve: ServeFactory, tls_files: tuple[Path, Path],
) -> None:
    """The same rule as DoT on both DoH listeners: EDNS answers in 468-octet blocks (with or
    without a Padding option in the query); answers to queries without EDNS stay as they
    are, since a response may not carry an OPT record the query did not."""
    cert, key = tls_files
    served = serve(web=True, dns_options={"doh_listen": ["127.0.0.1:0"],
                                          "tls_certificate": str(cert), "tls_key": str(key)})
    urls = {"web listener": f"{served.url}/dns-query",
            "doh_listen": f"https://127.0.0.1:{served.bound('doh')}/dns-query"}
    ca = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(verify=ca, timeout=5) as http:
        def ask(url: str, query: dns.message.Message) -> httpx.Response:
            got = http.post(url, content=query.to_wire(),
                            headers={"content-type": "application/dns-message"})
            assert got.status_code == 200
            return got

        for where, url in urls.items():
            for name in ("fine.example", "denied.example", "www.google.com"):
                padded = make_query(name, edns=True)
                padded.use_edns(0, payload=1232,
                                options=[dns.edns.GenericOption(PADDING, bytes(40))])
                for query in (make_query(name, edns=True), padded):
                    got = ask(url, query)
                    assert len(got.content) % 468 == 0, (where, name, len(got.content))
                    msg = dns.message.from_wire(got.content)
                    assert PADDING in {o.otype for o in msg.options}
                    assert msg.answer, (where, name)
                    # the TTL the cache may keep comes from the records, not the padding
                    assert got.headers["cache-control"] != "max-age=0", (where, name)
                plain = ask(url, make_query(name)).content
                assert dns.message.from_wire(plain).edns == -1
                assert len(plain) < 468, (where, name)


# -- the minor items
def test_an_opcode_without_a_question_gets_notimp_with_its_opcode_and_no_ra(
    serve: ServeFactory,
) -> None:
    served = serve()
    notify = struct.pack("!6H", 0x4242, dns.opcode.to_flags(dns.opcode.NOTIFY), 0, 0, 0, 0)
    wire = _raw(served.port, notify)
    assert wire is not None
    msg = dns.message.from_wire(wire)
    assert msg.opcode() == dns.opcode.NOTIFY and msg.rcode() == dns.rcode.NOTIMP
    assert not msg.flags & dns.flags.RA
    # an opcode we do not implement, with a question: NOTIMP, RA clear
    status = bytearray(make_query("fine.example").to_wire())
    status[2] |= dns.opcode.to_flags(dns.opcode.STATUS) >> 8
    wire = _raw(served.port, bytes(status))
    assert wire is not None
    flags = struct.unpack_from("!H", wire, 2)[0]
    assert dns.opcode.from_flags(flags) == dns.opcode.STATUS
    assert flags & 0xF == dns.rcode.NOTIMP and not flags & dns.flags.RA


def test_labels_with_a_dot_or_non_ascii_bytes_are_resolved_not_refused(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve()
    for labels in ((b"a.b", b"example"), (b"caf\xc3\xa9", b"example"), (b"x\x00y", b"example")):
        name = dns.name.Name([*labels, b""])
        query = dns.message.make_query(name, "A", use_edns=False)
        answer = _udp(served.port, query, ADULT)
        assert answer.rcode() == dns.rcode.NOERROR, labels
        assert answer.question[0].name == name
    # a dot inside a label does not make a blocked name out of an allowed one, nor the reverse
    tricky = dns.name.Name([b"denied.example", b"org", b""])
    assert _udp(served.port, dns.message.make_query(tricky, "A", use_edns=False)).answer


def test_a_chaos_class_question_never_gets_an_internet_record(serve: ServeFactory) -> None:
    served = serve()
    for name in ("version.bind", "denied.example"):
        query = dns.message.make_query(name, "TXT", "CH", use_edns=False)
        answer = _udp(served.port, query)
        assert answer.rcode() == dns.rcode.REFUSED
        assert answer.answer == []


def test_an_https_record_pointing_at_a_blocked_name_is_blocked(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.add("front.example", "HTTPS", "1 denied.example. alpn=h2")
    upstream.add("fine-front.example", "HTTPS", "1 . alpn=h2")
    served = serve()
    blocked = _udp(served.port, make_query("front.example", "HTTPS"))
    assert not [r for r in blocked.answer if r.rdtype == dns.rdatatype.HTTPS]
    kept = _udp(served.port, make_query("fine-front.example", "HTTPS"))
    assert [r for r in kept.answer if r.rdtype == dns.rdatatype.HTTPS]
    adult = _udp(served.port, make_query("front.example", "HTTPS"), ADULT)
    assert [r for r in adult.answer if r.rdtype == dns.rdatatype.HTTPS]


def test_refused_answers_are_rate_limited_so_they_cannot_be_reflected(
    serve: ServeFactory,
) -> None:
    served = serve(dns_options={"allow_networks": ["127.0.0.1/32", "127.0.0.2/32"],
                                "rate_limit_qps": 50})
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.9", 0))  # outside allow_networks (a spoofed victim's address)
        sock.settimeout(0.5)
        for i in range(60):
            q = make_query(f"n{i}.example")
            sock.sendto(q.to_wire(), ("127.0.0.1", served.port))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                msg = dns.message.from_wire(sock.recv(4096))
            except TimeoutError:
                break
            assert msg.rcode() == dns.rcode.REFUSED
            answered += 1
    assert 1 <= answered <= 15  # a burst of 10 at 5 a second, not one per query
