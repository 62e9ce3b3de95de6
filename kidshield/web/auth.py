"""Who is asking: passwords (argon2), sessions, API tokens and known devices.
``AuthMiddleware`` sets ``request.state.user`` (see ``access.py``); routes never read cookies
or tokens themselves."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kidshield.bearer import bearer_challenge, bearer_credentials
from kidshield.storage.protocols import ApiTokenStore, SessionStore, UserStore
from kidshield.web.access import User

SESSION_COOKIE = "ks_session"
# machine endpoints and static files: they render no forms and never read the user
NO_COOKIE_PATHS = ("/dns-query", "/healthz", "/static/")
SESSION_DAYS = 14
SESSIONS_PER_ACCOUNT = 10  # signed-in browsers per account; a new one ends the oldest
TOKEN_PREFIX = "ks_"
# RFC 6750 section 2.1: the credentials of the Bearer scheme are one b64token
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
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


# Verified when the name is unknown, so a wrong name costs as long as a wrong password: the
# time of an answer does not tell which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def verify_password(hashed: str | None, password: str) -> bool:
    """Check ``password`` against ``hashed`` (None: no such account), in the same time."""
    return verify_secret(_DUMMY if hashed is None else hashed, password) and hashed is not None


# A browser that signed in before keeps a "known device" cookie for that account: failed
# sign-ins from it are counted on its own, so guesses from other devices cannot lock the
# parent out of a browser they use (docs/web.md, "Rate limits").
DEVICE_COOKIE = "ks_device"
DEVICE_DAYS = 400


def device_cookie(secret: bytes, user_id: int) -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_device_mac(secret, user_id, nonce)}"


def known_device(secret: bytes, user_id: int, cookie: str | None) -> str | None:
    """The device's id when ``cookie`` is this account's known-device cookie."""
    nonce, _, mac = (cookie or "").partition(".")
    if nonce and mac and hmac.compare_digest(mac, _device_mac(secret, user_id, nonce)):
        return nonce
    return None


def _device_mac(secret: bytes, user_id: int, nonce: str) -> str:
    return hmac.new(secret, f"device|{user_id}|{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


class BearerRefused(NamedTuple):
    """Why a request's bearer credentials were refused: RFC 6750's error code, and the words
    of the JSON body."""

    error: str
    detail: str


MALFORMED = BearerRefused("invalid_request",
                          "the Authorization header is malformed: send one API token as "
                          "'Authorization: Bearer ks_...'")
NOT_VALID = BearerRefused("invalid_token",
                          "the API token is not valid: it is wrong, revoked or expired")


def refused_response(why: BearerRefused) -> JSONResponse:
    """A refused bearer token's answer: 401 (the status the API's clients act on for any bad
    credentials, rather than RFC 6750's 400 for a malformed request), the challenge naming
    the error, and the one JSON error shape (web/errors.py)."""
    return JSONResponse({"error": "unauthorized", "detail": why.detail}, 401,
                        headers={"WWW-Authenticate": bearer_challenge(why.error, why.detail)})


class Authenticator:
    def __init__(self, users: UserStore, sessions: SessionStore, tokens: ApiTokenStore) -> None:
        self.users = users
        self.sessions = sessions
        self.tokens = tokens

    def start_session(self, user_id: int, now: datetime) -> str:
        """A new session cookie; past ``SESSIONS_PER_ACCOUNT`` the account's oldest ends."""
        token = new_token()
        self.sessions.create(digest(token), user_id, now, now + timedelta(days=SESSION_DAYS),
                             SESSIONS_PER_ACCOUNT)
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
        """The token's account, holding only what the token's scopes name."""
        found = self.tokens.find(digest(token), now)
        user = self.user(found.user_id) if found is not None else None
        if found is None or user is None:
            return None
        return User(user.id, user.name, user.roles, found.scopes, found.id, found.expires_at)


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
        given = bearer_credentials(conn.headers.get("authorization", ""))
        if given is not None:
            # a bearer that is not one well-formed, active token is refused here, on every
            # path: it is a program's (a browser never sends one), so no sign-in redirect
            if not _B64TOKEN.fullmatch(given):
                await refused_response(MALFORMED)(scope, receive, send)
                return
            user = self.auth.from_bearer(given, now)
            if user is None:
                await refused_response(NOT_VALID)(scope, receive, send)
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
            response = JSONResponse({"error": "unauthorized", "detail": "sign in first"}, 401,
                                    headers={"WWW-Authenticate": bearer_challenge()})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
