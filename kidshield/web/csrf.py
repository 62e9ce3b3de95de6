"""Cross-site request forgery protection: a signed double-submit token.

Every visitor gets a random ``ks_csrf`` cookie (HttpOnly, SameSite=Lax). The token put in forms
(hidden field ``csrf``) and expected in the ``X-CSRF-Token`` header of cookie-authenticated API
writes is an HMAC of that cookie and the session cookie under the server's secret key, so a
page on another site can neither read nor forge it. Requests authenticated with a Bearer API
token carry no cookies and need no CSRF token. Where the token is required, and the other
checks of a write, are in ``web/routing.py`` (every route's rule).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kidshield.storage.protocols import SettingStore
from kidshield.web.auth import NO_COOKIE_PATHS, SESSION_COOKIE

CSRF_COOKIE = "ks_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def server_secret(settings: SettingStore) -> bytes:
    """The server's secret key for CSRF tokens, made on first start and kept in the database
    (so every page and feature of the app, and every restart, agree on it)."""
    key = settings.get("secret_key")
    if key is None:
        key = secrets.token_hex(32)
        settings.put("secret_key", key)
    return bytes.fromhex(key)


def _browser_id(conn: HTTPConnection) -> str:
    return str(conn.scope.get("state", {}).get("csrf_cookie") or conn.cookies.get(CSRF_COOKIE, ""))


def csrf_token(conn: HTTPConnection, secret: bytes) -> str:
    material = f"{_browser_id(conn)}|{conn.cookies.get(SESSION_COOKIE, '')}".encode()
    return hmac.new(secret, material, hashlib.sha256).hexdigest()


def valid(conn: HTTPConnection, secret: bytes, token: str | None) -> bool:
    if not token or not conn.cookies.get(CSRF_COOKIE):
        return False
    return hmac.compare_digest(token, csrf_token(conn, secret))


def page_token(conn: HTTPConnection) -> str:
    """The CSRF token for the forms of the page being answered (features render their own
    templates; the key comes with the request's gate)."""
    gate = conn.scope.get("kidshield.gate")
    secret = getattr(gate, "secret", None)
    return csrf_token(conn, secret) if isinstance(secret, bytes) else ""


class CsrfCookieMiddleware:
    """Gives every browser its random ``ks_csrf`` cookie on first contact."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        if (conn.cookies.get(CSRF_COOKIE) or conn.headers.get("authorization")
                or scope["path"].startswith(NO_COOKIE_PATHS)):
            await self.app(scope, receive, send)
            return
        value = secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_cookie"] = value
        secure = "; Secure" if scope.get("scheme") == "https" else ""

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; "
                                             f"SameSite=Lax{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
