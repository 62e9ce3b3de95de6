"""DNS over HTTPS on a listener of its own (``[dns] doh_listen``), over HTTP/2 and HTTP/1.1.

The web listener (uvicorn) speaks HTTP/1.1 only, and several DoH clients speak only HTTP/2
(kdig ``+https``, some operating systems' stubs). This listener is served by Hypercorn, the
ASGI server of the Pallets projects, which negotiates h2 or http/1.1 by ALPN with the ``h2``
library that httpx already brings. It carries ``/dns-query`` and ``/healthz`` only, so it can
face the internet for devices away from home (each with its secret, docs/deploying.md) while
the dashboard stays on the home network.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from starlette.applications import Starlette

from kidshield.config import Config, parse_hostport
from kidshield.dns.server import bind_tcp
from kidshield.errors import KidshieldError

log = logging.getLogger("kidshield.web")


class DohServer:
    def __init__(self, app: Starlette, config: Config, listen: str) -> None:
        from hypercorn.config import Config as HyperConfig

        cfg = config.dns
        if not cfg.tls_certificate or not cfg.tls_key:
            raise KidshieldError("dns.doh_listen needs dns.tls_certificate and dns.tls_key")
        self.app = app
        self.host, wanted = parse_hostport(listen, 443)
        self.sock = bind_tcp(self.host, wanted, "[dns] doh_listen")
        self.sock.listen(256)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        hyper = self.hyper = HyperConfig()
        hyper.certfile = str(config.path(cfg.tls_certificate))
        hyper.keyfile = str(config.path(cfg.tls_key))
        hyper.alpn_protocols = ["h2", "http/1.1"]
        web = config.web
        hyper.keep_alive_timeout = web.idle_timeout
        hyper.read_timeout = int(web.header_timeout)
        hyper.h2_max_concurrent_streams = 100
        hyper.h11_max_incomplete_size = 16 * 1024
        hyper.backlog = 256
        hyper.accesslog = None
        hyper.errorlog = log
        hyper.include_server_header = False
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{shown}:{self.port}"

    async def start(self) -> None:
        from hypercorn.asyncio.run import worker_serve
        from hypercorn.config import Sockets
        from hypercorn.utils import wrap_app

        try:
            self.hyper.create_ssl_context()  # a bad certificate says so now, not per connection
        except (OSError, ValueError) as exc:
            self.sock.close()
            raise KidshieldError(f"cannot load the TLS certificate or key: {exc}") from None
        self._task = asyncio.ensure_future(worker_serve(
            # Starlette is an ASGI app; hypercorn's types name its own scope classes
            wrap_app(cast(Any, self.app), self.hyper.wsgi_max_body_size, "asgi"), self.hyper,
            sockets=Sockets([self.sock], [], []), shutdown_trigger=self._stopped.wait))
        await asyncio.sleep(0)
        if self._task.done():
            self._task.result()  # it failed at once: say why

    async def stop(self) -> None:
        if self._task is None:
            self.sock.close()
            return
        self._stopped.set()
        try:
            await asyncio.wait_for(self._task, 5)
        except TimeoutError:
            log.warning("the DNS-over-HTTPS listener took long to stop")
        self._task = None
        self.sock.close()
