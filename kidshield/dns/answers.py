"""Answers we make ourselves (blocks, special names, safe-search CNAMEs), built as bytes."""

from __future__ import annotations

import ipaddress
import struct

from dns.rcode import Rcode

from kidshield.dns.wire import (
    HEADER,
    OPTION_EDE,
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_CNAME,
    Question,
    name_to_wire,
)

# Rcode(n) costs about 0.5 µs on Python 3.11; answers from upstreams are named by table
_RCODES = tuple(Rcode(n) for n in range(16))


def rcode_of(response: bytes) -> Rcode:
    """The RCODE in a response's header (the OPT record's upper bits are not read)."""
    return _RCODES[response[3] & 0xF]


OUR_UDP_SIZE = 1232  # the DNS flag day 2020 recommendation
EDE_OTHER = 0  # RFC 8914 extended DNS error codes
EDE_BLOCKED = 15
EDE_FILTERED = 17
EDE_PROHIBITED = 18
EDE_NO_REACHABLE_AUTHORITY = 22  # "or they potentially refused to reply" (RFC 8914 4.23)
EDE_NETWORK_ERROR = 23  # "while communicating with another server" (RFC 8914 4.24)


def opt_record(do: bool, ede: tuple[int, str] | None = None, extended_rcode: int = 0,
               options: bytes = b"") -> bytes:
    """Our OPT record (version 0, DO bit echoed), with an RFC 8914 extended error when given,
    then ``options`` (already on the wire: an upstream's extended errors), and the upper bits
    of an extended RCODE."""
    rdata = b""
    if ede is not None:
        code, text = ede
        payload = struct.pack("!H", code) + text.encode("utf-8")[:200]
        rdata = struct.pack("!HH", OPTION_EDE, len(payload)) + payload
    rdata += options
    flags = 0x8000 if do else 0
    return b"\x00" + struct.pack("!HHBBHH", 41, OUR_UDP_SIZE, extended_rcode, 0, flags,
                                  len(rdata)) + rdata


# A rate limiter's "slip" (TC set: ask again over TCP). RFC 8914 and the IANA registry have no
# code for rate limiting, and 15-18 would say the name is blocked or the client refused: 0,
# "Other Error", with the reason in its text, as Unbound's TC reply to a UDP query without the
# cookie it requires says "DNS Cookie needed for UDP replies" (docs/deploying.md).
RATE_LIMITED_EDE = (EDE_OTHER, "kidshield: rate limited; ask again over TCP")
_SLIP_OPTS: tuple[bytes, bytes] = (opt_record(False, RATE_LIMITED_EDE),
                                   opt_record(True, RATE_LIMITED_EDE))


def slip_opt(do: bool) -> bytes:
    """The OPT record of a rate limiter's truncated answer to an EDNS query (DO echoed)."""
    return _SLIP_OPTS[1 if do else 0]


def opt_for(q: Question) -> bytes:
    """Our OPT record for an answer to ``q``, or nothing when the query had no EDNS."""
    return opt_record(q.do) if q.edns else b""


def build(
    query: bytes,
    q: Question,
    rcode: Rcode,
    answers: list[bytes] | None = None,
    *,
    authoritative: bool = False,
    ede: tuple[int, str] | None = None,
    answer_count: int | None = None,
    options: bytes = b"",
) -> bytes:
    """A complete response to ``query``: our records in the answer section, OPT when the
    query had EDNS (with an RFC 8914 extended error explaining blocks). An extended RCODE
    (BADVERS) puts its upper bits in the OPT record (RFC 6891). ``answer_count``: the number of
    records when an item of ``answers`` holds more than one (a whole RRset). ``options``: EDNS
    options on the wire to add after the extended error."""
    answers = answers or []
    # QR; opcode, RD and CD copied (RFC 4035 3.2.2); RA, except when we do not implement it
    flags = 0x8000 | (q.flags & 0x7910) | (rcode & 0xF)
    if rcode != Rcode.NOTIMP:
        flags |= 0x0080
    if authoritative:
        flags |= 0x0400
    count = len(answers) if answer_count is None else answer_count
    header = struct.pack("!6H", q.qid, flags, 1, count, 0, 1 if q.edns else 0)
    body = query[HEADER : q.end] + b"".join(answers)
    if q.edns:
        body += opt_record(q.do, ede, rcode >> 4, options)
    return header + body


def rr_at_question(rtype: int, ttl: int, rdata: bytes) -> bytes:
    """A record owned by the question name (compression pointer to offset 12)."""
    return b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def address_rdata(qtype: int, address: str) -> bytes | None:
    ip = ipaddress.ip_address(address)
    if qtype == QTYPE_A and ip.version == 4:
        return ip.packed
    if qtype == QTYPE_AAAA and ip.version == 6:
        return ip.packed
    return None


def cname(target: str, ttl: int) -> bytes:
    return rr_at_question(QTYPE_CNAME, ttl, name_to_wire(target))


def formerr(query: bytes) -> bytes | None:
    """FORMERR echoing what we can of the header, or None when even that is unreadable or
    the packet is itself a response: answering responses lets two servers bounce errors at
    each other forever (and makes us a reflector for spoofed ones)."""
    if len(query) < HEADER or query[2] & 0x80:
        return None
    qid = struct.unpack_from("!H", query)[0]
    opcode_rd = query[2] & 0x79
    if opcode_rd & 0x78:  # an opcode we do not implement (NOTIFY, UPDATE, ...): say so
        return struct.pack("!HBBHHHH", qid, 0x80 | opcode_rd, Rcode.NOTIMP, 0, 0, 0, 0)
    return struct.pack("!HBBHHHH", qid, 0x80 | opcode_rd, 0x80 | Rcode.FORMERR, 0, 0, 0, 0)
