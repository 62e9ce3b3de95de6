"""RPZ records of a zone: as zone-file text (``export``) and as DNS wire records (AXFR/IXFR).

Each rule is written the way every RPZ engine reads it (draft-vixie-dnsop-dns-rpz):

    name   A <block page v4> / AAAA <v6>      blocked: the block page answers
    name   CNAME .                            NXDOMAIN
    name   CNAME rpz-passthru.                resolve normally, no later zone
    name   CNAME forcesafesearch.google.com.  rewrite to a safe host
    *.name ...                                the same for every name below

Records are built from strings and bytes directly rather than through dnspython objects: a
category zone of a million names is four million records, and this keeps an export within
seconds. Tests read the results back with dnspython and with the engines themselves.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from datetime import datetime

from kidshield.fleet.zones import Act, FleetPolicy, Zone

MAX_NAME = 253
SOA_TIMERS = (3600, 600, 86400)  # refresh, retry, expire
NS_HOST = "localhost."
TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_SOA, TYPE_AAAA = 1, 2, 5, 6, 28
ZONE_TTL = 3600  # SOA and NS


def _lines_for(name: str, act: Act, subtree: bool, target: str | None,
               block: tuple[str, ...]) -> str:
    owner_rdata: tuple[str, ...]
    if act is Act.REWRITE:
        owner_rdata = (f"CNAME {target}.",)
    elif act is Act.PASSTHRU:
        owner_rdata = ("CNAME rpz-passthru.",)
    elif act is Act.NODATA:
        owner_rdata = ("CNAME *.",)
    elif act is Act.NXDOMAIN or not block:
        owner_rdata = ("CNAME .",)
    else:
        owner_rdata = block
    owners = (name, f"*.{name}") if subtree else (name,)
    return "".join(f"{owner} {rdata}\n" for owner in owners for rdata in owner_rdata)


def _block_rdata(policy: FleetPolicy) -> tuple[str, ...]:
    b = policy.block
    if b.nxdomain:
        return ()
    return tuple(x for x in (f"A {b.ipv4}" if b.ipv4 else None,
                             f"AAAA {b.ipv6}" if b.ipv6 else None) if x)


def fits(name: str, origin: str) -> bool:
    """A trigger is ``*.name.origin``: it must stay within DNS's 253 characters."""
    return len(name) + len(origin) + 3 <= MAX_NAME


def zone_body(zone: Zone, policy: FleetPolicy) -> Iterator[str]:
    """The zone's rules as zone-file lines relative to its origin (without SOA and NS)."""
    block = () if policy.compact(zone) else _block_rdata(policy)
    origin = zone.origin(policy.suffix)
    if zone.everything:
        # every name: the zones before this one (helplines, allow list, bypass) still apply
        yield _lines_for("*", zone.act, False, None, block)
        return
    for rule in zone.rules:
        if fits(rule.name, origin):
            yield _lines_for(rule.name, rule.act, rule.subtree, rule.target, block)
    if zone.act is Act.BLOCK and block:
        rdatas: tuple[str, ...] = block
    else:
        rdatas = ("CNAME rpz-passthru." if zone.act is Act.PASSTHRU else "CNAME .",)
    names = zone.names
    excepted = {r.name for r in zone.rules}
    limit = MAX_NAME - len(origin) - 3
    if excepted or (names and max(map(len, names)) > limit):
        names = [n for n in names if n not in excepted and len(n) <= limit]
    if not names:
        return
    # One block of lines per record kind, joined in C: a million names take a fraction of a
    # second. Record order inside a zone carries no meaning.
    for start in range(0, len(names), 200_000):
        part = names[start : start + 200_000]
        for prefix in ("", "*."):
            for rdata in rdatas:
                sep = f" {rdata}\n{prefix}"
                yield prefix + sep.join(part) + f" {rdata}\n"


def zone_header(zone: Zone, policy: FleetPolicy, serial: int) -> str:
    origin = zone.origin(policy.suffix)
    applies = ", ".join(zone.profiles) if zone.profiles else "every client"
    until = _when(policy.valid_until) or "the configuration or the lists change"
    return (
        f"; kidshield response policy zone {origin}: {zone.note}\n"
        f"; applies to: {applies}\n"
        f"; policy at {_when(policy.at)}, valid until {until}\n"
        f"$ORIGIN {origin}.\n"
        f"$TTL {policy.ttl}\n"
        f"@ {ZONE_TTL} IN SOA {NS_HOST} hostmaster.{origin}. {serial} "
        f"{' '.join(map(str, SOA_TIMERS))} {policy.ttl}\n"
        f"@ {ZONE_TTL} IN NS {NS_HOST}\n"
    )


def fingerprint(zone: Zone, policy: FleetPolicy, body: Iterable[str] | None = None) -> str:
    """A digest of the rules (not the serial or the dates): a zone whose digest is unchanged
    keeps its serial, so engines transfer only what changed. ``body``: the zone's lines, if
    already rendered."""
    digest = hashlib.sha256(zone.origin(policy.suffix).encode())
    digest.update(f"{zone.profiles}|{policy.ttl}".encode())
    for text in body if body is not None else zone_body(zone, policy):
        digest.update(text.encode())
    return digest.hexdigest()


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


# -- wire format ------------------------------------------------------------------------------
def name_wire(name: str) -> bytes:
    """An absolute name in DNS wire format (no compression)."""
    if name in ("", "."):
        return b"\x00"
    out = bytearray()
    for label in name.rstrip(".").encode("ascii").split(b"."):
        out.append(len(label))
        out += label
    out.append(0)
    return bytes(out)


def _rr(owner: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa_record(origin: str, serial: int, ttl: int) -> bytes:
    rdata = (name_wire(NS_HOST) + name_wire(f"hostmaster.{origin}")
             + struct.pack("!IIIII", serial, *SOA_TIMERS, ttl))
    return _rr(name_wire(origin), TYPE_SOA, ZONE_TTL, rdata)
