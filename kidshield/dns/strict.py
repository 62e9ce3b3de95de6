"""Reading an upstream's answer as strictly as dnspython does, on the raw bytes.

Every answer from an upstream is read before it is cached, checked or passed on (issue 14):
a record cut short, bytes after the last record or a wrong count make the attempt fail. This
walker does it in microseconds for the common record types; dnspython (hundreds of
microseconds) reads the rest (kidshield.dns.upstream.strict_answer).

The same walk notes what the rest of a cache miss needs from the answer, so nothing reads it
again: where its TTLs are (the answer cache and the ready answers age them in place), how long
a negative answer may be kept (RFC 2308), and the names its aliases lead to (the answer check
holds them to the policy).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from kidshield.dns.wire import (
    HEADER,
    OPTION_COOKIE,
    OPTION_ECS,
    OPTION_EDE,
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_CNAME,
    QTYPE_HTTPS,
    QTYPE_OPT,
    QTYPE_SOA,
    QTYPE_SVCB,
    WireError,
    name_at,
)

_MAX_POINTER_HOPS = 16  # as dnspython
_MAX_TTL = 0x7FFFFFFF  # RFC 2181 8: a TTL with the top bit set is read as zero
_NAME_RDATA = frozenset({2, 5, 12, 39})  # NS, CNAME, PTR, DNAME: one name, nothing else
QTYPE_MX, QTYPE_TXT = 15, 16
# options dnspython reads as names or text we do not check here: a full parser looks
_OPTIONS_LEFT_TO_PARSER = frozenset({18, 22, 23, 24, 25})


CLASS_IN = 1


class AnswerShape(NamedTuple):
    """What ``check_answer`` learnt in its one walk. (A named tuple: built on every cache
    miss, and cheaper to build than a frozen dataclass.)"""

    complete: bool  # it vouched for every record (else a full parser must look)
    ttl_offsets: list[int]  # of every TTL field but the OPT record's (shared: never change it)
    ttls: list[int]  # the TTLs there
    min_ttl: int  # the smallest of them (0 with none)
    negative_ttl: int | None  # RFC 2308: min(TTL, MINIMUM) of the authority's SOA, if any
    targets: list[str]  # the names the answer section's CNAME, and IN HTTPS/SVCB records'
    # TargetNames, lead to, as wire.name_at reads them: read here, so whatever holds them to
    # the policy later has nothing left to read (or fail to)
    zeroed: bool = False  # a TTL had its top bit set: read as zero (RFC 2181 8), ``ttls``
    # say so but the bytes do not (upstream.strict_answer writes them again)
    opt_at: int = -1  # where the OPT record begins (-1: none) and ends: EDNS is one hop's
    opt_end: int = -1  # (RFC 6891 6.1.1), upstream.strict_answer puts ours in its place
    extended_rcode: int = 0  # the upper bits of the RCODE in the OPT record
    ede: bytes = b""  # its extended DNS error options (RFC 8914) as they are on the wire
    # (these four describe the answer as it came from the upstream)


def check_answer(data: bytes) -> AnswerShape:
    """Read a response as strictly as dnspython does, without building objects: the counts,
    every name (labels, compression pointers that point back, 255 bytes at most), every
    record's length, nothing after the last record, one OPT record at most (where it is and
    its extended RCODE are noted). A TTL with its top bit set is read as zero (RFC 2181 8:
    ``zeroed``). The data of the common types (A, AAAA, CNAME, NS, PTR, DNAME, MX, SOA, TXT,
    OPT) is checked here; any other type is left to a full parser (``complete`` is False).
    WireError when malformed."""
    try:
        return _check_answer(data)
    except (struct.error, IndexError):
        raise WireError("a record is cut short") from None


def _check_answer(data: bytes) -> AnswerShape:
    _qid, flags, qd, an, ns, ar = struct.unpack_from("!6H", data)
    pos = HEADER
    for _ in range(qd):
        pos = _strict_name(data, pos) + 4
    # dnspython reads any other opcode by its own rules (UPDATE's zone and prerequisite
    # sections): leave those to it, so this check never vouches for what it would refuse
    complete, opts = (flags >> 11) & 0xF == 0, 0
    offsets: list[int] = []
    ttls: list[int] = []
    targets: list[str] = []
    negative: int | None = None
    zeroed = False
    opt_at = opt_end = -1
    extended_rcode = 0
    ede = b""
    unpack = struct.unpack_from
    for index in range(an + ns + ar):
        owner = pos
        pos = _strict_name(data, pos)
        rtype, rclass, ttl, rdlen = unpack("!HHIH", data, pos)
        start, end = pos + 10, pos + 10 + rdlen
        if end > len(data):
            raise WireError("record data runs past the end of the packet")
        if rtype == QTYPE_OPT:
            opts += 1
            if index < an + ns or opts > 1 or data[owner] != 0:
                raise WireError("a misplaced or second OPT record")
            known, ede = _check_options(data, start, end)
            complete = complete and known
            opt_at, opt_end, extended_rcode = owner, end, ttl >> 24
            pos = end
            continue
        if ttl > _MAX_TTL:  # as dnspython reads it; a client might read it as negative
            ttl, zeroed = 0, True
        offsets.append(pos + 4)
        ttls.append(ttl)
        if not _check_rdata(data, rtype, start, end):
            complete = False
        if index < an:
            if rtype == QTYPE_CNAME:
                targets.append(name_at(data, start))
            elif rtype in (QTYPE_HTTPS, QTYPE_SVCB) and rclass == CLASS_IN:
                if rdlen < 3:  # SvcPriority, then the name (left to dnspython if not complete)
                    raise WireError("an HTTPS or SVCB record cut short")
                targets.append(name_at(data, start + 2))
        elif rtype == QTYPE_SOA and index < an + ns:
            # as dnspython reads it: the first SOA's MINIMUM, its record set's smallest TTL
            if negative is None:
                negative = min(ttl, unpack("!I", data, end - 4)[0])
            else:
                negative = min(negative, ttl)
        pos = end
    if pos != len(data):
        raise WireError("bytes after the last record")
    return AnswerShape(complete, offsets, ttls, min(ttls) if ttls else 0,
                       negative, targets, zeroed, opt_at, opt_end, extended_rcode, ede)


def _check_rdata(data: bytes, rtype: int, start: int, end: int) -> bool:
    """True when the record data of a type we know is well formed; False for a type left to
    a full parser; WireError when malformed."""
    size = end - start
    if rtype in (QTYPE_A, QTYPE_AAAA):
        if size != (4 if rtype == QTYPE_A else 16):
            raise WireError("an address record of the wrong length")
        return True
    if rtype in _NAME_RDATA:
        names = [start]
    elif rtype == QTYPE_MX:
        names = [start + 2]
    elif rtype == QTYPE_SOA:
        after = _strict_name(data, start, end)
        if _strict_name(data, after, end) + 20 != end:
            raise WireError("an SOA record of the wrong length")
        return True
    elif rtype == QTYPE_TXT:
        pos = start
        while pos < end:
            pos += 1 + data[pos]
        if pos != end or size == 0:
            raise WireError("a TXT record of the wrong length")
        return True
    else:
        return False
    if _strict_name(data, names[0], end) != end:
        raise WireError("record data longer than its name")
    return True


def _check_options(data: bytes, start: int, end: int) -> tuple[bool, bytes]:
    """Whether every option was checked (else a full parser must look), and the extended
    DNS error options, as they are. The options dnspython gives a structure are held to it:
    an upstream's malformed client subnet, cookie or extended error fails the answer as
    dnspython would fail it."""
    pos, known, ede = start, True, b""
    while pos < end:
        code, size = struct.unpack_from("!HH", data, pos)
        body = pos + 4
        pos = body + size
        if pos > end:
            break
        if code == OPTION_ECS:
            _check_ecs(data[body:pos])
        elif code == OPTION_COOKIE and not (size == 8 or 16 <= size <= 40):
            raise WireError("a cookie option of a wrong length")
        elif code == OPTION_EDE:
            _check_ede(data[body:pos])
            ede += data[body - 4 : pos]
        elif code in _OPTIONS_LEFT_TO_PARSER:
            known = False
    if pos != end:
        raise WireError("an EDNS option runs past its record")
    return known, ede


def _check_ecs(body: bytes) -> None:
    """RFC 7871 section 6, as dnspython reads it: a known family, prefixes within its width,
    exactly the address bytes the source prefix needs, padding bits zero."""
    if len(body) < 4:
        raise WireError("a client subnet option cut short")
    family, source, scope = struct.unpack_from("!HBB", body)
    bits = {1: 32, 2: 128}.get(family)
    if bits is None or source > bits or scope > bits:
        raise WireError("a client subnet option with a wrong family or prefix")
    if len(body) != 4 + (source + 7) // 8:
        raise WireError("a client subnet option of a wrong length")
    rest = source % 8
    if rest and body[-1] & (0xFF >> rest):
        raise WireError("a client subnet option with address bits past its prefix")


def _check_ede(body: bytes) -> None:
    if len(body) < 2:
        raise WireError("an extended error option cut short")
    text = body[2:]
    if text[-1:] == b"\x00":
        text = text[:-1]
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("an extended error option whose text is not UTF-8") from None


def _strict_name(data: bytes, pos: int, limit: int | None = None) -> int:
    """The offset just past the name at ``pos`` (its first pointer ends it), checked as
    dnspython reads it; ``limit``: the name must end by there (record data)."""
    bound = len(data) if limit is None else limit  # reading stays below this
    segment = biggest = pos
    after = -1
    total, hops = 1, 0
    while True:
        if pos >= bound:
            raise WireError("a name runs past its end")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length < 64:
            total += length + 1
            if total > 255:
                raise WireError("a name longer than 255 bytes")
            if pos + 1 + length > bound:
                raise WireError("a name runs past its end")
            pos += 1 + length
        elif length >= 192:
            if pos + 2 > bound:
                raise WireError("a name runs past its end")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if after < 0:
                after = pos + 2
            if target >= biggest:
                raise WireError("a compression pointer that does not point back")
            hops += 1
            if hops > _MAX_POINTER_HOPS:
                raise WireError("too many compression pointers")
            biggest = target
            bound = segment  # what a pointer leads to must not overlap the name so far
            pos = segment = target
        else:
            raise WireError("an unknown label type")
    return pos if after < 0 else after
