"""The notification channels a parent set up, kept as one JSON value in the settings table
(``notifications``). Checked before they are stored: each problem names the form field it is
about (``ntfy_topic``, ``smtp_host``...), so the Settings page can show it beside the field."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from kidshield.errors import InputError
from kidshield.storage.protocols import SettingStore

KEY = "notifications"
DEFAULT_NTFY_SERVER = "https://ntfy.sh"
Security = Literal["starttls", "tls", "none"]
SECURITY: tuple[Security, ...] = ("starttls", "tls", "none")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class Ntfy:
    enabled: bool = False
    server: str = DEFAULT_NTFY_SERVER
    topic: str = ""
    token: str = ""  # an access token for a protected topic (ntfy "tk_...")

    @property
    def url(self) -> str:
        return f"{self.server.rstrip('/')}/{self.topic}"


@dataclass(frozen=True)
class Email:
    enabled: bool = False
    host: str = ""
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: str = ""
    sender: str = ""
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Webhook:
    enabled: bool = False
    url: str = ""


@dataclass(frozen=True)
class Notifications:
    ntfy: Ntfy = field(default_factory=Ntfy)
    email: Email = field(default_factory=Email)
    webhook: Webhook = field(default_factory=Webhook)
    requests: bool = True  # tell when a child asks
    weekly: bool = True  # a summary per child each week
    weekly_day: str = "sunday"
    weekly_hour: int = 18  # in the server's time zone

    @property
    def any_channel(self) -> bool:
        return self.ntfy.enabled or self.email.enabled or self.webhook.enabled

    def public(self) -> dict[str, Any]:
        """For the API and the page: everything but the secrets (whether they are set)."""
        data = asdict(self)
        data["email"]["password"] = ""
        data["email"]["password_set"] = bool(self.email.password)
        data["ntfy"]["token"] = ""
        data["ntfy"]["token_set"] = bool(self.ntfy.token)
        data["ntfy"]["url"] = self.ntfy.url if self.ntfy.topic else ""
        return data


def new_topic() -> str:
    """An ntfy topic nobody can guess: on a public ntfy server the topic name is the only
    thing that keeps others from reading the notifications."""
    return "kidshield-" + secrets.token_urlsafe(12).replace("_", "x").replace("-", "y")


def load(store: SettingStore) -> Notifications:
    raw = store.get(KEY)
    if raw is None:
        return _from_old(store)
    try:
        data = json.loads(raw)
        return Notifications(
            ntfy=Ntfy(**data.get("ntfy", {})),
            email=Email(**{**data.get("email", {}),
                           "to": tuple(data.get("email", {}).get("to", ()))}),
            webhook=Webhook(**data.get("webhook", {})),
            **{k: data[k] for k in ("requests", "weekly", "weekly_day", "weekly_hour")
               if k in data})
    except (ValueError, TypeError):
        return Notifications()


def _from_old(store: SettingStore) -> Notifications:
    """The single webhook or ntfy address of earlier versions."""
    kind, url = store.get("notify_kind") or "none", store.get("notify_url") or ""
    if kind == "webhook" and url:
        return Notifications(webhook=Webhook(True, url))
    if kind == "ntfy" and url:
        server, _, topic = url.rstrip("/").rpartition("/")
        return Notifications(ntfy=Ntfy(True, server or DEFAULT_NTFY_SERVER, topic))
    return Notifications()


def save(store: SettingStore, settings: Notifications, server_mail: bool = False) -> None:
    """``server_mail``: the configuration file's [smtp] can send when none is set here."""
    check(settings, server_mail)
    data = asdict(settings)
    data["email"]["to"] = list(settings.email.to)
    store.put(KEY, json.dumps(data, sort_keys=True))


def keep_secrets(new: Notifications, old: Notifications) -> Notifications:
    """A form shows no password or token: an empty one means "keep the stored one"."""
    email = new.email if new.email.password else replace(new.email,
                                                          password=old.email.password)
    ntfy = new.ntfy if new.ntfy.token else replace(new.ntfy, token=old.ntfy.token)
    return replace(new, email=email, ntfy=ntfy)


def check(s: Notifications, server_mail: bool = False) -> None:
    """InputError naming the field, for the first problem found."""
    if s.ntfy.enabled or s.ntfy.topic:
        _http_url(s.ntfy.server, "ntfy_server")
        if not _TOPIC.match(s.ntfy.topic):
            raise InputError("ntfy_topic: letters, digits, '-' and '_', at most 64 (for "
                             "example the one kidshield suggests)", field="ntfy_topic")
    if s.email.enabled and (s.email.host or not server_mail):
        if not s.email.host or " " in s.email.host:
            raise InputError("smtp_host: the mail server's name, e.g. smtp.example.com",
                             field="smtp_host")
        if not 1 <= s.email.port <= 65535:
            raise InputError("smtp_port: a port from 1 to 65535 (587 for STARTTLS, 465 for "
                             "TLS)", field="smtp_port")
        if s.email.security not in SECURITY:
            raise InputError("smtp_security: starttls, tls or none", field="smtp_security")
        if not _EMAIL.match(s.email.sender):
            raise InputError("smtp_from: an e-mail address to send from",
                             field="smtp_from")
    if s.email.enabled:
        if not s.email.to:
            raise InputError("smtp_to: at least one address to send to", field="smtp_to")
        for address in s.email.to:
            if not _EMAIL.match(address):
                raise InputError(f"smtp_to: {address!r} is not an e-mail address",
                                 field="smtp_to")
    if s.webhook.enabled:
        _http_url(s.webhook.url, "webhook_url")
    if s.weekly_day not in DAYS:
        raise InputError(f"weekly_day: one of {', '.join(DAYS)}", field="weekly_day")
    if not 0 <= s.weekly_hour <= 23:
        raise InputError("weekly_hour: an hour from 0 to 23", field="weekly_hour")


def _http_url(value: str, name: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{name}: an http:// or https:// address", field=name)


def addresses(text: str) -> tuple[str, ...]:
    """E-mail addresses typed one per line or separated by commas."""
    return tuple(a.strip() for a in re.split(r"[,;\s]+", text) if a.strip())
