"""Delivering a notice on every channel a parent set up: ntfy (JSON published to the server,
so titles in any language arrive intact), e-mail (SMTP with STARTTLS or TLS, plain text and
HTML), and a webhook (JSON). Failures are logged and reported per channel, never shown to
a child; nothing waits on a slow server for more than a few seconds."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from kidshield.notifications.settings import Email, Notifications, Ntfy, Webhook

log = logging.getLogger("kidshield.notifications")
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Notice:
    event: str  # "access_request", "weekly_summary", "test"
    title: str
    text: str
    link: str  # an absolute address in the dashboard
    payload: dict[str, object] = field(default_factory=dict)
    html: str | None = None  # for e-mail; the text alone when None
    priority: int = 3  # ntfy: 1 (min) to 5 (max)


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str  # "ntfy", "email", "webhook"
    ok: bool
    error: str = ""


async def deliver(settings: Notifications, notice: Notice,
                  transport: httpx.AsyncBaseTransport | None = None,
                  channels: tuple[str, ...] = ("ntfy", "email", "webhook")) -> list[Delivery]:
    """Send ``notice`` on each enabled channel in ``channels``, all at once."""
    jobs = []
    if "ntfy" in channels and settings.ntfy.enabled:
        jobs.append(_guard("ntfy", send_ntfy(settings.ntfy, notice, transport)))
    if "email" in channels and settings.email.enabled:
        jobs.append(_guard("email", asyncio.to_thread(send_email, settings.email, notice)))
    if "webhook" in channels and settings.webhook.enabled:
        jobs.append(_guard("webhook", send_webhook(settings.webhook, notice, transport)))
    return list(await asyncio.gather(*jobs))


async def _guard(channel: str, job: object) -> Delivery:
    try:
        await job  # type: ignore[misc]
    except (httpx.HTTPError, OSError, smtplib.SMTPException, ChannelError) as exc:
        reason = str(exc) or type(exc).__name__
        log.warning("notification by %s failed: %s", channel, reason)
        return Delivery(channel, False, reason)
    return Delivery(channel, True)


class ChannelError(Exception):
    """The receiving server answered, but refused the notice."""


async def send_ntfy(ntfy: Ntfy, notice: Notice,
                    transport: httpx.AsyncBaseTransport | None = None) -> None:
    headers = {"Authorization": f"Bearer {ntfy.token}"} if ntfy.token else {}
    body = {"topic": ntfy.topic, "title": notice.title, "message": notice.text,
            "click": notice.link, "tags": ["kidshield"], "priority": notice.priority}
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        response = await client.post(ntfy.server.rstrip("/") + "/", json=body, headers=headers)
    if not response.is_success:
        raise ChannelError(f"{ntfy.server} answered HTTP {response.status_code}")


async def send_webhook(hook: Webhook, notice: Notice,
                       transport: httpx.AsyncBaseTransport | None = None) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as client:
        response = await client.post(hook.url, json={
            "event": notice.event, "title": notice.title, "text": notice.text,
            "link": notice.link, **notice.payload})
    if not response.is_success:
        raise ChannelError(f"the webhook answered HTTP {response.status_code}")


def message(email: Email, notice: Notice) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = notice.title
    msg["From"] = email.sender
    msg["To"] = ", ".join(email.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(f"{notice.text}\n\n{notice.link}\n")
    if notice.html is not None:
        msg.add_alternative(notice.html, subtype="html")
    return msg


def send_email(email: Email, notice: Notice) -> None:
    """Blocking: run it in a thread. STARTTLS and TLS check the server's certificate."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if email.security == "tls":
        smtp = smtplib.SMTP_SSL(email.host, email.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(email.host, email.port, timeout=TIMEOUT)
    with smtp:
        if email.security == "starttls":
            smtp.starttls(context=context)
        if email.username:
            smtp.login(email.username, email.password)
        smtp.send_message(message(email, notice))
