"""Everything the web routes share: what the composition root handed the app (``WebDeps``),
the stores, the secret key, the setup token and the rate limiter. One instance lives on
``app.state.web``."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from starlette.requests import HTTPConnection

from kidshield.clock import Clock, SystemClock
from kidshield.config import Config
from kidshield.dns.service import DnsService
from kidshield.errors import KidshieldError
from kidshield.notifications.service import Notifier, SummarySources, requests_since
from kidshield.notify import SmtpSettings
from kidshield.runtime import PolicyRuntime
from kidshield.state import StateSource
from kidshield.state.editor import SettingsEditor
from kidshield.storage.db import Database
from kidshield.storage.protocols import AuditEntry
from kidshield.storage.web_sql import (
    SqlApiTokenStore,
    SqlAuditLog,
    SqlSessionStore,
    SqlSettingStore,
    SqlUserStore,
)
from kidshield.web.auth import Authenticator
from kidshield.web.feature import WebFeature
from kidshield.web.localca import LocalCA, load_or_create
from kidshield.web.ratelimit import RateLimiter


class Host(Protocol):
    """What the web app uses of the running application (``kidshield.app.Application``): the
    configuration in force and a way to apply a changed file."""

    @property
    def config(self) -> Config: ...

    @property
    def config_path(self) -> Path | None: ...

    async def reload(self) -> bool: ...

    async def apply_list_edits(self) -> bool: ...


@dataclass
class WebDeps:
    """What ``create_app`` is built from; the composition root fills it."""

    host: Host
    dns: DnsService
    db: Database
    state: StateSource  # grants, pauses, minutes, requests: every change goes through it
    editor: SettingsEditor  # dashboard changes of settings (kept over the file)
    clock: Clock
    secret: bytes  # the server's secret key (web.csrf.server_secret)
    limiter: RateLimiter  # the one rate limiter of the server (features use it too)
    features: Sequence[WebFeature] = ()


class WebContext:
    def __init__(self, deps: WebDeps) -> None:
        self.host = deps.host
        self.dns = deps.dns
        self.state = deps.state
        self.editor = deps.editor
        self.clock = deps.clock
        self.db = db = deps.db
        self.users = SqlUserStore(db)
        self.sessions = SqlSessionStore(db)
        self.tokens = SqlApiTokenStore(db)
        self.audit_log = SqlAuditLog(db)
        self.settings = SqlSettingStore(db)
        self.auth = Authenticator(self.users, self.sessions, self.tokens)
        self.limiter = deps.limiter
        self.secret = deps.secret
        self.setup_token: str | None = None
        self.setup_expires: datetime | None = None
        self.listen_url: str | None = None  # where the web server listens (set when it does)
        if self.users.count() == 0:
            self.setup_token = secrets.token_urlsafe(24)
            self.setup_expires = self.now() + timedelta(minutes=self.config.web.setup_minutes)
        self.list_progress: dict[str, str] = {}
        self.background: set[asyncio.Task[bool]] = set()
        self.local_ca = self._local_ca()
        self.notifier = Notifier(self.settings, self.clock, lambda: self.public_url,
                                 SummarySources(
            db, lambda: self.runtime.profiles,
            lambda: {k: s.name for k, s in self.runtime.catalog.services.items()},
            self.used_minutes, requests_since(self.state.requests),
            lambda: ZoneInfo(self.config.server.timezone)), templates(), self.file_smtp)

    # -- shortcuts ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def config(self) -> Config:
        return self.host.config

    @property
    def config_path(self) -> Path | None:
        return self.host.config_path

    @property
    def runtime(self) -> PolicyRuntime:
        return self.dns.runtime

    async def settle(self) -> None:
        """Everything answered so far in the query log (before showing it)."""
        await self.dns.settle()

    async def reload(self) -> bool:
        return await self.host.reload()

    @property
    def public_url(self) -> str:
        """How parents reach the dashboard: ``[web] public_url``, else the address the web
        server listens on. Every link the server sends starts with it, never with the Host
        a request named (which anyone can set, and which is the blocked site's name on the
        block page)."""
        return (self.config.web.public_url or self.listen_url or "http://127.0.0.1:8080"
                ).rstrip("/")

    def setup_url(self, base: str | None = None) -> str | None:
        if self.setup_token is None:
            return None
        return f"{(base or self.public_url).rstrip('/')}/setup?token={self.setup_token}"

    def audit(self, actor: str, action: str, target: str = "",
              **detail: object) -> AuditEntry:
        return self.audit_log.append(self.audit_entry(actor, action, target, **detail))

    def audit_entry(self, actor: str, action: str, target: str = "",
                    **detail: object) -> AuditEntry:
        """An audit entry to store together with the change it records (one transaction)."""
        text = json.dumps(detail, default=str, ensure_ascii=False) if detail else ""
        return AuditEntry(self.now(), actor, action, target, text)

    def _local_ca(self) -> LocalCA | None:
        """The local CA ([web] local_ca), made on first use in data_dir/ca."""
        config = self.config
        if not config.web.local_ca:
            return None
        # dated by the wall clock: devices check certificates against their own clocks
        return load_or_create(config.path(config.server.data_dir) / "ca",
                              SystemClock().now())

    def file_smtp(self) -> SmtpSettings | None:
        """The configuration file's [smtp] (the report desk's mail server), if set."""
        from kidshield.reports.setup import smtp_settings

        try:
            return smtp_settings(self.config)
        except KidshieldError:
            return None

    def used_minutes(self, profile: str, day: date) -> dict[str, float]:
        """Minutes used per service on a past or present day, as stored by every node (the
        state source keeps only today's and yesterday's in memory)."""
        counts = self.state.store.minute_counts(day)
        return {service: float(count) for (pid, service, d), (count, _top) in counts.items()
                if pid == profile and d == day}


def templates() -> Any:
    from kidshield.web.render import env

    return env


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "0.0.0.0"


def web_context(conn: HTTPConnection) -> WebContext:
    ctx = conn.app.state.web
    assert isinstance(ctx, WebContext)
    return ctx
