"""The web server that runs beside the DNS listeners: the parents' dashboard, the REST API
(``/api/v1``), the block page, the child page, metrics, health, DNS over HTTPS and the routes
of the features (reports, lessons, message and media APIs).

``create_app(deps)`` builds the ASGI app from what the composition root hands it (``WebDeps``);
``WebServer`` runs it with uvicorn on the configured address. Modules: ``auth``/``csrf`` (who
is asking), ``actions`` (what can be done), ``blockpage``/``childpage`` (what children see),
``pages`` (dashboard), ``api`` (REST).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kidshield.config import Config, parse_hostport
from kidshield.dns.server import explain_bind_error
from kidshield.errors import KidshieldError
from kidshield.web.access import Permission
from kidshield.web.api.registry import document_routes
from kidshield.web.api.v1 import api
from kidshield.web.auth import AuthMiddleware
from kidshield.web.blockpage import block_routes, is_foreign_host, request_host
from kidshield.web.childpage import child_routes
from kidshield.web.context import WebContext, WebDeps
from kidshield.web.csrf import CsrfCookieMiddleware
from kidshield.web.doh import doh_routes
from kidshield.web.errors import error_response, status_of
from kidshield.web.pages import page_routes
from kidshield.web.render import render
from kidshield.web.routing import Assets, Gate, GateMiddleware, page, undeclared

log = logging.getLogger("kidshield.web")
STATIC = Path(__file__).parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", "")


async def _error(request: Request, exc: Exception) -> Response:
    """Every error of every route: JSON in the one shape for the API (web/errors.py), a
    page for a browser (a sign-in first when that is what is missing)."""
    status = status_of(exc)
    if status == 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    if _wants_json(request):
        return error_response(exc)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", 303)
    message = (str(exc.detail) if isinstance(exc, HTTPException)
               else "Something went wrong on the server." if status == 500 else str(exc))
    return render(request, "error.html", status, code=status, message=message)


EXCEPTION_HANDLERS: Any = {
    HTTPException: _error,
    KidshieldError: _error,
    ValidationError: _error,
    Exception: _error,
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


def create_app(deps: WebDeps) -> Starlette:
    ctx = WebContext(deps)
    dns = deps.dns

    async def metrics(_request: Request) -> Response:
        await dns.settle()
        return Response(generate_latest(dns.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "listening": [list(b) for b in dns.bound]})

    static = Assets("/static", STATIC, name="static")
    block_app = Starlette(routes=[static, *block_routes()],
                          exception_handlers=EXCEPTION_HANDLERS)
    block_app.state.web = ctx
    groups = [api, *(group for feature in deps.features for group in feature.api)]
    routes: list[BaseRoute] = [
        page("/metrics", metrics, Permission.METRICS),
        page("/healthz", health, Permission.PUBLIC),
        *doh_routes(lambda: dns.resolver),
        static,
        *child_routes(),
        *document_routes(groups),
        *api.routes(ctx),
        *page_routes(),
        *(route for feature in deps.features for route in feature.routes),
    ]
    missing = undeclared(routes) + undeclared(block_app.routes)
    if missing:
        # denied by default: a route that says nothing about who may use it is not served
        raise RuntimeError(f"web routes without an access rule: {', '.join(missing)}")
    gate = Gate(ctx.secret)
    app = Starlette(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(GateMiddleware, gate=gate),
            Middleware(CsrfCookieMiddleware),
            Middleware(AuthMiddleware, auth=ctx.auth, now=ctx.now),
            Middleware(HostDispatch, block_app=block_app),
        ],
    )
    app.state.web = ctx
    app.state.block_app = block_app
    return app


def announce_setup(ctx: WebContext, base_url: str) -> None:
    """First start: print the one-time link that creates the parent account."""
    url = ctx.setup_url(base_url)
    if url:
        print(f"\nkidshield: no parent account yet. Create it (one-time link):\n  {url}\n",
              file=sys.stderr, flush=True)
        log.debug("first start: setup link printed")


class WebServer:
    """The app on ``[web] listen`` with uvicorn (HTTPS when ``dns.tls_certificate`` and
    ``dns.tls_key`` are set), on the caller's event loop. The socket is bound here, so a
    taken or privileged port is a clear ``BindError`` and port 0 reports the port it got."""

    def __init__(self, app: Starlette, config: Config) -> None:
        import uvicorn

        self.app = app
        self.host, wanted = parse_hostport(config.web.listen, 8080)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((self.host, wanted))
        except OSError as exc:
            self.sock.close()
            raise explain_bind_error(exc, self.host, wanted, "TCP", "[web] listen") from None
        self.port: int = self.sock.getsockname()[1]
        cfg = config.dns
        tls: dict[str, Any] = {}
        if cfg.tls_certificate and cfg.tls_key:
            tls = {"ssl_certfile": str(config.path(cfg.tls_certificate)),
                   "ssl_keyfile": str(config.path(cfg.tls_key))}
        self.scheme = "https" if tls else "http"
        # clients such as a DoH upstream keep connections open: don't wait long for them
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, **tls))
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"{self.scheme}://{shown}:{self.port}"

    async def start(self) -> None:
        # The application owns SIGTERM/SIGINT: uvicorn's _serve skips its signal capture.
        self._task = asyncio.ensure_future(self.server._serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # uvicorn failed to start: say why
                raise KidshieldError(f"the web server on {self.url} did not start")
            await asyncio.sleep(0.01)
        ctx = self.app.state.web
        assert isinstance(ctx, WebContext)
        announce_setup(ctx, self.url)

    async def stop(self) -> None:
        if self._task is None:
            self.sock.close()
            return
        self.server.should_exit = True
        await self._task
        self._task = None
