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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kidshield.config import Config, parse_hostport
from kidshield.dns.metrics_http import health_body
from kidshield.dns.server import bind_tcp
from kidshield.errors import KidshieldError, TooManyRequests
from kidshield.web.access import Permission
from kidshield.web.api.notifications import api as notifications_api
from kidshield.web.api.registry import document_routes
from kidshield.web.api.v1 import api
from kidshield.web.auth import AuthMiddleware
from kidshield.web.blockpage import block_routes, is_foreign_host, request_host
from kidshield.web.childpage import child_routes
from kidshield.web.context import WebContext, WebDeps
from kidshield.web.csrf import CsrfCookieMiddleware
from kidshield.web.doh import doh_routes
from kidshield.web.errors import (
    RETRY_SECONDS,
    database_unavailable,
    error_response,
    status_of,
    unavailable_detail,
)
from kidshield.web.httpsblock import BLOCK_LISTENER, HttpsBlockListener, ca_certificate
from kidshield.web.metrics import metrics_route
from kidshield.web.pages import page_routes
from kidshield.web.pause import api as pause_api
from kidshield.web.protocol import protocol_class
from kidshield.web.ratelimit import Limit, client_key
from kidshield.web.render import render
from kidshield.web.routing import (
    Assets,
    Gate,
    GateMiddleware,
    Secured,
    origin_of,
    page,
    undeclared,
)

log = logging.getLogger("kidshield.web")
STATIC = Path(__file__).parent / "static"
FAVICON = STATIC / "shield.svg"


async def _favicon(_request: Request) -> Response:
    return FileResponse(FAVICON, media_type="image/svg+xml")


def favicon_route() -> Secured:
    """The shield as every page's icon: the pages name ``/favicon.ico`` (an SVG), and a
    browser that asks for it unprompted, on our pages or on a blocked name's, gets it too."""
    return page("/favicon.ico", _favicon, Permission.PUBLIC, bodies=(), max_body=0,
                cache="public, max-age=86400")


# Paths read by programs (Prometheus) rather than people: refused without a redirect to a
# sign-in page they cannot fill in, unless the client asks for HTML (a browser).
MACHINE_PATHS = ("/metrics",)
# The failure ``_error`` logged, kept in the request's scope so ``App`` does not let uvicorn
# log it a second time.
LOGGED = "kidshield.logged_error"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", "")


def _machine_refusal(request: Request, status: int, exc: Exception) -> Response | None:
    """A scraper's 401/403 on a machine path: a status and one line of text it can log,
    and for 401 the scheme to use (RFC 9110), not a redirect to an HTML sign-in page."""
    if (status not in (401, 403) or not request.url.path.startswith(MACHINE_PATHS)
            or "text/html" in request.headers.get("accept", "")):
        return None
    if status == 401:
        reason = "sign in first: send an API token with the metrics scope as a bearer token"
        headers = {"WWW-Authenticate": 'Bearer realm="kidshield"'}
    else:
        reason = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
        headers = {}
    return PlainTextResponse(reason + "\n", status, headers=headers)


async def _error(request: Request, exc: Exception) -> Response:
    """Every error of every route: JSON in the one shape for the API (web/errors.py), a
    page for a browser (a sign-in first when that is what is missing), plain text for a
    scraper of a machine path."""
    status = status_of(exc)
    unavailable = database_unavailable(exc)
    if status == 500:
        # the method and path only: a query string may hold a setup or PIN token
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        request.scope[LOGGED] = exc
    elif unavailable is not None:
        # one line: it comes again with every write until the disk or the lock is freed
        log.error("%s %s failed: database: %s", request.method, request.url.path, unavailable)
        request.scope[LOGGED] = exc
    if _wants_json(request):
        scheme = request.headers.get("authorization", "").strip().partition(" ")[0]
        if status == 401 and scheme:
            # another scheme than Bearer (Basic from a reverse proxy, say) is not ours
            exc = HTTPException(401, f"sign in first, or send an API token as 'Authorization: "
                                     f"Bearer ks_...' (the {scheme[:20]} scheme is not taken)")
        return error_response(exc)
    machine = _machine_refusal(request, status, exc)
    if machine is not None:
        return machine
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", 303)
    message = (str(exc.detail) if isinstance(exc, HTTPException)
               else "Something went wrong on the server." if status == 500
               else unavailable_detail(unavailable).capitalize() + "."
               if unavailable is not None else str(exc))
    page = render(request, "error.html", status, code=status, error=message)
    if unavailable is not None:
        page.headers["Retry-After"] = str(RETRY_SECONDS)
    if isinstance(exc, TooManyRequests) and exc.retry_after is not None:
        page.headers["Retry-After"] = str(int(exc.retry_after) + 1)
    return page


EXCEPTION_HANDLERS: Any = {
    HTTPException: _error,
    KidshieldError: _error,
    ValidationError: _error,
    Exception: _error,
}


class App(Starlette):
    """Starlette whose failures are logged once. Its outermost middleware raises a failure
    again after ``_error`` answered and logged it, so that servers may log it; uvicorn does
    ("Exception in ASGI application"), a second traceback of the same request. A failure
    ``_error`` did not see (one after the answer started) still reaches uvicorn's log."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if scope.get(LOGGED) is not exc:
                raise


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
     b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """No inline scripts, no framing, no sniffing, no referrer leaks to other sites; nothing
    kept in caches unless the route says so (its rule, ``web/routing.py``); over HTTPS, the
    browser is told to come back over HTTPS only (``[web] hsts``)."""

    def __init__(self, app: ASGIApp, hsts: bool = True) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # not on the HTTPS block listener: a blocked site's name must not be pinned to HTTPS
        # by a certificate only managed devices trust
        extra = [HSTS] if (self.hsts and scope.get("scheme") == "https"
                           and not scope.get(BLOCK_LISTENER)) else []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"cache-control" for k, _v in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = [*headers, *SECURITY_HEADERS, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HostDispatch:
    """Requests for a name that is not ours go to the block page app: over plain HTTP, and
    over HTTPS on the block page's own listener (``[web] block_https_listen``)."""

    def __init__(self, app: ASGIApp, block_app: ASGIApp) -> None:
        self.app = app
        self.block_app = block_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope.get("scheme") == "http"
                                        or scope.get(BLOCK_LISTENER)):
            request = Request(scope)
            if is_foreign_host(request_host(request)) and not scope["path"].startswith(
                    ("/dns-query", "/static/")):
                await self.block_app(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(deps: WebDeps) -> Starlette:
    ctx = WebContext(deps)
    dns = deps.dns
    async def health(_request: Request) -> Response:
        return JSONResponse(health_body(dns.bound))

    static = Assets("/static", STATIC, name="static")
    block_app = App(routes=[static, favicon_route(), *block_routes()],
                          exception_handlers=EXCEPTION_HANDLERS)
    block_app.state.web = ctx
    groups = [api, pause_api, notifications_api,
              *(group for feature in deps.features for group in feature.api)]

    doh_admit = _doh_admit(ctx, deps)

    # [metrics] web = false: only on their own listener ([metrics] listen)
    metrics = [metrics_route(dns, ctx.config)] if ctx.config.metrics.web else []
    routes: list[BaseRoute] = [
        *metrics,
        page("/healthz", health, Permission.PUBLIC),
        *doh_routes(lambda: dns.resolver, doh_admit),
        static,
        favicon_route(),
        page("/ca.crt", ca_certificate, Permission.PUBLIC),
        *child_routes(),
        *document_routes(groups),
        *api.routes(ctx),
        *notifications_api.routes(ctx),
        *pause_api.routes(ctx),
        *page_routes(),
        *(route for feature in deps.features for route in feature.routes),
    ]
    missing = undeclared(routes) + undeclared(block_app.routes)
    if missing:
        # denied by default: a route that says nothing about who may use it is not served
        raise RuntimeError(f"web routes without an access rule: {', '.join(missing)}")
    public = ctx.config.web.public_url
    origins = frozenset(o for o in [origin_of(public)] if o) if public else frozenset()
    gate = Gate(ctx.secret, origins, ctx.config.web.body_timeout)
    app = App(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(SecurityHeaders, hsts=ctx.config.web.hsts),
            Middleware(GateMiddleware, gate=gate),
            Middleware(CsrfCookieMiddleware),
            Middleware(AuthMiddleware, auth=ctx.auth, now=ctx.now),
            Middleware(HostDispatch, block_app=block_app),
        ],
    )
    app.state.web = ctx
    app.state.block_app = block_app
    return app


def _doh_admit(ctx: WebContext, deps: WebDeps) -> Callable[[str], float]:
    def doh_admit(client: str) -> float:
        # DNS over HTTPS gets the same answers-per-second limit as plain DNS (one bucket
        # per device on the web listener and the DoH listener together)
        qps = ctx.config.dns.rate_limit_qps
        deps.limiter.set_limit("doh.client", Limit(qps, 1.0) if qps else None)
        return deps.limiter.acquire(("doh.client", client_key(client))) if qps else 0.0
    return doh_admit


def create_doh_app(app: Starlette, deps: WebDeps) -> Starlette:
    """The app of the DoH listener (web/dohserver.py): the resolver's /dns-query and /healthz
    behind the same headers and request rules as the web listener's, and nothing else."""
    ctx = app.state.web
    assert isinstance(ctx, WebContext)
    dns = deps.dns

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [page("/healthz", health, Permission.PUBLIC),
                               *doh_routes(lambda: dns.resolver, _doh_admit(ctx, deps))]
    doh = App(routes=routes, exception_handlers=EXCEPTION_HANDLERS, middleware=[
        Middleware(SecurityHeaders, hsts=ctx.config.web.hsts),
        Middleware(GateMiddleware, gate=Gate(ctx.secret, frozenset(),
                                             ctx.config.web.body_timeout)),
    ])
    doh.state.web = ctx
    return doh


def announce_setup(ctx: WebContext) -> None:
    """First start: print the one-time link that creates the parent account."""
    url = ctx.setup_url()
    if url:
        print(f"\nkidshield: no parent account yet. Create it (one-time link):\n  {url}\n",
              file=sys.stderr, flush=True)
        log.debug("first start: setup link printed")


class WebServer:
    """The app on ``[web] listen`` with uvicorn (HTTPS when ``dns.tls_certificate`` and
    ``dns.tls_key`` are set), on the caller's event loop. The socket is bound here, so a
    taken or privileged port is a clear ``BindError`` and port 0 reports the port it got.
    ``listen``/``setting``: another address (the metrics listener, plain HTTP)."""

    def __init__(self, app: Starlette, config: Config, listen: str | None = None,
                 setting: str = "[web] listen") -> None:
        import uvicorn

        self.app = app
        self.host, wanted = parse_hostport(listen or config.web.listen, 8080)
        self.sock = bind_tcp(self.host, wanted, setting)
        self.port: int = self.sock.getsockname()[1]
        cfg = config.dns
        tls: dict[str, Any] = {}
        if cfg.tls_certificate and cfg.tls_key and listen is None:
            tls = {"ssl_certfile": str(config.path(cfg.tls_certificate)),
                   "ssl_keyfile": str(config.path(cfg.tls_key))}
        self.scheme = "https" if tls else "http"
        self.block_https: HttpsBlockListener | None = None
        ctx = self.context
        if config.web.block_https_listen and ctx is not None and listen is None:
            self.block_https = HttpsBlockListener(app, config, ctx)
        self.lan_address = config.dns.block_page_ipv4
        web = config.web
        trusted = [str(n) for n in web.trusted_proxies]
        # clients such as a DoH upstream keep connections open: don't wait long for them.
        # Forwarded-for headers are believed only from the configured proxies (uvicorn's
        # default believes any local process).
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2,
            http=protocol_class(web.header_timeout, web.max_connections,
                                web.max_connections_per_client),
            timeout_keep_alive=max(1, round(web.idle_timeout)),
            proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
            server_header=False, **tls))
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The address it listens on; for all addresses, the machine's own on the home
        network when the configuration names it (``block_page_ipv4``)."""
        shown = self.host
        if self.host in ("0.0.0.0", "::"):
            shown = self.lan_address or "127.0.0.1"
        shown = f"[{shown}]" if ":" in shown else shown
        return f"{self.scheme}://{shown}:{self.port}"

    async def start(self) -> None:
        if self.block_https is not None:
            await self.block_https.start()
        # The application owns SIGTERM/SIGINT: uvicorn's _serve skips its signal capture.
        self._task = asyncio.ensure_future(self.server._serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # uvicorn failed to start: say why
                raise KidshieldError(f"the web server on {self.url} did not start")
            await asyncio.sleep(0.01)
        ctx = self.context
        if ctx is not None:
            ctx.listen_url = self.url
            announce_setup(ctx)

    @property
    def context(self) -> WebContext | None:
        """The dashboard's context (None for an app without one)."""
        ctx = getattr(self.app.state, "web", None)
        return ctx if isinstance(ctx, WebContext) else None

    async def stop(self) -> None:
        if self.block_https is not None:
            await self.block_https.stop()
        if self._task is None:
            self.sock.close()
            return
        self.server.should_exit = True
        await self._task
        self._task = None
