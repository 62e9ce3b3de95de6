"""The query log writer holds a bounded number of rows it has not written yet: when the disk
falls behind (an SD card, a locked database), further rows are dropped and counted instead of
growing the resolver (issue 17 item 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.querylog import QueryLogWriter, QueryRow
from kidshield.storage.schema import query_log

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def rows(n: int, name: str) -> list[QueryRow]:
    return [(NOW.timestamp(), None, "kid", f"{i}.{name}", "A", "allow", "allowed", None, None,
             None, None, 1.0, 0, 1) for i in range(n)]


def test_rows_beyond_the_pending_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    db = Database.open(str(tmp_path / "kidshield.db"))
    writer = QueryLogWriter(db, 7, lambda: NOW, max_pending_rows=1_000)
    try:
        # the writer's thread is not running yet: nothing is written, all of it is held
        writer.submit_later(lambda: rows(600, "first.example"), 600)
        writer.submit_later(lambda: rows(600, "second.example"), 600)  # over the bound
        assert (writer.pending_rows, writer.dropped) == (600, 600)
        writer.start()
        writer.flush()
        assert (writer.written, writer.pending_rows) == (600, 0)
        writer.submit_later(lambda: rows(900, "third.example"), 900)  # room again
        writer.flush()
        with db.engine.connect() as conn:
            names = [r.name for r in conn.execute(sa.select(query_log.c.name))]
        assert len(names) == 1_500
        assert not any(name.endswith("second.example") for name in names)
    finally:
        writer.close()
        db.close()
