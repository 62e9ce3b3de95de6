"""A fast fake authoritative server for benchmarks: every A query gets 192.0.2.1, AAAA gets
2001:db8::1 (TTL 3600), anything else a NODATA with SOA. Loopback only.

    python bench/dns/fake_upstream.py PORT [--cdn]

``--cdn``: answers shaped like a public resolver's for popular names instead: an A query gets a
chain of two CNAMEs into a CDN and two addresses (TTL 20), and a name whose first label ends
in 0 or 1 (a fifth of bench/dns's miss names) NXDOMAIN with the zone's SOA."""

from __future__ import annotations

import socket
import struct
import sys

A_RDATA = bytes([192, 0, 2, 1])
AAAA_RDATA = bytes.fromhex("20010db8000000000000000000000001")
SOA_RDATA = b"\x00\x00" + struct.pack("!IIIII", 1, 3600, 600, 86400, 300)


def _wire(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def cdn_answer(data: bytes, end: int, qtype: int) -> bytes:
    """A CDN-shaped answer (see the module's docstring) to the query ``data``."""
    head = data[:2] + bytes([0x84 | (data[2] & 1)])
    question = data[12:end]
    label = data[13:13 + data[12]]
    if label[-1:] in (b"0", b"1"):
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 3600, len(SOA_RDATA)) + SOA_RDATA
        return head + b"\x03\x00\x01\x00\x00\x00\x01\x00\x00" + question + rr
    if qtype != 1:
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 3600, len(SOA_RDATA)) + SOA_RDATA
        return head + b"\x00\x00\x01\x00\x00\x00\x01\x00\x00" + question + rr
    edge = _wire(f"{label.decode(errors='replace')}.edge.cdn.example.net")
    host = _wire(f"a{len(label)}.cdn.example.net")
    records = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, len(edge)) + edge
    records += edge + struct.pack("!HHIH", 5, 1, 300, len(host)) + host
    for last in (1, 2):
        records += host + struct.pack("!HHIH", 1, 1, 20, 4) + bytes([192, 0, 2, last])
    return head + b"\x00\x00\x01\x00\x04\x00\x00\x00\x00" + question + records


def main() -> None:
    port = int(sys.argv[1])
    cdn = "--cdn" in sys.argv[2:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    while True:
        data, addr = sock.recvfrom(4096)
        try:
            end = data.index(0, 12) + 5
            qtype = struct.unpack_from("!H", data, end - 4)[0]
        except (ValueError, struct.error):
            continue
        if cdn:
            sock.sendto(cdn_answer(data, end, qtype), addr)
            continue
        head = data[:2] + bytes([0x84 | (data[2] & 1), 0x00]) + b"\x00\x01"
        question = data[12:end]
        if qtype in (1, 28):
            rdata = A_RDATA if qtype == 1 else AAAA_RDATA
            rr = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 3600, len(rdata)) + rdata
            sock.sendto(head + b"\x00\x01\x00\x00\x00\x00" + question + rr, addr)
        else:
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 3600, len(SOA_RDATA)) + SOA_RDATA
            sock.sendto(head + b"\x00\x00\x00\x01\x00\x00" + question + rr, addr)


if __name__ == "__main__":
    main()
