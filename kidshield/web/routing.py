"""Every route of the web server is declared here, with the ``Rule`` it is served under: who
may call it (one ``Permission``, ``web/access.py``), which bodies it reads and how large they
may be, and how its answers may be cached. ``Secured`` routes enforce their rule before the
handler runs; ``create_app`` refuses to start with a route that has no rule, so a new page or
API route cannot skip the checks (and ``tests/security`` checks every route against every
role from these declarations).

A request that changes something (POST, PUT, PATCH, DELETE) is also checked against
cross-site request forgery, in this order:

1. it must not come from another site: ``Sec-Fetch-Site: cross-site`` and an ``Origin`` (or
   ``Referer``) other than this server's are refused;
2. its body must be of a type the route reads (a JSON route takes ``application/json`` only,
   so a ``text/plain`` body a foreign page could send is refused);
3. forms, and every request of a signed-in browser, must carry the CSRF token (``csrf``
   form field or ``X-CSRF-Token`` header; ``web/csrf.py``), and a token that is sent must
   be valid. Requests with an API token carry no cookies and need none; an anonymous JSON
   or binary body needs none either, as no page of another site can send one (step 2, and
   a browser asks first before sending it across origins, which this server never allows).

Bodies are counted while they are read (chunked ones too) and refused past the route's
limit; a client that stops sending a body for ``body_timeout`` seconds is cut off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kidshield.errors import (
    InputError,
    Malformed,
    RequestTimeout,
    TooLarge,
    UnsupportedMedia,
)
from kidshield.web.access import Permission, require
from kidshield.web.csrf import CSRF_FIELD, CSRF_HEADER, valid

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"
PAGE_BODY = 256 * 1024  # a form: a parent may paste a long allow list
GATE_KEY = "kidshield.gate"
RULE_KEY = "kidshield.rule"

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorPage = Callable[[Request, Exception], Awaitable[Response]]
# What a child's route answers with its own page: what the door refuses (a body too large,
# late, of the wrong type or holding a NUL; a stale form token; another site's page)
DOOR_ERRORS = (InputError, Malformed, HTTPException)


@dataclass(frozen=True)
class Rule:
    """How a route is served. ``bodies``: the content types its writes may have (``image/*``
    matches any image; empty: the route reads no body); ``wrong_body``: what to say when the
    type is not one of them; ``cache``: its Cache-Control unless the answer sets one;
    ``child_error``: on a route a child uses, the answer to a request refused at the door (a
    body past ``max_body``, a NUL, a stale form, a wrong method) in place of the dashboard's
    adult error page: a page for the child, in their language."""

    allow: Permission
    bodies: tuple[str, ...] = (FORM,)
    max_body: int = PAGE_BODY
    wrong_body: str = ""
    cache: str = "no-store"
    child_error: ErrorPage | None = None


@dataclass(frozen=True)
class Gate:
    """The server-wide side of the rules (``create_app`` installs it). ``secret`` is the CSRF
    key; None serves routes without accounts (the standalone text app, bound to
    loopback). ``origins``: other origins of this server (the configured public URL)."""

    secret: bytes | None
    origins: frozenset[str] = frozenset()
    body_timeout: float = 15.0


class CrossSite(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class GateMiddleware:
    """Hands every request the gate its routes check against."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[GATE_KEY] = self.gate
        await self.app(scope, receive, send)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _accepts(kind: str, bodies: Sequence[str]) -> bool:
    return any(kind == b or (b.endswith("/*") and kind.startswith(b[:-1])) for b in bodies)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = "" if port in (None, default) else f":{port}"
    return f"{parts.scheme}://{host}{shown}"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased, without a default port."""
    return _origin(url.strip().lower())


def own_origin(request: Request) -> str | None:
    host = request.headers.get("host", "")
    return origin_of(f"{request.url.scheme}://{host}") if host else None


def check_same_site(request: Request, gate: Gate) -> None:
    """Refuse what a page of another site made the browser send (1. in the module doc).

    Browsers say where a request comes from in ``Sec-Fetch-Site`` and ``Origin``. A page with
    ``Referrer-Policy: no-referrer`` (the report form) sends ``Origin: null``, which proves
    nothing either way: then ``Sec-Fetch-Site`` decides, and without it the CSRF token."""
    site = request.headers.get("sec-fetch-site", "").lower()
    if site == "cross-site":
        raise CrossSite("refused: the request came from another site")
    claimed = request.headers.get("origin")
    if claimed is None or claimed == "null":
        claimed = request.headers.get("referer") or None
    if claimed is None:
        if site == "same-site":  # a sibling site (another port or name) that hides its origin
            raise CrossSite("refused: the request came from another site")
        return  # not a browser, or one that says nothing: the token check still applies
    origin = origin_of(claimed)
    if origin is None or (origin != own_origin(request) and origin not in gate.origins):
        raise CrossSite(f"refused: the request came from another site ({claimed[:80]})")


async def check_write(request: Request, rule: Rule, gate: Gate) -> None:
    """Cross-site request forgery checks of a request that changes something."""
    check_same_site(request, gate)
    kind = media_type(request)
    if rule.bodies and (kind or _has_body(request)) and not _accepts(kind, rule.bodies):
        raise UnsupportedMedia(
            rule.wrong_body or f"send the body as {' or '.join(rule.bodies)}"
            f"{f', not {kind}' if kind else ''}", field="body")
    via = getattr(request.state, "via", None)
    if via == "token" or gate.secret is None:
        return
    token = request.headers.get(CSRF_HEADER)
    form_route = FORM in rule.bodies or MULTIPART in rule.bodies
    if (token is None and via != "session" and not form_route
            and kind not in (FORM, MULTIPART)):
        return  # a JSON or binary body a foreign page cannot send (no cookies: no session)
    if token is None and kind == FORM:
        field = (await request.form()).get(CSRF_FIELD)
        token = field if isinstance(field, str) else None
    if not valid(request, gate.secret, token):
        raise HTTPException(403, "the form expired or came from another site (missing or "
                                 "wrong CSRF token): reload the page and try again")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length", "")
    return (length.isdigit() and int(length) > 0) or "transfer-encoding" in request.headers


def guarded(endpoint: Endpoint, rule: Rule) -> Endpoint:
    """``endpoint`` behind ``rule``: the caller's permission, then the write checks."""

    async def run(request: Request) -> Response:
        gate = request.scope.get(GATE_KEY)
        if not isinstance(gate, Gate):
            # denied by default: a route served outside an app that installs the gate
            raise HTTPException(403, "not allowed: this server has no access rules")
        if gate.secret is not None:
            require(request, rule.allow)
        try:
            refuse_nul_query(request.scope)
            if request.method not in SAFE_METHODS:
                await check_write(request, rule, gate)  # reads a form for its CSRF token
            return await endpoint(request)
        except DOOR_ERRORS as exc:
            if rule.child_error is None:
                raise
            return await rule.child_error(request, exc)

    run.__name__ = getattr(endpoint, "__name__", "endpoint")
    run.__doc__ = endpoint.__doc__
    return run


# A NUL character in text a person sends: PostgreSQL refuses it in every text column, so a
# device's, an account's or a token's name, a sign-in or a query-log search holding one was a
# 500 (the family walk, session 16; SQLite kept it and cut the text short). No text kidshield
# reads has a use for it: refused at the door, 400, in the query and in JSON and form bodies
# (multipart bodies carry images, whose bytes are their own business).
NUL_IN_BODY = {JSON: (b"\x00", b"\\u0000"), FORM: (b"\x00", b"%00")}
NUL_TEXT = "a NUL character (\\u0000, %00) is not allowed in text"


def refuse_nul_query(scope: Scope) -> None:
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise Malformed(NUL_TEXT, field="query")


# The message checks read whatever text a platform's users wrote, NUL included, and keep none
# of it: refusing a message there would leave it unchecked.
NUL_READ_AS_IS = "/api/v1/assess/"


def _nul_patterns(scope: Scope) -> tuple[bytes, ...]:
    if str(scope.get("path", "")).startswith(NUL_READ_AS_IS):
        return ()
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower().decode("latin-1")
            return NUL_IN_BODY.get(kind, ())
    return ()


def limited(receive: Receive, limit: int, timeout: float,
            nul: tuple[bytes, ...] = ()) -> Receive:
    """``receive`` that refuses a body past ``limit`` bytes while it arrives, a client that
    sends nothing for ``timeout`` seconds in the middle of one, and a body holding one of
    ``nul`` (the NUL character as the body's type writes it)."""
    seen = 0
    done = False
    tail = b""  # the end of the previous chunk: a pattern may straddle two

    async def wrapped() -> Message:
        nonlocal seen, done, tail
        if done:
            return await receive()  # after the body: only the disconnect is left to hear
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise RequestTimeout(f"the body did not arrive (nothing for {timeout:g} s)",
                                 field="body") from None
        if message["type"] == "http.request":
            body = message.get("body", b"")
            seen += len(body)
            if seen > limit:
                raise TooLarge(f"the body is larger than {limit} bytes", field="body")
            if nul:
                joined = tail + body
                if any(pattern in joined for pattern in nul):
                    raise Malformed(NUL_TEXT, field="body")
                tail = joined[-8:]
            done = not message.get("more_body", False)
        else:
            done = True
        return message

    return wrapped


def _with_cache(send: Send, cache: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            if "cache-control" not in headers:
                headers["cache-control"] = cache
        await send(message)

    return wrapped


class Secured(Route):
    """A route served under its ``rule``."""

    def __init__(self, path: str, endpoint: Endpoint, *, rule: Rule,
                 methods: Sequence[str] = ("GET",), name: str | None = None) -> None:
        super().__init__(path, guarded(endpoint, rule), methods=list(methods), name=name)
        self.rule = rule

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = scope.get(GATE_KEY)
        timeout = gate.body_timeout if isinstance(gate, Gate) else 15.0
        scope[RULE_KEY] = self.rule
        if (self.rule.child_error is not None and self.methods
                and scope.get("method") not in self.methods):
            # Route.handle would raise the 405 to the app's (adult) error page
            allow = ", ".join(sorted(self.methods))
            refused = HTTPException(405, "this address takes a form, not a visit",
                                    headers={"Allow": allow})
            response = await self.rule.child_error(Request(scope, receive), refused)
            response.headers["Allow"] = allow
            await response(scope, receive, _with_cache(send, self.rule.cache))
            return
        await super().handle(scope, limited(receive, self.rule.max_body, timeout,
                                            _nul_patterns(scope)),
                             _with_cache(send, self.rule.cache))


class Assets(Mount):
    """Static files (style sheets, scripts, icons): anyone may read them; nothing is
    written. Browsers revalidate them (ETag) instead of keeping stale copies."""

    rule = Rule(Permission.PUBLIC, bodies=(), max_body=0, cache="no-cache")

    def __init__(self, path: str, directory: Any, name: str) -> None:
        super().__init__(path, app=StaticFiles(directory=directory), name=name)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in SAFE_METHODS:
            response = Response("static files are read only", status_code=405,
                                headers={"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, _with_cache(send, self.rule.cache))


def page(path: str, endpoint: Endpoint, allow: Permission, *,
         methods: Sequence[str] = ("GET",), **options: Any) -> Secured:
    """A route (a page, a form, a machine endpoint) that ``allow`` lets in."""
    return Secured(path, endpoint, rule=Rule(allow, **options), methods=methods)


@dataclass(frozen=True)
class Declared:
    """One method of one route and its rule (for the checks and the tests)."""

    method: str
    path: str
    rule: Rule
    host: str = ""  # "foreign": served for blocked names only (the block page app)


def declared(routes: Sequence[BaseRoute], host: str = "") -> Iterator[Declared]:
    """Every method of every route, with its rule; ``undeclared`` lists what has none."""
    for route in routes:
        if isinstance(route, Secured):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield Declared(method, route.path, route.rule, host)
        elif isinstance(route, Assets):
            yield Declared("GET", route.path + "/{path}", route.rule, host)


def undeclared(routes: Sequence[BaseRoute]) -> list[str]:
    """The routes that have no rule: ``create_app`` does not start with any."""
    return [getattr(r, "path", repr(r)) for r in routes if not isinstance(r, Secured | Assets)]


def standalone(routes: Sequence[BaseRoute]) -> Any:
    """An app of ``routes`` served without accounts (``kidshield.web.api.media`` and
    ``assess`` on their own: bind them to loopback or put an authenticating proxy in front).
    Every other rule of the routes (body types and limits) still holds."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from kidshield.web.errors import JSON_ERROR_HANDLERS

    return Starlette(routes=list(routes), exception_handlers=JSON_ERROR_HANDLERS,
                     middleware=[Middleware(GateMiddleware, gate=Gate(secret=None))])
