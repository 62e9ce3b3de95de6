"""Several kidshield processes starting at once on one new database (a fleet restarted
together, systemd starting `serve` while a cron job runs `lists update`) all migrate it: one
does the work under the database's lock, the others wait and find it done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kidshield.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
# each process waits at the barrier (a file appearing), so they all start migrating together
MIGRATE = """
import os, sys, time
from kidshield.storage.db import Database, database_url
db = Database(database_url(sys.argv[1]))
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
db.migrate()
print(db.current_revision())
"""


def _migrate_at_once(url: str, folder: Path, processes: int = 4) -> list[tuple[int, str]]:
    barrier = folder / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, url, str(barrier)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    # the imports (alembic, sqlalchemy) take a while: let every process reach the barrier
    import time

    time.sleep(1.5)
    barrier.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out.strip() or err.strip()[-2000:]))
    return results


def test_processes_migrating_a_new_postgresql_database_at_once_all_succeed(
    pg_url: str, tmp_path: Path,
) -> None:
    results = _migrate_at_once(pg_url, tmp_path)
    head = Database.head_revision()
    assert results == [(0, head)] * len(results)


def test_processes_migrating_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    results = _migrate_at_once(str(tmp_path / "kidshield.db"), tmp_path)
    head = Database.head_revision()
    assert results == [(0, head)] * len(results)
