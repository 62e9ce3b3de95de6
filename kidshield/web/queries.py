"""Read-only views of the query log for the dashboard, the API and the child page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.schema import query_log

INTERNAL_REASONS = ("canary", "ddr", "refused_acl", "malformed")


@dataclass(frozen=True, slots=True)
class RecentBlock:
    name: str
    reason: str
    category: str | None
    last: datetime
    count: int


def recent_blocks(db: Database, profile: str, since: datetime, limit: int = 20) -> list[
        RecentBlock]:
    q = (sa.select(query_log.c.name, sa.func.max(query_log.c.reason).label("reason"),
                   sa.func.max(query_log.c.category).label("category"),
                   sa.func.max(query_log.c.ts).label("last"),
                   sa.func.sum(query_log.c.count).label("n"))
         .where(query_log.c.profile == profile, query_log.c.action == "block",
                query_log.c.ts >= since.timestamp(),
                query_log.c.reason.not_in(INTERNAL_REASONS))
         .group_by(query_log.c.name).order_by(sa.desc("last")).limit(limit))
    with db.engine.connect() as conn:
        return [RecentBlock(r.name, r.reason, r.category,
                            datetime.fromtimestamp(r.last, since.tzinfo), int(r.n))
                for r in conn.execute(q)]


@dataclass(frozen=True, slots=True)
class LogFilter:
    q: str = ""
    profile: str = ""
    action: str = ""
    reason: str = ""
    since_hours: int = 24
    limit: int = 100
    offset: int = 0


def search_log(db: Database, f: LogFilter, now: datetime) -> list[dict[str, Any]]:
    q = sa.select(query_log).where(query_log.c.ts >= (now - timedelta(hours=f.since_hours))
                                   .timestamp())
    if f.q:
        q = q.where(query_log.c.name.contains(f.q.strip().lower(), autoescape=True))
    if f.profile:
        q = q.where(query_log.c.profile == f.profile)
    if f.action:
        q = q.where(query_log.c.action == f.action)
    if f.reason:
        q = q.where(query_log.c.reason == f.reason)
    q = q.order_by(query_log.c.ts.desc(), query_log.c.id.desc()).limit(f.limit).offset(f.offset)
    with db.engine.connect() as conn:
        rows = []
        for r in conn.execute(q):
            row = r._asdict()
            row["at"] = datetime.fromtimestamp(row.pop("ts"), now.tzinfo).isoformat(
                timespec="seconds")
            rows.append(row)
        return rows


@dataclass(frozen=True, slots=True)
class Overview:
    hours: list[datetime]
    per_profile: dict[str, tuple[list[int], list[int]]]  # profile -> (queries, blocks) per hour
    by_reason: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    top_blocked: list[tuple[str, int]]
    totals: dict[str, tuple[int, int]]  # profile -> (queries, blocks) today


def overview(db: Database, now: datetime, hours: int = 24) -> Overview:
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    bucket = sa.cast((query_log.c.ts - start.timestamp()) / 3600, sa.Integer).label("b")
    blocked = sa.case((query_log.c.action == "block", query_log.c.count), else_=0)
    since = query_log.c.ts >= start.timestamp()
    visible = query_log.c.reason.not_in(INTERNAL_REASONS)
    per: dict[str, tuple[list[int], list[int]]] = {}
    totals: dict[str, tuple[int, int]] = {}
    with db.engine.connect() as conn:
        for r in conn.execute(sa.select(query_log.c.profile, bucket,
                                        sa.func.sum(query_log.c.count).label("n"),
                                        sa.func.sum(blocked).label("blocked"))
                              .where(since, visible).group_by(query_log.c.profile, bucket)):
            series = per.setdefault(r.profile, ([0] * hours, [0] * hours))
            if 0 <= r.b < hours:
                series[0][r.b] += int(r.n)
                series[1][r.b] += int(r.blocked)
        for pid, (queries, blocks) in per.items():
            totals[pid] = (sum(queries), sum(blocks))

        def top(column: Any, limit: int = 8) -> list[tuple[str, int]]:
            q = (sa.select(column.label("k"), sa.func.sum(query_log.c.count).label("n"))
                 .where(since, visible, query_log.c.action == "block", column.is_not(None))
                 .group_by(column).order_by(sa.desc("n")).limit(limit))
            return [(str(r.k), int(r.n)) for r in conn.execute(q)]

        return Overview([start + timedelta(hours=i) for i in range(hours)], per,
                        top(query_log.c.reason), top(query_log.c.category),
                        top(query_log.c.name, 10), totals)
