"""The floor for a Python DNS server: uvloop answering the benchmark's names from a dict of
ready answers (ID and question patched in), nothing else. `bench/dns` measures it beside
kidshield to show how much of kidshield's cost is Python and the kernel, and how much is
kidshield's own work.

    python bench/dns/dict_server.py PORT NAMES_FILE
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.rrset
import uvloop


def ready_answers(names_file: Path) -> dict[bytes, bytes]:
    ready = {}
    names = [line.split()[0] for line in names_file.read_text().splitlines()]
    for name in [*names, "warm.example"]:  # the benchmark's readiness probe asks for that
        query = dns.message.make_query(name, "A")
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(name + ".", 3600, "IN", "A", "192.0.2.1"))
        qend = 12 + len(dns.name.from_text(name).to_wire()) + 4
        ready[response.to_wire()[12:qend]] = response.to_wire()
    return ready


class DictServer(asyncio.DatagramProtocol):
    def __init__(self, ready: dict[bytes, bytes]) -> None:
        self.ready = ready
        self.send: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.send = transport.sendto  # type: ignore[attr-defined]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        qend = data.find(0, 12) + 5
        answer = self.ready.get(data[12:qend])
        if answer is not None:
            self.send(data[:2] + answer[2:12] + data[12:qend] + answer[qend:], addr)


async def main(port: int, names_file: Path) -> None:
    ready = ready_answers(names_file)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    await loop.create_datagram_endpoint(lambda: DictServer(ready), sock=sock)
    await asyncio.Future()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), Path(sys.argv[2])))
