"""PROXY protocol version 2 (HAProxy's specification), as dnsdist sends it with
``useProxyProtocol=true``: a binary header before each UDP datagram, or once at the start of a
TCP connection, that names the client behind the load balancer.

Only headers from ``[dns] proxy_protocol`` sources are believed; a header from anyone else is
treated as the malformed query it is.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HEADER = 16  # signature, version/command, family/protocol, length
_ADDRESSES = {0x1: ("!4s4sHH", 12, ipaddress.IPv4Address),
              0x2: ("!16s16sHH", 36, ipaddress.IPv6Address)}


class ProxyError(ValueError):
    """Not a PROXY v2 header we can use."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    client: str | None  # None: a LOCAL connection (the balancer's own health check)
    client_port: int
    length: int  # bytes of header before the DNS message


def has_header(data: bytes) -> bool:
    return data[:12] == SIGNATURE


def parse(data: bytes) -> ProxyHeader:
    """The header at the start of ``data``; ProxyError when it is absent or malformed."""
    if len(data) < HEADER or data[:12] != SIGNATURE:
        raise ProxyError("no PROXY v2 signature")
    version_command, family_protocol, length = struct.unpack_from("!BBH", data, 12)
    if version_command >> 4 != 2:
        raise ProxyError(f"PROXY protocol version {version_command >> 4}, not 2")
    command = version_command & 0x0F
    total = HEADER + length
    if len(data) < total:
        raise ProxyError("PROXY header longer than the packet")
    if command == 0:  # LOCAL: addresses (if any) are to be ignored
        return ProxyHeader(None, 0, total)
    if command != 1:
        raise ProxyError(f"unknown PROXY command {command}")
    family = family_protocol >> 4
    layout = _ADDRESSES.get(family)
    if layout is None:
        raise ProxyError(f"unsupported PROXY address family {family}")
    fmt, size, kind = layout
    if length < size:
        raise ProxyError("PROXY header too short for its addresses")
    source, _dest, source_port, _dest_port = struct.unpack_from(fmt, data, HEADER)
    return ProxyHeader(str(kind(source)), source_port, total)


def build(client: str, client_port: int, server: str, server_port: int,
          datagram: bool = True) -> bytes:
    """A PROXY v2 header (what dnsdist sends): for tests and tools."""
    ip = ipaddress.ip_address(client)
    dest = ipaddress.ip_address(server)
    family = 0x1 if ip.version == 4 else 0x2
    fmt, size, _kind = _ADDRESSES[family]
    body = struct.pack(fmt, ip.packed, dest.packed, client_port, server_port)
    return (SIGNATURE + bytes((0x21, (family << 4) | (0x2 if datagram else 0x1)))
            + struct.pack("!H", size) + body)
