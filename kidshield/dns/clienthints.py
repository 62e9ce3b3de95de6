"""Who is really asking, when a router forwards the question: EDNS options a forwarder adds.

A home router that forwards DNS makes every device look like the router. dnsmasq (OpenWrt's
resolver) can add the device's MAC address (``add-mac``: EDNS option 65001, as six bytes, or
as text or base64) and its subnet (``add-subnet``: EDNS Client Subnet, RFC 7871, option 8).
These are read here from the raw query; whether to believe them is the caller's decision
(only from ``[dns] trusted_forwarders``): anyone can put any MAC into a packet.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import struct
from dataclasses import dataclass

from kidshield.dns.wire import OPTION_ECS, QTYPE_OPT, Question

OPTION_MAC = 65001  # dnsmasq's add-mac (also used by Pi-hole and others)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientHints:
    mac: str | None = None  # "aa:bb:cc:dd:ee:ff"
    subnet: IPNetwork | None = None  # the client's address (/32, /128) or its subnet

    def __bool__(self) -> bool:
        return self.mac is not None or self.subnet is not None


NO_HINTS = ClientHints()


def client_hints(data: bytes, q: Question) -> ClientHints:
    """The MAC and subnet options of the query's OPT record (right after the question, where
    ``parse_question`` found it); nothing for a malformed or absent option."""
    if not q.edns:
        return NO_HINTS
    pos = q.end
    if len(data) < pos + 11 or data[pos] != 0:
        return NO_HINTS
    rtype, _size, _ttl, rdlen = struct.unpack_from("!HHIH", data, pos + 1)
    if rtype != QTYPE_OPT:
        return NO_HINTS
    pos += 11
    end = min(len(data), pos + rdlen)
    mac: str | None = None
    subnet: IPNetwork | None = None
    while pos + 4 <= end:
        code, length = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if len(value) != length:
            break
        if code == OPTION_MAC and mac is None:
            mac = _mac(value)
        elif code == OPTION_ECS and subnet is None:
            subnet = _ecs(value)
    return ClientHints(mac, subnet)


def _mac(value: bytes) -> str | None:
    raw: bytes | None = None
    if len(value) == 6:
        raw = value
    elif len(value) == 17:  # add-mac=text
        try:
            raw = bytes.fromhex(value.decode("ascii").replace(":", "").replace("-", ""))
        except (UnicodeDecodeError, ValueError):
            return None
    elif len(value) == 8:  # add-mac=base64
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    if raw is None or len(raw) != 6:
        return None
    return ":".join(f"{b:02x}" for b in raw)


def _ecs(value: bytes) -> IPNetwork | None:
    if len(value) < 4:
        return None
    family, source, _scope = struct.unpack_from("!HBB", value)
    address = value[4:]
    width = {1: 4, 2: 16}.get(family)
    if width is None or source > width * 8 or len(address) != (source + 7) // 8:
        return None
    try:
        packed = address + bytes(width - len(address))
        ip = (ipaddress.IPv4Address(packed) if width == 4 else ipaddress.IPv6Address(packed))
        return ipaddress.ip_network(f"{ip}/{source}", strict=False)
    except ValueError:
        return None
