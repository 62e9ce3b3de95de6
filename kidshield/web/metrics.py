"""Prometheus metrics: on the web server (``/metrics``) or on a listener of their own
(``[metrics] listen``), behind an API token with the metrics scope or a parent's session
unless ``[metrics] auth = false``. The counts are per profile: one child's device must not
read its siblings' (or learn when its parents browse)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from kidshield.web.access import Permission
from kidshield.web.routing import Secured, page

if TYPE_CHECKING:
    from kidshield.clock import Clock
    from kidshield.config import Config
    from kidshield.dns.service import DnsService
    from kidshield.storage.db import Database


def metrics_route(dns: DnsService, config: Config) -> Secured:
    async def metrics(_request: Request) -> Response:
        await dns.settle()
        return Response(generate_latest(dns.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    allow = Permission.METRICS if config.metrics.auth else Permission.PUBLIC
    return page("/metrics", metrics, allow)


def metrics_app(dns: DnsService, config: Config, db: Database, clock: Clock,
                secret: bytes) -> Any:
    """The app of the metrics listener: /metrics alone, with the same sign-in."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from kidshield.storage.web_sql import SqlApiTokenStore, SqlSessionStore, SqlUserStore
    from kidshield.web.auth import Authenticator, AuthMiddleware
    from kidshield.web.errors import JSON_ERROR_HANDLERS
    from kidshield.web.routing import Gate, GateMiddleware

    auth = Authenticator(SqlUserStore(db), SqlSessionStore(db), SqlApiTokenStore(db))
    return Starlette(routes=[metrics_route(dns, config)],
                     exception_handlers=JSON_ERROR_HANDLERS,
                     middleware=[Middleware(GateMiddleware, gate=Gate(secret)),
                                 Middleware(AuthMiddleware, auth=auth, now=clock.now)])
