"""A week in a child's online life, for their parent: queries and blocks per day, what was
blocked and why, time used against each daily budget, questions asked and how they were
answered. The dashboard shows it as a page (/summary/<child>) and kidshield sends it by
e-mail (and a short ntfy note) once a week, at the day and hour set in Settings.

The figures come from the query log, the usage minutes and the requests, read for one window
of local days; ``when_due`` is pure (the clock is passed in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from kidshield.errors import InputError
from kidshield.notifications.settings import DAYS, Notifications
from kidshield.policy.model import Profile
from kidshield.state.store import AccessRequest
from kidshield.storage.db import Database
from kidshield.storage.schema import query_log

# reasons that are the resolver's housekeeping, not something a parent needs to read about
HIDDEN_REASONS = ("canary", "ddr", "refused_acl", "malformed", "rate_limited")


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    queries: int
    blocks: int
    night: int  # blocked by bedtime: the device was in use when it should not be


@dataclass(frozen=True, slots=True)
class Usage:
    service: str
    name: str
    minutes: float  # over the week
    budget: int | None  # minutes a day
    days_over: int  # days the budget was used up


@dataclass(frozen=True, slots=True)
class WeeklySummary:
    profile: str
    name: str
    band: str
    start: date  # first local day
    end: date  # last local day
    days: tuple[Day, ...]
    by_reason: tuple[tuple[str, int], ...]
    by_category: tuple[tuple[str, int], ...]
    top_blocked: tuple[tuple[str, int], ...]
    usage: tuple[Usage, ...]
    requests: tuple[AccessRequest, ...]

    @property
    def queries(self) -> int:
        return sum(d.queries for d in self.days)

    @property
    def blocks(self) -> int:
        return sum(d.blocks for d in self.days)

    @property
    def night(self) -> int:
        return sum(d.night for d in self.days)

    @property
    def allowed_requests(self) -> int:
        return sum(1 for r in self.requests if r.status == "allowed")

    @property
    def declined_requests(self) -> int:
        return sum(1 for r in self.requests if r.status == "declined")


UsageReader = Callable[[str, date], Mapping[str, float]]  # profile, day -> service minutes
RequestReader = Callable[[str, datetime], Sequence[AccessRequest]]  # profile, since


# The earliest last day of a week a parent may ask for: the query log counts time from 1970,
# and a day near year 1 leaves datetime's range once the week or a time zone is taken off it
# (GET /summary/mia?end=0001-01-01 was a 500; found on the family walk, session 16)
EARLIEST_END = date(1970, 1, 7)


def week_to(end: date) -> tuple[date, date]:
    """The first and the last local day of the week that ends on ``end``."""
    if end < EARLIEST_END:
        raise InputError(f"end: a day from {EARLIEST_END.isoformat()} on", field="end")
    return end - timedelta(days=6), end


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def build(db: Database, profile: Profile, band: str, start: date, end: date,
          service_names: Mapping[str, str], usage: UsageReader,
          requests: RequestReader, until: datetime | None = None) -> WeeklySummary:
    """The summary for ``profile`` over the local days ``start`` to ``end`` (both included);
    ``until`` cuts the last day short (a summary sent at 18:00 covers the day so far)."""
    tz = profile.tz
    since = local_midnight(start, tz)
    stop = local_midnight(end + timedelta(days=1), tz)
    if until is not None:  # up to and with the second ``until`` is in
        stop = min(stop, until + timedelta(seconds=1))
    window = sa.and_(query_log.c.profile == profile.id,
                     query_log.c.ts >= since.timestamp(), query_log.c.ts < stop.timestamp(),
                     query_log.c.reason.not_in(HIDDEN_REASONS))
    blocked = query_log.c.action == "block"
    per_day: dict[date, list[int]] = {start + timedelta(days=i): [0, 0, 0]
                                      for i in range((end - start).days + 1)}
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(query_log.c.ts, query_log.c.action, query_log.c.reason,
                                      query_log.c.count.label("n")).where(window))
        for r in rows:
            day = datetime.fromtimestamp(r.ts, tz).date()
            figures = per_day.get(day)
            if figures is None:
                continue
            figures[0] += r.n
            if r.action == "block":
                figures[1] += r.n
                if r.reason == "bedtime":
                    figures[2] += r.n

        def top(column: sa.ColumnElement[str], limit: int) -> tuple[tuple[str, int], ...]:
            q = (sa.select(column.label("k"), sa.func.sum(query_log.c.count).label("n"))
                 .where(window, blocked, column.is_not(None)).group_by(column)
                 .order_by(sa.desc("n"), column).limit(limit))
            return tuple((str(r.k), int(r.n)) for r in conn.execute(q))

        by_reason = top(query_log.c.reason, 10)
        by_category = top(query_log.c.category, 10)
        top_blocked = top(query_log.c.name, 10)
    used: dict[str, float] = {}
    over: dict[str, int] = {}
    for day in per_day:
        for service, minutes in usage(profile.id, day).items():
            used[service] = used.get(service, 0.0) + minutes
            budget = profile.budgets.get(service)
            if budget is not None and minutes >= budget:
                over[service] = over.get(service, 0) + 1
    services = sorted(set(used) | set(profile.budgets))
    asked = [r for r in requests(profile.id, since) if r.created_at < stop]
    return WeeklySummary(
        profile.id, profile.name, band, start, end,
        tuple(Day(d, *f) for d, f in per_day.items()), by_reason, by_category, top_blocked,
        tuple(Usage(s, service_names.get(s, s), round(used.get(s, 0.0), 1),
                    profile.budgets.get(s), over.get(s, 0)) for s in services),
        tuple(asked))


def last_due(settings: Notifications, now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent moment a weekly summary was due (the day and hour in Settings, in
    the server's time zone), at or before ``now``."""
    local = now.astimezone(tz)
    weekday = DAYS.index(settings.weekly_day)
    back = (local.weekday() - weekday) % 7
    due = datetime.combine(local.date() - timedelta(days=back),
                           time(settings.weekly_hour, 0), tzinfo=tz)
    if due > local:
        due -= timedelta(days=7)
    return due


def when_due(settings: Notifications, now: datetime, tz: ZoneInfo,
             last_sent: date | None) -> datetime | None:
    """The moment whose summary should be sent now, or None (turned off, no channel, or
    this week's was sent)."""
    if not settings.weekly or not settings.any_channel:
        return None
    due = last_due(settings, now, tz)
    if last_sent is not None and last_sent >= due.date():
        return None
    if now - due > timedelta(days=1):
        return None  # the server was off when it was due: wait for next week's
    return due
