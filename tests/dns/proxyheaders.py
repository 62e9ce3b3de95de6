"""PROXY protocol v2 headers as dnsdist writes them, built from the specification's layout
(independently of kidshield.dns.proxyv2, which the tests check)."""

from __future__ import annotations

import socket
import struct

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
DGRAM, STREAM = 0x2, 0x1


def header(client: str, server: str = "127.0.0.1", client_port: int = 40_000,
           server_port: int = 53, protocol: int = DGRAM, tlvs: bytes = b"",
           command: int = 0x21) -> bytes:
    family = socket.AF_INET6 if ":" in client else socket.AF_INET
    if family == socket.AF_INET6 and ":" not in server:
        server = "::1"
    body = (socket.inet_pton(family, client) + socket.inet_pton(family, server)
            + struct.pack("!HH", client_port, server_port) + tlvs)
    fam = 0x20 if family == socket.AF_INET6 else 0x10
    return SIGNATURE + bytes((command, fam | protocol)) + struct.pack("!H", len(body)) + body


def local() -> bytes:
    """What dnsdist puts before its own health checks."""
    return SIGNATURE + bytes((0x20, 0x00)) + b"\x00\x00"


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value
