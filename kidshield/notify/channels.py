"""The channels: each takes a ``Message`` and delivers it to one target or raises
``DeliveryError`` saying why not."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal, Protocol

import httpx

from kidshield.errors import KidshieldError

log = logging.getLogger("kidshield.notify")

Priority = Literal["default", "high", "urgent"]
TIMEOUT = 10.0  # seconds per delivery: an alert must not wait on a dead receiver for long

# ntfy's priority header takes 1..5; 5 ("max") makes phones ring through do-not-disturb.
_NTFY_PRIORITY = {"default": "3", "high": "4", "urgent": "5"}


class DeliveryError(KidshieldError):
    """A notification could not be delivered (the receiver refused it or was unreachable)."""


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    link: str = ""
    priority: Priority = "default"
    tags: tuple[str, ...] = ()
    event: str = "notice"  # machine-readable kind, for webhooks
    payload: dict[str, Any] = field(default_factory=dict)  # extra JSON for webhooks
    html: str | None = None  # e-mail: an HTML version beside the text (a weekly summary)


class Channel(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def target(self) -> str: ...

    def send(self, message: Message) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    kind: str
    target: str
    ok: bool
    error: str = ""


def _post(url: str, transport: httpx.BaseTransport | None, **kwargs: Any) -> None:
    try:
        with httpx.Client(timeout=TIMEOUT, transport=transport) as client:
            response = client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{url}: {exc or type(exc).__name__}") from None
    if not response.is_success:
        raise DeliveryError(f"{url}: HTTP {response.status_code}")


def _header_text(text: str) -> str:
    if text.isascii():
        return text
    return Header(text, "utf-8").encode(maxlinelen=10_000)


@dataclass(frozen=True, slots=True)
class NtfyChannel:
    """An ntfy topic URL (self-hosted or public): the body is the text, headers carry the
    title, priority, tags and the link a tap opens."""

    url: str
    token: str = ""
    transport: httpx.BaseTransport | None = None
    kind: str = "ntfy"

    @property
    def target(self) -> str:
        return self.url

    def send(self, message: Message) -> None:
        headers = {
            # HTTP headers are ASCII: a title in another script (a child named Zoë or محمد)
            # goes RFC 2047-encoded, which ntfy decodes
            "Title": _header_text(message.title),
            "Priority": _NTFY_PRIORITY[message.priority],
        }
        if message.tags:
            headers["Tags"] = ",".join(message.tags)
        if message.link:
            headers["Click"] = message.link
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        _post(self.url, self.transport, content=message.body.encode("utf-8"), headers=headers)


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """POST JSON ``{event, title, text, link, priority, ...payload}`` to a URL (chat bridges,
    paging services, a hotline's own case system)."""

    url: str
    transport: httpx.BaseTransport | None = None
    kind: str = "webhook"

    @property
    def target(self) -> str:
        return self.url

    def send(self, message: Message) -> None:
        body = {"event": message.event, "title": message.title, "text": message.body,
                "link": message.link, "priority": message.priority, **message.payload}
        _post(self.url, self.transport, json=body)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: str = ""
    sender: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """One recipient address through the configured SMTP server."""

    smtp: SmtpSettings
    to: str
    kind: str = "email"

    @property
    def target(self) -> str:
        return self.to

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.smtp.sender
        mail["To"] = self.to
        mail["Subject"] = message.title
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.smtp.sender.rpartition("@")[2] or None)
        if message.priority == "urgent":
            mail["Importance"] = "high"
            mail["X-Priority"] = "1"
        text = message.body + (f"\n\n{message.link}\n" if message.link else "\n")
        mail.set_content(text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        try:
            self._deliver(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"mail to {self.to} via {self.smtp.host}:{self.smtp.port}: "
                                f"{exc}") from None

    def _deliver(self, mail: EmailMessage) -> None:
        s = self.smtp
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
        with client:
            if s.security == "starttls":
                client.starttls(context=context)
            if s.username:
                client.login(s.username, s.password)
            client.send_message(mail)


def _one(channel: Channel, message: Message) -> Delivery:
    try:
        channel.send(message)
    except DeliveryError as exc:
        log.warning("notification (%s) failed: %s", channel.kind, exc)
        return Delivery(channel.kind, channel.target, False, str(exc))
    return Delivery(channel.kind, channel.target, True)


def deliver(channels: Iterable[Channel], message: Message, *,
            parallel: bool = False) -> list[Delivery]:
    """Send ``message`` through every channel; one failing never stops the others. The
    result says, per channel, whether it went through (for the audit trail), in channel
    order. ``parallel``: all at once, so a receiver that hangs until the timeout does not
    hold back the others (for alerts that must arrive within seconds)."""
    items = list(channels)
    if not parallel or len(items) < 2:
        return [_one(channel, message) for channel in items]
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="notify") as pool:
        return list(pool.map(lambda channel: _one(channel, message), items))
