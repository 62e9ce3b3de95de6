"""Reading back the zone files ``export`` writes, as wire records for transfers.

Only the files kidshield itself writes are read here (``$ORIGIN``, ``$TTL``, the SOA and NS at
the apex, then one ``owner TYPE rdata`` rule per line with A, AAAA or CNAME), so a line parser
is enough and fast enough for millions of records; anything else is an error naming the line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kidshield.errors import KidshieldError
from kidshield.fleet.rpz import TYPE_A, TYPE_AAAA, TYPE_CNAME, ZONE_TTL, _rr, name_wire, soa_record


class ZoneFileError(KidshieldError):
    pass


@dataclass(frozen=True, slots=True)
class ZoneHead:
    origin: str  # without the trailing dot
    serial: int
    ttl: int  # of the rules, and the SOA's minimum

    def soa(self) -> bytes:
        return soa_record(self.origin, self.serial, self.ttl)


def read_head(path: Path) -> ZoneHead:
    origin, ttl = "", 0
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.startswith("$ORIGIN "):
                origin = line.split()[1].rstrip(".")
            elif line.startswith("$TTL "):
                ttl = int(line.split()[1])
            elif " SOA " in line:
                fields = line.split()
                try:
                    return ZoneHead(origin, int(fields[6]), ttl)
                except (IndexError, ValueError):
                    raise ZoneFileError(f"{path}:{number}: unreadable SOA record") from None
            elif not line.startswith(";") and line.strip():
                break
    raise ZoneFileError(f"{path}: no SOA record before the rules")


def records(path: Path, head: ZoneHead) -> Iterator[bytes]:
    """Every record but the SOA, in wire format, NS first."""
    suffix = name_wire(head.origin)
    ttl = head.ttl
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line[0] in ";$":
                continue
            fields = line.split()
            if fields[0] == "@":
                if fields[3] == "NS":
                    yield _rr(suffix, 2, ZONE_TTL, name_wire(fields[4]))
                elif fields[3] == "SOA" and fields[6] != str(head.serial):
                    # a newer export replaced the file: this transfer would mix versions
                    raise ZoneFileError(f"{path}: serial {fields[6]}, not {head.serial}")
                continue
            if len(fields) != 3:
                raise ZoneFileError(f"{path}:{number}: expected 'owner TYPE data'")
            owner_text, rtype, data = fields
            owner = name_wire(owner_text)[:-1] + suffix
            try:
                if rtype == "A":
                    yield _rr(owner, TYPE_A, ttl, ipaddress.IPv4Address(data).packed)
                elif rtype == "AAAA":
                    yield _rr(owner, TYPE_AAAA, ttl, ipaddress.IPv6Address(data).packed)
                elif rtype == "CNAME":
                    yield _rr(owner, TYPE_CNAME, ttl, name_wire(data))
                else:
                    raise ValueError(rtype)
            except ValueError:
                raise ZoneFileError(f"{path}:{number}: unexpected record {line.strip()!r}") \
                    from None
