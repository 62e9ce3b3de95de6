"""The query log writer: answers hand it compact records and never wait for the disk.

One background thread owns all writes (SQLite allows one writer): it batches log rows,
adds usage minutes, and deletes rows older than the retention period once an hour.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.schema import query_log
from kidshield.storage.sql import SqlUsageStore

log = logging.getLogger("kidshield.querylog")


@dataclass(frozen=True, slots=True)
class QueryRecord:
    ts: datetime
    client: str | None
    profile: str
    name: str
    qtype: str
    action: str
    reason: str
    rule: str | None
    category: str | None
    service: str | None
    upstream: str | None
    latency_ms: float
    rcode: int


@dataclass(frozen=True, slots=True)
class UsageRecord:
    profile: str
    service: str
    day: date
    minutes: float
    at: datetime


class QueryLogWriter:
    def __init__(
        self,
        db: Database,
        retention_days: int,
        clock: Callable[[], datetime],
        batch: int = 1000,
        interval: float = 1.0,
        max_queue: int = 200_000,
    ) -> None:
        self._db = db
        self._usage = SqlUsageStore(db)
        self.retention_days = retention_days
        self._clock = clock
        self._batch = batch
        self._interval = interval
        self._queue: queue.Queue[QueryRecord | UsageRecord | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="kidshield-log", daemon=True)
        self._last_retention = 0.0
        self.dropped = 0
        self.written = 0
        self.deleted = 0
        self._flushed = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: QueryRecord | UsageRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1  # never make an answer wait; count what was lost

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything submitted so far is written (tests, shutdown)."""
        self._flushed.clear()
        self._queue.put(_FLUSH)
        self._flushed.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def run_retention(self) -> int:
        if self.retention_days <= 0:
            return 0
        cutoff = self._clock() - timedelta(days=self.retention_days)
        with self._db.engine.begin() as conn:
            result = conn.execute(sa.delete(query_log).where(query_log.c.ts < cutoff))
        count = int(result.rowcount or 0)
        self.deleted += count
        if count:
            log.info("retention: deleted %d query log rows older than %s", count, cutoff)
        return count

    def _run(self) -> None:
        stop = False
        while not stop:
            rows: list[QueryRecord] = []
            usage: list[UsageRecord] = []
            flush = False
            deadline = time.monotonic() + self._interval
            while len(rows) < self._batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if item is _FLUSH:
                    flush = True
                    break
                if isinstance(item, UsageRecord):
                    usage.append(item)
                else:
                    rows.append(item)
            try:
                self._write(rows, usage)
                if time.monotonic() - self._last_retention > 3600:
                    self._last_retention = time.monotonic()
                    self.run_retention()
            except Exception:  # keep logging alive whatever one batch did
                log.exception("query log write failed; %d rows lost", len(rows))
            if flush:
                self._flushed.set()
        self._flushed.set()

    def _write(self, rows: list[QueryRecord], usage: list[UsageRecord]) -> None:
        if rows:
            with self._db.engine.begin() as conn:
                conn.execute(query_log.insert(), [
                    {"ts": r.ts, "client": r.client, "profile": r.profile, "name": r.name,
                     "qtype": r.qtype, "action": r.action, "reason": r.reason, "rule": r.rule,
                     "category": r.category, "service": r.service, "upstream": r.upstream,
                     "latency_ms": r.latency_ms, "rcode": r.rcode}
                    for r in rows
                ])
            self.written += len(rows)
        for u in usage:
            self._usage.add_minutes(u.profile, u.service, u.day, u.minutes, u.at)


_FLUSH: QueryRecord = QueryRecord(datetime.min, None, "", "", "", "", "", None, None, None, None,
                                  0.0, 0)
