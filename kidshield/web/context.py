"""Everything the web routes share: the running DNS service, the stores, the secret key, the
setup token and the rate limiters. One instance lives on ``app.state.web``."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from kidshield.app import PolicyRuntime
from kidshield.errors import KidshieldError
from kidshield.storage.db import Database
from kidshield.storage.protocols import AuditEntry
from kidshield.storage.web_sql import (
    SqlAccessRequestStore,
    SqlApiTokenStore,
    SqlAuditLog,
    SqlPauseStore,
    SqlSessionStore,
    SqlSettingStore,
    SqlUserStore,
)
from kidshield.web.auth import Authenticator, RateLimiter
from kidshield.web.notify import NotifySettings

if TYPE_CHECKING:
    from kidshield.dns.service import DnsService


class WebContext:
    def __init__(self, service: DnsService) -> None:
        if service.db is None or service.resolver is None:
            raise KidshieldError("the web app needs a started DNS service (database and resolver)")
        self.service = service
        db: Database = service.db
        self.users = SqlUserStore(db)
        self.sessions = SqlSessionStore(db)
        self.tokens = SqlApiTokenStore(db)
        self.audit_log = SqlAuditLog(db)
        self.requests = SqlAccessRequestStore(db)
        self.pauses = SqlPauseStore(db)
        self.settings = SqlSettingStore(db)
        self.auth = Authenticator(self.users, self.sessions, self.tokens)
        self.login_limiter = RateLimiter(limit=5, window=300)
        self.pin_limiter = RateLimiter(limit=5, window=300)
        self.ask_limiter = RateLimiter(limit=20, window=600)
        key = self.settings.get("secret_key")
        if key is None:
            key = secrets.token_hex(32)
            self.settings.put("secret_key", key)
        self.secret = bytes.fromhex(key)
        self.setup_token: str | None = None
        self.port: int | None = None
        if self.users.count() == 0:
            self.setup_token = secrets.token_urlsafe(24)
        self.list_progress: dict[str, str] = {}
        self.background: set[asyncio.Task[bool]] = set()
        self.restore_pauses()

    # -- shortcuts ------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The service's database (it only goes away when the service stops)."""
        db = self.service.db
        if db is None:
            raise KidshieldError("the DNS service has stopped")
        return db
    def now(self) -> datetime:
        return self.service.clock.now()

    @property
    def runtime(self) -> PolicyRuntime:
        assert self.service.resolver is not None
        return self.service.resolver.runtime

    def setup_url(self, base: str) -> str | None:
        if self.setup_token is None:
            return None
        return f"{base.rstrip('/')}/setup?token={self.setup_token}"

    def audit(self, actor: str, action: str, target: str = "",
              **detail: object) -> AuditEntry:
        text = json.dumps(detail, default=str, ensure_ascii=False) if detail else ""
        return self.audit_log.append(AuditEntry(self.now(), actor, action, target, text))

    # -- notification hook ------------------------------------------------------------------
    def notify_settings(self) -> NotifySettings:
        kind = self.settings.get("notify_kind") or "none"
        url = self.settings.get("notify_url") or ""
        if kind not in ("none", "webhook", "ntfy"):
            kind = "none"
        return NotifySettings(kind, url)  # type: ignore[arg-type]

    # -- pauses -----------------------------------------------------------------------------
    def restore_pauses(self) -> None:
        for record in self.pauses.active(self.now()):
            self.service.pause(record.profile, record.until)


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "0.0.0.0"


def web_context(conn: HTTPConnection) -> WebContext:
    ctx = conn.app.state.web
    assert isinstance(ctx, WebContext)
    return ctx
