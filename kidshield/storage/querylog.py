"""The query log writer: answers hand it compact records and never wait for the disk.

One background thread owns all writes (SQLite allows one writer): it batches log rows,
stores the minutes used (one transaction per batch, which moves the usage version every node
watches), and deletes log rows and used minutes older than the retention period once an
hour.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from kidshield.storage.db import Database
from kidshield.storage.schema import query_log, usage_minutes
from kidshield.storage.state_sql import SqlStateStore

log = logging.getLogger("kidshield.querylog")


# A log row is a plain tuple in this column order: at tens of thousands of queries a second,
# building objects per row would cost more than writing them.
QUERY_LOG_COLUMNS = (
    "ts", "client", "profile", "name", "qtype", "action", "reason", "rule", "category",
    "service", "upstream", "latency_ms", "rcode", "count",
)
QueryRow = tuple[float, str | None, str, str, str, str, str, str | None, str | None,
                 str | None, str | None, float, int, int]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A minute a profile used a service: ``minute`` of its local ``day``."""

    profile: str
    service: str
    day: date
    minute: int


WRITE_CHUNK = 200

class _Flush:
    """Marker: everything queued before it has been written."""


_FLUSH = _Flush()
_Item = tuple[Callable[[], list[QueryRow]], int] | UsageRecord | _Flush | None
# Rows handed over and not yet written (a slow SD card, a locked database): beyond this many,
# more are dropped and counted (``dropped``) rather than held, about 300 bytes each.
MAX_PENDING_ROWS = 100_000


class QueryLogWriter:
    def __init__(
        self,
        db: Database,
        retention_days: int,
        clock: Callable[[], datetime],
        batch: int = 1000,
        interval: float = 1.0,
        max_queue: int = 200_000,
        max_pending_rows: int = MAX_PENDING_ROWS,
    ) -> None:
        self._db = db
        self._state = SqlStateStore(db)
        self.retention_days = retention_days
        self._clock = clock
        self._batch = batch
        self._interval = interval
        self._queue: queue.Queue[_Item] = queue.Queue(max_queue)
        self.max_pending_rows = max_pending_rows
        self.pending_rows = 0  # submitted, not yet built and written
        self._pending_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="kidshield-log", daemon=True)
        self._last_retention = 0.0
        self.dropped = 0
        self.written = 0
        self.deleted = 0
        self._flushed = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: UsageRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def submit_later(self, build: Callable[[], list[QueryRow]], rows: int = 1) -> None:
        """Hand over a function that builds ``rows`` rows; it runs in the writer's thread."""
        with self._pending_lock:
            if self.pending_rows + rows > self.max_pending_rows:
                self.dropped += rows
                return
            self.pending_rows += rows
        try:
            self._queue.put_nowait((build, rows))
        except queue.Full:
            with self._pending_lock:
                self.pending_rows -= rows
            self.dropped += rows

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
        cutoff_at = self._clock() - timedelta(days=self.retention_days)
        cutoff = cutoff_at.timestamp()
        # minutes used go with the log they were counted from (today's budgets need at most
        # two days of them, whatever the retention)
        first_day = min(cutoff_at.date(), self._clock().date() - timedelta(days=2))
        with self._db.engine.begin() as conn:
            result = conn.execute(sa.delete(query_log).where(query_log.c.ts < cutoff))
            conn.execute(sa.delete(usage_minutes).where(usage_minutes.c.day < first_day))
        count = int(result.rowcount or 0)
        self.deleted += count
        if count:
            log.info("retention: deleted %d query log rows older than %d days", count,
                     self.retention_days)
        return count

    def _run(self) -> None:
        stop = False
        while not stop:
            rows: list[QueryRow] = []
            usage: list[UsageRecord] = []
            flush = False
            deadline = time.monotonic() + self._interval
            while len(rows) < self._batch * 20:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item, _Flush):
                    flush = True
                    break
                if isinstance(item, UsageRecord):
                    usage.append(item)
                else:
                    build, count = item
                    try:
                        rows.extend(build())
                    except Exception:
                        log.exception("building query log rows failed")
                    with self._pending_lock:
                        self.pending_rows -= count
            written = self.written
            try:
                self._write(rows, usage)
            except Exception as exc:  # keep logging alive whatever one batch did
                # rows lost to a full disk, a read-only file or a lock held by another
                # program are counted with those the queue had no room for: the metric
                # is where an operator sees that the log has gaps
                lost = len(rows) - (self.written - written)
                self.dropped += lost
                self._failed(exc, f"query log write failed; {lost} rows lost "
                             "(kidshield_querylog_rows_dropped_total)")
            if time.monotonic() - self._last_retention > 3600:
                self._last_retention = time.monotonic()
                try:
                    self.run_retention()
                except Exception as exc:
                    self._failed(exc, "query log retention failed; it runs again in an hour")
            if flush:
                self._flushed.set()
        self._flushed.set()

    @staticmethod
    def _failed(exc: Exception, what: str) -> None:
        # the database's own complaint (disk full, locked, read-only) is the whole story and
        # comes again every batch while it lasts: one line, not a traceback each time
        if isinstance(exc, OperationalError):
            log.error("%s: %s", what, exc.orig)
        else:
            log.exception(what)

    def _write(self, rows: list[QueryRow], usage: list[UsageRecord]) -> None:
        # Small transactions with a pause between them: the DNS answers run in another thread
        # of this process and must get the interpreter back within about a millisecond. One
        # multi-row INSERT per chunk, not executemany: the driver hands the interpreter over
        # around every statement it steps, and each hand-over stalls the answering thread.
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            with self._db.engine.begin() as conn:
                sql = self._insert_sql(conn.dialect.paramstyle, len(chunk))
                conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))
            self.written += len(chunk)
            if start + WRITE_CHUNK < len(rows):
                time.sleep(0.002)
        self._state.add_minutes({(u.profile, u.service, u.day, u.minute) for u in usage})

    @staticmethod
    @functools.cache
    def _insert_sql(paramstyle: str, rows: int) -> str:
        mark = "?" if paramstyle == "qmark" else "%s"
        one = "(" + ", ".join([mark] * len(QUERY_LOG_COLUMNS)) + ")"
        return (f"INSERT INTO query_log ({', '.join(QUERY_LOG_COLUMNS)}) VALUES "
                + ", ".join([one] * rows))
