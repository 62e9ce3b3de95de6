"""The web server that runs beside the DNS listeners: metrics, health and DNS over HTTPS.
(The dashboard, block page and child page join it here.)"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kidshield.config import parse_hostport
from kidshield.web.doh import doh_routes

if TYPE_CHECKING:
    from kidshield.dns.service import DnsService

log = logging.getLogger("kidshield.web")


def create_app(service: DnsService) -> Starlette:
    async def metrics(_request: Request) -> Response:
        service.pump()
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "listening": [list(b) for b in service.bound]})

    routes = [
        Route("/metrics", metrics),
        Route("/healthz", health),
        *doh_routes(lambda: service.resolver),
    ]
    return Starlette(routes=routes)


async def serve_web(service: DnsService, stopped: asyncio.Event) -> None:
    import uvicorn

    host, port = parse_hostport(service.config.web.listen, 8080)
    cfg = service.config.dns
    ssl_args = {}
    if cfg.tls_certificate and cfg.tls_key:
        ssl_args = {"ssl_certfile": str(service.config.path(cfg.tls_certificate)),
                    "ssl_keyfile": str(service.config.path(cfg.tls_key))}
    config = uvicorn.Config(create_app(service), host=host, port=port, log_level="warning",
                            lifespan="off", **ssl_args)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    # Our service owns SIGTERM/SIGINT; _serve skips uvicorn's own signal capture.
    task = asyncio.ensure_future(server._serve())
    await stopped.wait()
    server.should_exit = True
    await task
