"""Tell parents about a child's request: a webhook (POST JSON) or an ntfy-style topic URL
(POST plain text with a Title header). Failures are logged, never shown to the child."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import httpx

log = logging.getLogger("kidshield.web.notify")

Kind = Literal["none", "webhook", "ntfy"]


@dataclass(frozen=True, slots=True)
class NotifySettings:
    kind: Kind = "none"
    url: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    text: str
    link: str
    payload: dict[str, object]


async def send(settings: NotifySettings, notice: Notice,
               transport: httpx.AsyncBaseTransport | None = None) -> bool:
    """Deliver ``notice``; True when the receiver accepted it (2xx)."""
    if settings.kind == "none" or not settings.url:
        return False
    try:
        async with httpx.AsyncClient(timeout=5.0, transport=transport) as client:
            if settings.kind == "webhook":
                response = await client.post(settings.url, json={
                    "event": "access_request", "title": notice.title, "text": notice.text,
                    "link": notice.link, **notice.payload})
            else:
                response = await client.post(
                    settings.url, content=notice.text.encode(),
                    headers={"Title": notice.title.encode("ascii", "replace").decode(),
                             "Click": notice.link, "Tags": "kidshield"})
    except httpx.HTTPError as exc:
        log.warning("notification to %s failed: %s", settings.url, exc)
        return False
    if response.is_success:
        return True
    log.warning("notification to %s failed: HTTP %d", settings.url, response.status_code)
    return False
