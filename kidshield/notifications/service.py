"""The notifier the web app uses: it knows the channels a parent set up (delivered by
``kidshield.notify``, shared with the report desk's alerts), where the dashboard is (for the
links in each notice) and how to read what a weekly summary needs. One instance lives in the
web context; the application's weekly job calls ``send_weekly_due``.

E-mail goes through the mail server set in Settings, or else the configuration file's
``[smtp]`` (the same server the report desk uses)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment

from kidshield.clock import Clock
from kidshield.notifications import settings as stored
from kidshield.notifications import weekly
from kidshield.notifications.settings import Notifications
from kidshield.notify import (
    Channel,
    Delivery,
    EmailChannel,
    Message,
    NtfyChannel,
    SmtpSettings,
    WebhookChannel,
    deliver,
)
from kidshield.policy.model import Profile
from kidshield.state.store import AccessRequest
from kidshield.storage.db import Database
from kidshield.storage.protocols import SettingStore

log = logging.getLogger("kidshield.notifications")


@dataclass
class SummarySources:
    """Where a summary's figures come from (the web context fills it)."""

    db: Database
    profiles: Callable[[], Mapping[str, Profile]]
    service_names: Callable[[], Mapping[str, str]]
    usage: weekly.UsageReader
    requests: weekly.RequestReader
    timezone: Callable[[], ZoneInfo]  # the server's (the weekly hour is in it)


class Notifier:
    def __init__(self, store: SettingStore, clock: Clock, link_base: Callable[[], str],
                 sources: SummarySources, templates: Environment,
                 file_smtp: Callable[[], SmtpSettings | None] = lambda: None) -> None:
        self.store = store
        self.clock = clock
        self.link_base = link_base
        self.sources = sources
        self.templates = templates
        self.file_smtp = file_smtp  # the configuration file's [smtp], when it has one
        self.background: set[asyncio.Task[list[Delivery]]] = set()

    def settings(self) -> Notifications:
        return stored.load(self.store)

    def link(self, path: str) -> str:
        return self.link_base().rstrip("/") + path

    def smtp(self, settings: Notifications) -> SmtpSettings | None:
        """The mail server: the one set in Settings, else the configuration file's."""
        e = settings.email
        if e.host:
            return SmtpSettings(e.host, e.port, e.security, e.username, e.password, e.sender)
        return self.file_smtp()

    def channels(self, settings: Notifications) -> list[Channel]:
        found: list[Channel] = []
        if settings.ntfy.enabled and settings.ntfy.topic:
            found.append(NtfyChannel(settings.ntfy.url, settings.ntfy.token))
        smtp = self.smtp(settings)
        if settings.email.enabled and smtp is not None:
            found += [EmailChannel(smtp, to) for to in settings.email.to]
        if settings.webhook.enabled and settings.webhook.url:
            found.append(WebhookChannel(settings.webhook.url))
        return found

    async def send(self, notice: Message,
                   settings: Notifications | None = None) -> list[Delivery]:
        """Every channel at once, off the event loop (delivery blocks, bounded in time)."""
        chosen = self.channels(settings or self.settings())
        return await asyncio.to_thread(deliver, chosen, notice, parallel=True)

    def send_soon(self, notice: Message) -> None:
        """Deliver in the background: a child's page never waits on a mail server."""
        task = asyncio.ensure_future(self.send(notice))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- events -----------------------------------------------------------------------------
    def access_request(self, profile: Profile, request: AccessRequest) -> None:
        settings = self.settings()
        if not settings.requests or not settings.any_channel:
            return
        asked = f"{profile.name} asks to open {request.domain}"
        self.send_soon(Message(
            f"{profile.name} asks for {request.domain}",
            asked + (f': "{request.message}"' if request.message else "") +
            ". Answer in the dashboard.", self.link("/requests"), "high", ("kidshield",),
            "access_request", {"id": request.id, "profile": profile.id,
                               "domain": request.domain, "reason": request.reason,
                               "message": request.message}))

    async def test(self, settings: Notifications | None = None) -> list[Delivery]:
        return await self.send(Message(
            "kidshield: test notification",
            "Notifications from kidshield work. You will hear here when a child asks for a "
            "site, and get a weekly summary.", self.link("/settings#not-h"),
            tags=("kidshield",), event="test", payload={"test": True}), settings)

    # -- weekly summaries -------------------------------------------------------------------
    def summary(self, profile: Profile, start: date, end: date,
                until: datetime | None = None) -> weekly.WeeklySummary:
        now = self.clock.now()
        s = self.sources
        return weekly.build(s.db, profile, profile.band_at(now).label, start, end,
                            s.service_names(), s.usage, s.requests, until)

    def summary_notice(self, summary: weekly.WeeklySummary) -> Message:
        link = self.link(f"/summary/{summary.profile}?end={summary.end.isoformat()}")
        text = (f"{summary.name}, {summary.start:%d %b} to {summary.end:%d %b}: "
                f"{summary.queries} sites looked up, {summary.blocks} blocked"
                + (f", {summary.night} at bedtime" if summary.night else "")
                + (f", {len(summary.requests)} questions" if summary.requests else "") + ".")
        html = self.templates.get_template("email/weekly.html").render(
            s=summary, link=link, _=_english, ngettext=_english_n)
        return Message(f"kidshield: {summary.name}'s week", text, link, "default",
                       ("kidshield",), "weekly_summary",
                       {"profile": summary.profile, "start": summary.start.isoformat(),
                        "end": summary.end.isoformat(), "queries": summary.queries,
                        "blocks": summary.blocks}, html=html)

    def _sent_key(self, pid: str) -> str:
        return f"weekly_sent:{pid}"

    async def send_weekly_due(self) -> int:
        """Send each child's summary when it is due (once per week and child, also after a
        restart); how many were sent."""
        settings = self.settings()
        now = self.clock.now()
        tz = self.sources.timezone()
        sent = 0
        for pid, profile in sorted(self.sources.profiles().items()):
            if profile.oversight_ended(now) or not profile.filtering:
                continue  # no weekly report about an adult, nor a profile that filters nothing
            last = self.store.get(self._sent_key(pid))
            due = weekly.when_due(settings, now, tz, None if last is None
                                  else date.fromisoformat(last))
            if due is None:
                continue
            # mark first: two servers sharing the database must not both send it
            self.store.put(self._sent_key(pid), due.date().isoformat())
            end = due.astimezone(profile.tz).date()
            summary = await asyncio.to_thread(self.summary, profile, end - timedelta(days=6),
                                              end, due)
            results = await self.send(self.summary_notice(summary), settings)
            sent += any(r.ok for r in results)
            for failed in (r for r in results if not r.ok):
                log.warning("weekly summary for %s by %s failed: %s", pid, failed.kind,
                            failed.error)
        return sent


def _english(text: str, **values: object) -> str:
    return text.format(**values) if values else text


def _english_n(singular: str, plural: str, n: int, **values: object) -> str:
    return (singular if n == 1 else plural).format(**values)


def requests_since(list_requests: Callable[..., Sequence[AccessRequest]],
                   ) -> weekly.RequestReader:
    def read(profile: str, since: datetime) -> Sequence[AccessRequest]:
        return list_requests(profile=profile, since=since, limit=500)

    return read
