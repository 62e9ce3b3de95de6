"""A real kidshield (DNS listeners + web server) started in-process on loopback, with a fake
upstream DNS server, for end-to-end browser tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import dns.message
import dns.rrset
import uvicorn

from kidshield.config import load_config
from kidshield.dns.service import DnsService
from kidshield.web.server import create_app

UPSTREAM_ANSWER = "93.184.216.34"


class FakeUpstream:
    """Answers every A question with UPSTREAM_ANSWER (and AAAA with nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            q = query.question[0]
            if q.rdtype == 1:
                response.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A",
                                                           UPSTREAM_ANSWER))
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class LiveKidshield:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.service = DnsService(load_config(config_path), config_path, pump_interval=0.1,
                                  state_interval=0.5)
        self._call(self.service.start())
        self.dns_port = next(p for proto, _h, p in self.service.bound if proto == "udp")
        self.app = create_app(self.service)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self._task = asyncio.run_coroutine_threadsafe(self.server._serve(), self.loop)
        self._call(self._started())
        self.web_port: int = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.web_port}"

    async def _started(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.02)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def setup_url(self) -> str:
        url = self.app.state.web.setup_url(self.url)
        assert url is not None
        return str(url)

    def close(self) -> None:
        self.server.should_exit = True
        self._task.result(10)
        self._call(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
