"""The web server that runs beside the DNS listeners: the parents' dashboard, the REST API
(``/api/v1``), the block page, the child page, metrics, health and DNS over HTTPS.

``create_app(service)`` builds it for a started ``DnsService``; ``serve_web`` runs it with
uvicorn. Modules: ``auth``/``csrf`` (who is asking), ``actions`` (what can be done),
``blockpage``/``childpage`` (what children see), ``pages`` (dashboard), ``api`` (REST).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kidshield.config import parse_hostport
from kidshield.dns.server import spawn
from kidshield.errors import InputError, KidshieldError
from kidshield.web.api.v1 import api_routes
from kidshield.web.auth import AuthMiddleware
from kidshield.web.blockpage import block_routes, is_foreign_host, request_host
from kidshield.web.childpage import child_routes
from kidshield.web.context import WebContext
from kidshield.web.csrf import CsrfCookieMiddleware
from kidshield.web.doh import doh_routes
from kidshield.web.pages import page_routes
from kidshield.web.render import render

if TYPE_CHECKING:
    from kidshield.dns.service import DnsService

log = logging.getLogger("kidshield.web")
STATIC = Path(__file__).parent / "static"

# Routes of other features, mounted behind the same authentication when they are installed.
FEATURE_MODULES = ("kidshield.reports.web", "kidshield.education.web",
                   "kidshield.safety.text.api", "kidshield.safety.media.api")


def feature_routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in FEATURE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        routes = getattr(module, "routes", None)
        if callable(routes):
            found.extend(routes())
    return found


def _route_prefixes(routes: list[BaseRoute]) -> tuple[str, ...]:
    out = set()
    for route in routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/"):
            out.add("/".join(path.split("/")[:4]))  # /api/v1/<feature>
    return tuple(sorted(out))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", "")


def _error(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"error": {400: "bad_request", 401: "unauthorized",
                                          403: "forbidden", 404: "not_found",
                                          409: "conflict", 422: "validation",
                                          429: "too_many_requests"}.get(status, "error"),
                                "detail": message}
        if field:
            body["field"] = field
        return JSONResponse(body, status)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", 303)
    return render(request, "error.html", status, code=status, message=message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


async def _kidshield_error(request: Request, exc: Exception) -> Response:
    from kidshield.web.actions import NotFound, Refused

    status = 400
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Refused):
        status = exc.status
    elif isinstance(exc, InputError):
        status = 422
    text = str(exc)
    field = text.split(":", 1)[0] if ":" in text and " " not in text.split(":", 1)[0] else None
    return _error(request, status, text, field)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    fields = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
              for e in exc.errors()]
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    return JSONResponse({"error": "validation", "detail": f"{first['field']}: {first['message']}",
                         "field": first["field"], "fields": fields}, 422)


EXCEPTION_HANDLERS: Any = {
    HTTPException: _http_error,
    KidshieldError: _kidshield_error,
    ValidationError: _validation_error,
}


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
     b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """No inline scripts, no framing, no sniffing, no referrer leaks to other sites."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HostDispatch:
    """Plain-HTTP requests for a name that is not ours go to the block page app."""

    def __init__(self, app: ASGIApp, block_app: ASGIApp) -> None:
        self.app = app
        self.block_app = block_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("scheme") == "http":
            request = Request(scope)
            if is_foreign_host(request_host(request)) and not scope["path"].startswith(
                    ("/dns-query", "/static/")):
                await self.block_app(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(service: DnsService) -> Starlette:
    ctx = WebContext(service)

    async def metrics(_request: Request) -> Response:
        await service.settle()
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "listening": [list(b) for b in service.bound]})

    static = Mount("/static", app=StaticFiles(directory=STATIC), name="static")
    block_app = Starlette(routes=[static, *block_routes()],
                          exception_handlers=EXCEPTION_HANDLERS)
    block_app.state.web = ctx
    features = feature_routes()
    routes: list[BaseRoute] = [
        Route("/metrics", metrics),
        Route("/healthz", health),
        *doh_routes(lambda: service.resolver),
        static,
        *child_routes(),
        *api_routes(),
        *page_routes(),
        *features,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(CsrfCookieMiddleware),
            Middleware(AuthMiddleware, auth=ctx.auth, now=ctx.now,
                       protected=_route_prefixes(features)),
            Middleware(HostDispatch, block_app=block_app),
        ],
    )
    app.state.web = ctx
    _feature_state(app, ctx)
    return app


def _feature_state(app: Starlette, ctx: WebContext) -> None:
    """State the mounted feature routes look for."""
    from kidshield.education.progress import ProgressStore
    from kidshield.education.web import EducationSite
    from kidshield.reports.setup import attach, build_service
    from kidshield.safety.media.banks import BankService
    from kidshield.storage.media_sql import SqlMediaBankStore
    from kidshield.web.blockpage import helpline_book

    service = ctx.service
    db = service.db
    assert db is not None
    config = service.config
    app.state.media_banks = BankService(SqlMediaBankStore(db), service.clock, preload=False)
    # lessons, the report form and the message API show the helplines in force now
    app.state.helplines = lambda: helpline_book(ctx)

    def lists_changed() -> None:
        # a moderator's decision added a domain to the reports block/allow list
        spawn(service.reload())

    reports = build_service(config, db, service.clock, lists_changed)
    attach(app, reports, config)

    def text_detection(result: Any, conversation_id: str | None) -> None:
        # a high-risk message or conversation lands in the moderators' queue; the case keeps
        # findings and scores, never the message text (it was not sent to us to keep)
        from kidshield.reports.intake import case_from_text_assessment

        case_from_text_assessment(reports, result,
                                  conversation=conversation_id or f"api-{id(result)}")

    app.state.text_detection_hook = text_detection

    def profile_for(address: str) -> str | None:
        resolver = service.resolver
        return None if resolver is None else resolver.runtime.profile_for_client(address).id

    app.state.education = EducationSite(progress=ProgressStore(db), profile_for=profile_for,
                                        country=config.server.country,
                                        clock=service.clock.now)


def announce_setup(ctx: WebContext, host: str, port: int) -> None:
    """First start: print the one-time link that creates the parent account."""
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    url = ctx.setup_url(f"http://{shown}:{port}")
    if url:
        print(f"\nkidshield: no parent account yet. Create it (one-time link):\n  {url}\n",
              file=sys.stderr, flush=True)
        log.debug("first start: setup link printed")


async def serve_web(service: DnsService, stopped: asyncio.Event) -> None:
    import uvicorn

    host, port = parse_hostport(service.config.web.listen, 8080)
    cfg = service.config.dns
    ssl_args = {}
    if cfg.tls_certificate and cfg.tls_key:
        ssl_args = {"ssl_certfile": str(service.config.path(cfg.tls_certificate)),
                    "ssl_keyfile": str(service.config.path(cfg.tls_key))}
    app = create_app(service)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            lifespan="off", **ssl_args)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    # Our service owns SIGTERM/SIGINT; _serve skips uvicorn's own signal capture.
    task = asyncio.ensure_future(server._serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started and server.servers:
        port = server.servers[0].sockets[0].getsockname()[1]
    app.state.web.port = port
    announce_setup(app.state.web, host, port)
    jobs = [asyncio.ensure_future(job) for job in background_jobs(app, service, stopped)]
    await stopped.wait()
    server.should_exit = True
    await task
    for job in jobs:
        job.cancel()


def background_jobs(app: Starlette, service: DnsService,
                    stopped: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
    """Daily retention of reports, cases and evidence, and hash-bank matches turned into
    cases every minute (the same queue as reports and text detections)."""
    from kidshield.reports.intake import import_new_media_matches
    from kidshield.reports.retention import RetentionSchedule, retention_loop

    reports = app.state.reports
    config = service.config

    async def import_matches() -> None:
        while not stopped.is_set():
            try:
                await asyncio.to_thread(import_new_media_matches, reports, config)
            except Exception:
                log.exception("turning hash matches into cases failed; retrying in a minute")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), timeout=60)

    return [retention_loop(reports.store, RetentionSchedule.from_config(config), service.clock,
                           stopped), import_matches()]
