"""PROXY protocol version 2 (HAProxy's specification), the binary header a load balancer such
as dnsdist (``useProxyProtocol=true``) puts before each UDP datagram and at the start of each
TCP connection to name the client it speaks for.

Pure parsing, no sockets: ``parse`` reads the header at the start of some bytes and says where
the DNS message begins. Only v2's binary form: the v1 text form is for HTTP-like streams and
dnsdist never sends it. Whether a header is *believed* is the listener's business
(dns/proxied.py): only from ``[dns] proxy_protocol_from``.
"""

from __future__ import annotations

import socket
from typing import Final

SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
FIXED: Final = 16  # signature, version and command, family and protocol, length
# Addresses (36 bytes for IPv6) plus room for TLVs; a balancer's TLVs (dnsdist's
# setProxyProtocolValues, HAProxy's SSL and unique-id ones) fit easily. A longer header is
# refused rather than buffered: a stream may not make us hold an unbounded prefix.
MAX_BODY: Final = 2048
MAX_HEADER: Final = FIXED + MAX_BODY

# why a header was refused (the metrics' labels)
REASONS: Final = ("missing", "truncated", "version", "command", "family", "length")

_LOCAL, _PROXY = 0x20, 0x21  # version 2 in the high nibble, command in the low one
_INET, _INET6, _UNSPEC = 0x1, 0x2, 0x0
_ADDRESS_BYTES: Final = {_INET: 12, _INET6: 36}  # two addresses, two ports


class ProxyHeaderError(ValueError):
    """Not a PROXY v2 header that can be used. ``reason`` is a short word for the metrics:
    missing, truncated, version, command, family, length."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Incomplete(ProxyHeaderError):
    """The bytes so far are the start of a header: on a stream, wait for the rest."""

    def __init__(self, detail: str) -> None:
        super().__init__("truncated", detail)


def parse(data: bytes | bytearray) -> tuple[str | None, int]:
    """The client named by the header at the start of ``data`` and the header's length.

    The client is None for a LOCAL header (the balancer speaking for itself: dnsdist's health
    checks) and for the UNSPEC family, which the specification says to treat the same way. A
    client given as an IPv4-mapped IPv6 address (a balancer listening dual-stack) comes back as
    the IPv4 address, so ``[[clients]]`` ranges written in IPv4 match it.
    """
    size = len(data)
    if size < FIXED:
        if SIGNATURE.startswith(bytes(data[:12])):
            raise Incomplete(f"{size} bytes of a 16-byte PROXY v2 header")
        raise ProxyHeaderError("missing", "no PROXY v2 header")
    if data[:12] != SIGNATURE:
        raise ProxyHeaderError("missing", "no PROXY v2 header")
    command = data[12]
    body = (data[14] << 8) | data[15]
    if command >> 4 != 2:
        raise ProxyHeaderError("version", f"PROXY protocol version {command >> 4}, not 2")
    if command not in (_LOCAL, _PROXY):
        raise ProxyHeaderError("command", f"unknown PROXY v2 command {command & 0xF}")
    if body > MAX_BODY:
        raise ProxyHeaderError("length", f"PROXY v2 header of {FIXED + body} bytes, more "
                               f"than the {MAX_HEADER} accepted")
    end = FIXED + body
    if size < end:
        raise Incomplete(f"PROXY v2 header of {end} bytes, {size} received")
    if command == _LOCAL:  # its address block, whatever the family, is to be ignored
        return None, end
    family = data[13] >> 4
    if family == _UNSPEC:
        _check_tlvs(data, FIXED, end)
        return None, end
    need = _ADDRESS_BYTES.get(family)
    if need is None:  # AF_UNIX, or a family the specification does not define
        raise ProxyHeaderError("family", f"PROXY v2 address family {family} is not IP")
    if body < need:
        raise ProxyHeaderError("length", f"PROXY v2 header has {body} bytes for addresses "
                               f"that need {need}")
    _check_tlvs(data, FIXED + need, end)
    if family == _INET:
        return socket.inet_ntop(socket.AF_INET, bytes(data[16:20])), end
    source = bytes(data[16:32])
    if source[:12] == b"\x00" * 10 + b"\xff\xff":
        return socket.inet_ntop(socket.AF_INET, source[12:]), end
    return socket.inet_ntop(socket.AF_INET6, source), end


def _check_tlvs(data: bytes | bytearray, start: int, end: int) -> None:
    """TLVs are skipped, not read, but must tile the rest of the header exactly: a length
    that runs past the end means the header is not what it claims to be."""
    at = start
    while at < end:
        if end - at < 3:
            raise ProxyHeaderError("length", "PROXY v2 header ends inside a TLV")
        at += 3 + ((data[at + 1] << 8) | data[at + 2])
    if at != end:
        raise ProxyHeaderError("length", "a PROXY v2 TLV runs past the end of the header")
