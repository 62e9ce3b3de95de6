"""A fast fake authoritative server for benchmarks: every A query gets 192.0.2.1, AAAA gets
2001:db8::1 (TTL 3600), anything else a NODATA with SOA. Loopback only."""

from __future__ import annotations

import socket
import struct
import sys

A_RDATA = bytes([192, 0, 2, 1])
AAAA_RDATA = bytes.fromhex("20010db8000000000000000000000001")
SOA_RDATA = b"\x00\x00" + struct.pack("!IIIII", 1, 3600, 600, 86400, 300)


def main() -> None:
    port = int(sys.argv[1])
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
