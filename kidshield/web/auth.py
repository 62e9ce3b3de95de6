"""Who is asking: passwords (argon2), sessions, API tokens, the first-run setup token, login
rate limiting and the parent PIN. ``AuthMiddleware`` sets ``request.state.user`` (see
``access.py``); routes never read cookies or tokens themselves."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kidshield.storage.protocols import ApiTokenStore, SessionStore, UserStore
from kidshield.web.access import User

SESSION_COOKIE = "ks_session"
# machine endpoints and static files: they render no forms and never read the user
NO_COOKIE_PATHS = ("/dns-query", "/healthz", "/static/")
SESSION_DAYS = 14
TOKEN_PREFIX = "ks_"
# OWASP's argon2id minimum (19 MiB, 2 passes): fast enough for a Raspberry Pi.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def digest(token: str) -> str:
    """What we store for session cookies and API tokens: never the value itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


class RateLimiter:
    """At most ``limit`` failures per ``window`` seconds for one key (an address or a name)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        items = self._failures.setdefault(key, deque())
        while items and items[0] <= now - self.window:
            items.popleft()
        return items

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:
            self._failures.clear()

    def reset(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


class Authenticator:
    def __init__(self, users: UserStore, sessions: SessionStore, tokens: ApiTokenStore) -> None:
        self.users = users
        self.sessions = sessions
        self.tokens = tokens

    def start_session(self, user_id: int, now: datetime) -> str:
        token = new_token()
        self.sessions.create(digest(token), user_id, now, now + timedelta(days=SESSION_DAYS))
        return token

    def end_session(self, token: str) -> None:
        self.sessions.delete(digest(token))

    def user(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        found = self.users.by_id(user_id)
        return None if found is None else User(found.id, found.name, found.roles)

    def from_session(self, token: str, now: datetime) -> User | None:
        return self.user(self.sessions.user_for(digest(token), now))

    def from_bearer(self, token: str, now: datetime) -> User | None:
        return self.user(self.tokens.user_for(digest(token), now))


class AuthMiddleware:
    """Sets ``request.state.user`` (a ``User`` or None) and ``request.state.via`` ("session",
    "token" or None). Paths under ``protected`` need a signed-in user (routes mounted from other
    features that do not check roles themselves)."""

    def __init__(self, app: ASGIApp, auth: Authenticator, now: Callable[[], datetime],
                 protected: tuple[str, ...] = ()) -> None:
        self.app = app
        self.auth = auth
        self.now = now
        self.protected = protected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        now = self.now()
        user: User | None = None
        via: str | None = None
        header = conn.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = self.auth.from_bearer(header[7:].strip(), now)
            if user is None:
                response = JSONResponse({"error": "unauthorized",
                                         "detail": "the API token is not valid"}, 401)
                await response(scope, receive, send)
                return
            via = "token"
        elif not scope["path"].startswith(NO_COOKIE_PATHS):
            # static files, metrics, health and DoH never read the user: no session lookup
            cookie = conn.cookies.get(SESSION_COOKIE)
            if cookie:
                user = self.auth.from_session(cookie, now)
                via = "session" if user else None
        state = scope.setdefault("state", {})
        state["user"] = user
        state["via"] = via
        if user is None and self.protected and scope["path"].startswith(self.protected):
            response = JSONResponse({"error": "unauthorized", "detail": "sign in first"}, 401)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
