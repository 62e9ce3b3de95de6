"""The retention schedule: how long each kind of data is kept, and the daily job that deletes
what has expired. The job logs counts per kind, never content (COP-17, COP-24)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kidshield.clock import Clock
from kidshield.reports.evidence import MIN_RETENTION_DAYS
from kidshield.reports.store import AuditRecord, ReportStore

if TYPE_CHECKING:
    from kidshield.config import Config

log = logging.getLogger("kidshield.reports.retention")

# Order matters: cases go before the reports that point at them are judged.
KINDS = ("cases", "reports", "evidence", "query_log", "audit", "drafts")


@dataclass(frozen=True, slots=True)
class RetentionSchedule:
    """Days to keep each kind; 0 keeps it until deleted by hand (not allowed for evidence,
    which is kept at least a year)."""

    reports: int = 365
    cases: int = 730  # counted from when the case closed
    evidence: int = MIN_RETENTION_DAYS
    query_log: int = 7
    audit: int = 730
    drafts: int = 7

    def __post_init__(self) -> None:
        if self.evidence < MIN_RETENTION_DAYS:
            raise ValueError(f"evidence is kept at least {MIN_RETENTION_DAYS} days")

    @classmethod
    def from_config(cls, config: Config) -> RetentionSchedule:
        r = config.reports
        return cls(
            reports=r.reports_retention_days,
            cases=r.cases_retention_days,
            evidence=r.evidence_retention_days,
            query_log=config.logging.retention_days,
            audit=r.audit_retention_days,
            drafts=r.drafts_retention_days,
        )

    def days(self, kind: str) -> int:
        return int(getattr(self, kind))

    def cutoff(self, kind: str, now: datetime) -> datetime | None:
        days = self.days(kind)
        return None if days <= 0 else now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class RetentionRun:
    at: datetime
    dry_run: bool
    deleted: dict[str, int]  # kind -> records deleted (evidence: content purged)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def run_retention(
    store: ReportStore, schedule: RetentionSchedule, now: datetime, *, dry_run: bool = False,
    on_purged: Callable[[list[int]], object] | None = None,
) -> RetentionRun:
    """Delete everything past its time and log counts. Kept whatever their age: cases that
    are open, on legal hold or have an open escalation, with their reports and evidence, and
    a case's audit trail until the case itself is gone. ``on_purged`` is told which evidence
    records lost their content (the service records them in the chain)."""
    deleted: dict[str, int] = {}
    for kind in KINDS:
        cutoff = schedule.cutoff(kind, now)
        if cutoff is None:
            deleted[kind] = 0
        elif kind == "evidence":
            ids = store.purge_evidence(cutoff, now, dry_run=dry_run)
            deleted[kind] = len(ids)
            if ids and not dry_run and on_purged is not None:
                on_purged(ids)
        else:
            deleted[kind] = store.expire(kind, cutoff, now, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    counts = ", ".join(f"{k}={n}" for k, n in deleted.items())
    log.info("retention %s: %s", verb, counts)
    if not dry_run:
        store.audit(AuditRecord(None, now, "retention", "retention", counts))
    return RetentionRun(now, dry_run, deleted)


def next_daily_run(now: datetime, hour: int = 3) -> datetime:
    """The next time the daily job runs (03:00 UTC by default)."""
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


async def retention_loop(
    run: Callable[[], object], clock: Clock, stopped: asyncio.Event
) -> None:
    """Call ``run`` (the service's retention job) once a day at 03:00 UTC until ``stopped`` is
    set (for the long-running server; one-off runs use ``kidshield report retention``)."""
    while not stopped.is_set():
        now = clock.now()
        wait = (next_daily_run(now) - now).total_seconds()
        try:
            await asyncio.wait_for(stopped.wait(), timeout=wait)
            return
        except TimeoutError:
            pass
        try:
            await asyncio.to_thread(run)
        except Exception:  # a failed run is retried tomorrow; the server keeps serving
            log.exception("retention run failed")
