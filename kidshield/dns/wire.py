"""Raw DNS packet helpers for the fast path: no message objects, just bytes.

A cache key is the question as sent (name lower-cased), plus a byte for EDNS and the DO bit
when the query has EDNS; a ready answer is reused by patching in the query's ID and original
question bytes (so a client's 0x20 case randomisation is echoed back).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

HEADER = 12
QTYPE_A = 1
QTYPE_NS = 2
QTYPE_CNAME = 5
QTYPE_SOA = 6
QTYPE_PTR = 12
QTYPE_AAAA = 28
QTYPE_OPT = 41
QTYPE_SVCB = 64
QTYPE_HTTPS = 65
QTYPE_ANY = 255
# EDNS options (RFC 6891 6.1.2) the resolver reads or writes
OPTION_ECS = 8  # client subnet, RFC 7871
OPTION_COOKIE = 10  # RFC 7873
OPTION_EDE = 15  # extended DNS error, RFC 8914
MAX_UDP_NO_EDNS = 512

TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              33: "SRV", 64: "SVCB", 65: "HTTPS", 255: "ANY"}


class WireError(ValueError):
    """The bytes are not a DNS query we can answer."""


class Question(NamedTuple):
    """What the fast path needs from a query, parsed without building message objects. (A
    named tuple: immutable as a frozen dataclass, which cost about 1 µs more to build on
    every query that takes the slow path.)"""

    qid: int
    flags: int
    name: str  # lower-case presentation form without the trailing dot ("" for the root)
    qtype: int
    qclass: int
    end: int  # offset just past the question
    key: bytes  # cache key: lower-cased question + EDNS/DO flag byte
    edns: bool
    do: bool
    udp_size: int  # largest UDP answer the client accepts
    edns_version: int = 0


def parse_question(data: bytes) -> Question:
    """Parse header and question of a query; raise WireError on anything malformed."""
    if len(data) < HEADER + 5:
        raise WireError("packet shorter than a DNS header and question")
    qid, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", data)
    if flags & 0x8000:
        raise WireError("a response, not a query")
    if qdcount != 1:
        raise WireError(f"{qdcount} questions (exactly one expected)")
    pos = HEADER
    size = len(data)
    labels: list[bytes] = []
    while True:
        if pos >= size:
            raise WireError("question name runs past the end of the packet")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0:
            raise WireError("compression pointer in the question name")
        if pos + 1 + length > size:
            raise WireError("question name runs past the end of the packet")
        if pos + length > HEADER + 253:  # this label's length byte and bytes counted
            raise WireError("question name longer than 255 bytes")
        labels.append(data[pos + 1 : pos + 1 + length])
        pos += 1 + length
    if pos + 4 > size:
        raise WireError("question type and class missing")
    # Most names are letters, digits and hyphens: one check, one decode and one lower()
    # for the whole name (a dot counted beyond the joins is one inside a label: escaped)
    joined = b".".join(labels)
    if _PLAIN_NAME.issuperset(joined) and joined.count(46) == len(labels) - 1:
        name = joined.decode("ascii").lower()
    else:
        name = ".".join([_label_text(label) for label in labels])
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    end = pos + 4
    edns = False
    do = False
    udp_size = MAX_UDP_NO_EDNS
    version = 0
    # The OPT record is normally the only additional record, right after the question.
    if (arcount and not ancount and not nscount and len(data) >= end + 11
            and data[end] == 0 and data[end + 1 : end + 3] == b"\x00\x29"):
        edns = True
        udp_size = max(MAX_UDP_NO_EDNS, struct.unpack_from("!H", data, end + 3)[0])
        do = bool(data[end + 7] & 0x80)
        version = data[end + 6]
    cd = bool(flags & FLAG_CD)
    key = question_key(data, end, (1 if edns else 0) | (2 if do else 0) | (4 if cd else 0))
    return Question(qid, flags, name, qtype, qclass, end, key, edns, do, udp_size, version)


FLAG_CD = 0x0010  # checking disabled (RFC 4035 3.2.2): in the cache key, echoed in answers
_PLAIN_LABEL = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*")
_PLAIN_NAME = _PLAIN_LABEL | {46}  # with the dots between labels


def _label_text(label: bytes) -> str:
    """A label in presentation form, lower-cased. Any byte is allowed in a label (RFC 2181
    11): a dot or backslash is escaped and other bytes outside printable ASCII are written
    \\DDD, as dnspython and BIND write them, so such a name never equals a plain one that a
    list names (and the upstream answers it as it would for anyone)."""
    if _PLAIN_LABEL.issuperset(label):
        return label.decode("ascii").lower()
    out = []
    for byte in label.lower():
        if byte in (0x2E, 0x5C):  # "." and "\\"
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


# After the question, a cache key ends in a byte for EDNS, its DO bit and the CD bit, or
# nothing (a plain query's key is the question as sent, which keeps the fast path's key one
# slice). Names are prefix-free on the wire, so the keys cannot collide. Data an upstream gave
# only because CD was set (bogus DNSSEC) is kept apart from what validating clients get.
KEY_PLAIN, KEY_EDNS, KEY_DO = b"", b"\x01", b"\x03"
_FLAGS = (KEY_PLAIN, KEY_EDNS, b"\x02", KEY_DO, b"\x04", b"\x05", b"\x06", b"\x07")


def question_key(data: bytes, end: int, flag: int) -> bytes:
    """The cache key of the question ending at ``end``. Only the name is case-folded:
    lower() on the type bytes would make HTTPS (65, 0x0041) and type 97 share an entry.
    (``Resolver.answer_fast`` builds the same key inline; tests/dns/test_fast_path.py checks
    that they agree.)"""
    return data[HEADER : end - 4].lower() + data[end - 4 : end] + _FLAGS[flag]


def patch(response: bytes, query: bytes, qend: int) -> bytes:
    """A cached response re-addressed to ``query``: its ID, RD and CD bits (RFC 4035 3.2.2,
    whether or not the upstream echoed CD) and question bytes."""
    flags = (response[2] & 0xFE) | (query[2] & 0x01)
    flags2 = (response[3] & 0xEF) | (query[3] & 0x10)
    return (query[:2] + bytes((flags, flags2)) + response[4:HEADER] + query[HEADER:qend]
            + response[qend:])


def split_answer(response: bytes, qend: int) -> tuple[bytes, bytes]:
    """A ready answer kept as the parts a query does not supply: header bytes 2..12 (RD
    set, as nearly every query asks) and everything after the question."""
    return bytes((response[2] | 0x01,)) + response[3:HEADER], response[qend:]


def join_answer(query: bytes, head: bytes, tail: bytes, qend: int) -> bytes:
    """The answer to ``query`` from the parts kept by ``split_answer``: the query's ID and
    question bytes (a client's 0x20 case randomisation is echoed back), its RD bit."""
    if query[2] == 0x01:
        return query[:2] + head + query[HEADER:qend] + tail
    flags = (head[0] & 0xFE) | (query[2] & 0x01)
    return query[:2] + bytes((flags,)) + head[1:] + query[HEADER:qend] + tail


def truncate(response: bytes, qend: int, opt: bytes = b"") -> bytes:
    """Header and question only, with TC set: the client retries over TCP. ``opt`` is our
    OPT record for a query that had EDNS (RFC 6891: an EDNS query gets one in every answer;
    ``opt_of`` the answer's own, to keep the extended errors that say why)."""
    header = bytearray(response[:HEADER])
    header[2] |= 0x02
    header[6:12] = b"\x00\x00\x00\x00\x00\x01" if opt else b"\x00\x00\x00\x00\x00\x00"
    return bytes(header) + response[HEADER:qend] + opt


def name_to_wire(name: str) -> bytes:
    out = bytearray()
    for label in name.split(".") if name else []:
        raw = label.encode("ascii")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def min_ttl_offsets(response: bytes) -> tuple[list[int], int]:
    """Offsets of every TTL field in the answer, authority and additional sections (except
    OPT), and the smallest TTL: for answers of our own (an upstream's answer comes with them
    from ``strict.check_answer``). WireError when the records run past the end."""
    try:
        return _min_ttl_offsets(response)
    except struct.error:
        raise WireError("a record is cut short") from None


def _min_ttl_offsets(response: bytes) -> tuple[list[int], int]:
    _qid, _flags, qd, an, ns, ar = struct.unpack_from("!6H", response)
    pos = HEADER
    for _ in range(qd):
        pos = skip_name(response, pos) + 4
    offsets: list[int] = []
    smallest = 0x7FFFFFFF
    for _ in range(an + ns + ar):
        pos = skip_name(response, pos)
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", response, pos)
        if rtype != QTYPE_OPT:
            offsets.append(pos + 4)
            smallest = min(smallest, ttl)
        pos += 10 + rdlen
    if pos > len(response):
        raise WireError("record data runs past the end of the packet")
    return offsets, (smallest if offsets else 0)  # one TTL may be 0x7FFFFFFF itself


def set_ttls(response: bytes, offsets: list[int], ttl_of: list[int], age: int) -> bytes:
    out = bytearray(response)
    for off, ttl in zip(offsets, ttl_of, strict=True):
        struct.pack_into("!I", out, off, max(0, ttl - age))
    return bytes(out)


def ttls_at(response: bytes, offsets: list[int]) -> list[int]:
    return [struct.unpack_from("!I", response, off)[0] for off in offsets]


def name_at(data: bytes, pos: int) -> str:
    """The name at ``pos`` as ``Question.name`` writes one (lower case, no trailing dot, ""
    for the root), following compression pointers: for names in an answer that
    ``strict.check_answer`` read (a pointer loop or a name past the end is WireError)."""
    labels: list[str] = []
    hops = 0
    while True:
        if pos >= len(data):
            raise WireError("a name runs past its end")
        length = data[pos]
        if length == 0:
            return ".".join(labels)
        if length >= 192:
            hops += 1
            if hops > 16:
                raise WireError("too many compression pointers")
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length & 0xC0 or pos + 1 + length > len(data):
            raise WireError("a name runs past its end")
        labels.append(_label_text(data[pos + 1 : pos + 1 + length]))
        pos += 1 + length


def skip_name(data: bytes, pos: int) -> int:
    """The offset just past the name at ``pos`` (WireError when it runs past the end)."""
    while True:
        if pos >= len(data):
            raise WireError("name runs past the end of the packet")
        length = data[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        if length & 0xC0:
            raise WireError("unknown label type")
        pos += 1 + length


PAD_BLOCK = 468  # RFC 8467: responses padded to a multiple of 468 octets
_OPTION_PADDING = 12  # RFC 7830


def pad(response: bytes, block: int = PAD_BLOCK) -> bytes:
    """The response with an EDNS Padding option making its length a multiple of ``block``
    (DNS over TLS: the size of an encrypted answer then says little about the name). Only a
    response whose last record is its OPT record is padded (ours always are); others, and
    answers without EDNS, are returned as they are."""
    start = _last_opt(response)
    if start < 0:
        return response
    fill = -(len(response) + 4) % block
    if len(response) + 4 + fill > 0xFFFF:
        return response
    rdlen_at = start + 9
    rdlen = struct.unpack_from("!H", response, rdlen_at)[0] + 4 + fill
    return (response[:rdlen_at] + struct.pack("!H", rdlen) + response[rdlen_at + 2:]
            + struct.pack("!HH", _OPTION_PADDING, fill) + bytes(fill))


def opt_of(response: bytes) -> bytes:
    """The response's OPT record (with its options: the extended errors that say why), when
    it is the last record (ours always are), else b"". Read only when an answer is cut
    short, not per answer."""
    start = _last_opt(response)
    return response[start:] if start >= 0 else b""


def _last_opt(response: bytes) -> int:
    """Where the response's last record begins, if it is an OPT record that ends the
    packet; else -1."""
    try:
        _qid, _flags, qd, an, ns, ar = struct.unpack_from("!6H", response)
        if not ar:
            return -1
        pos = HEADER
        for _ in range(qd):
            pos = skip_name(response, pos) + 4
        start = 0
        for _ in range(an + ns + ar):
            start = pos
            pos = skip_name(response, pos)
            rdlen = struct.unpack_from("!H", response, pos + 8)[0]
            pos += 10 + rdlen
    except (struct.error, WireError):
        return -1
    if pos != len(response) or response[start] != 0 or response[start + 1:start + 3] != b"\x00\x29":
        return -1
    return start
