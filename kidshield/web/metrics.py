"""Prometheus metrics on the web server (``/metrics``, unless ``[metrics] web = false``),
behind an API token with the metrics scope or a parent's session unless ``[metrics] auth =
false``. The listener of their own (``[metrics] listen``, with a bearer token file) is in
``kidshield.dns.metrics_http``, so it runs with ``--no-web`` too. The counts are per
profile: one child's device must not read its siblings' (or learn when its parents
browse)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from kidshield.web.access import Permission
from kidshield.web.routing import Secured, page

if TYPE_CHECKING:
    from kidshield.config import Config
    from kidshield.dns.service import DnsService


def metrics_route(dns: DnsService, config: Config) -> Secured:
    async def metrics(_request: Request) -> Response:
        await dns.settle()
        return Response(generate_latest(dns.metrics.view()), media_type=CONTENT_TYPE_LATEST)

    allow = Permission.METRICS if config.metrics.auth else Permission.PUBLIC
    return page("/metrics", metrics, allow)
