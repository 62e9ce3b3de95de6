"""The block page over HTTPS (``[web] block_https_listen``, with ``[web] local_ca``): a TLS
listener on port 443 of the block-page address. Each connection gets a certificate for the
name the browser asked for, made by the local CA (``web/localca.py``); a request for a
blocked site's name gets the block page, with its "ask" form; the child page's name and the
server's own addresses get the app as usual.

Devices that trust the local CA show the page; others show a certificate error at once (no
waiting for a timeout), which is what they showed before."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kidshield.clock import SystemClock
from kidshield.config import Config, parse_hostport
from kidshield.dns.server import bind_tcp
from kidshield.errors import KidshieldError
from kidshield.web.context import WebContext, web_context
from kidshield.web.localca import CertificateMaker

log = logging.getLogger("kidshield.web")


BLOCK_LISTENER = "kidshield.block_listener"


class OnBlockListener:
    """Marks requests that came in on the HTTPS block listener: the app (its own security
    headers, CSRF and access rules) then sends names that are not ours to the block page
    over HTTPS too (``server.HostDispatch``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[BLOCK_LISTENER] = True
        await self.app(scope, receive, send)


async def ca_certificate(request: Request) -> Response:
    """``/ca.crt``: the local CA's certificate, to install on the devices a parent manages
    (public: it is a certificate, not a secret)."""
    ctx = web_context(request)
    if ctx.local_ca is None:
        return Response("The local CA is off ([web] local_ca = false).\n", 404,
                        media_type="text/plain")
    return Response(ctx.local_ca.pem, media_type="application/x-x509-ca-cert", headers={
        "Content-Disposition": 'attachment; filename="kidshield-ca.crt"'})


class HttpsBlockListener:
    """uvicorn on ``[web] block_https_listen`` with the local CA's per-name certificates."""

    def __init__(self, app: ASGIApp, config: Config, ctx: WebContext) -> None:
        import uvicorn

        assert config.web.block_https_listen is not None and ctx.local_ca is not None
        self.host, wanted = parse_hostport(config.web.block_https_listen, 443)
        self.sock = bind_tcp(self.host, wanted, "[web] block_https_listen")
        self.port: int = self.sock.getsockname()[1]
        # certificates are checked against each device's own clock, not the policy clock a
        # test may have frozen: their dates come from the wall clock
        self.maker = CertificateMaker(ctx.local_ca, SystemClock().now)
        uconfig = uvicorn.Config(OnBlockListener(app), log_level="warning",
                                 lifespan="off", timeout_graceful_shutdown=2)
        uconfig.load()
        uconfig.ssl = self.maker.server_context()  # per-name certificates (SNI)
        self.server = uvicorn.Server(uconfig)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self.server._serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise KidshieldError("the HTTPS block page listener did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            self.sock.close()
            return
        self.server.should_exit = True
        await self._task
        self._task = None
