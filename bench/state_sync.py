"""What keeping up with other nodes costs one kidshield server: ``StateSource.sync`` when
nothing changed (one read of the version rows), and after another node stored a minute (the
usage version moved; 1,500 minutes stored today: five children online for five hours).

    python bench/state_sync.py                 # SQLite in a temporary folder
    python bench/state_sync.py --postgres      # also a throwaway PostgreSQL (tests/postgres.py)

Results and the machine they were taken on: docs/storage.md ("Several servers on one
database")."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kidshield.clock import FixedClock
from kidshield.policy.state import Grant
from kidshield.state import StateSource
from kidshield.storage.db import Database
from kidshield.storage.state_sql import SqlStateStore

NOW = datetime.now(UTC)
ROUNDS = 500


def measure(url: str, label: str) -> None:
    db = Database.open(url)
    store = SqlStateStore(db)
    for i in range(20):
        store.add_grant(Grant(f"p{i % 5}", f"d{i}.example", NOW + timedelta(hours=1)), NOW)
    store.add_minutes({(f"p{i}", "youtube", NOW.date(), m) for i in range(5) for m in range(300)})
    state = StateSource(store, FixedClock(NOW))
    state.load()
    start = time.perf_counter()
    for _ in range(ROUNDS):
        state.sync()
    idle = (time.perf_counter() - start) / ROUNDS * 1e3
    moved = 0.0
    for minute in range(100):
        store.add_minutes({("p0", "youtube", NOW.date(), 1000 + minute)})  # another node
        start = time.perf_counter()
        state.sync()
        moved += time.perf_counter() - start
    print(f"{label}: idle sync {idle:.2f} ms; sync after another node stored a minute "
          f"{moved / 100 * 1e3:.1f} ms")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(f"{folder}/kidshield.db", "SQLite")
    if args.postgres:
        from tests.postgres import running_cluster

        with running_cluster() as cluster:
            measure(cluster.new_database(), "PostgreSQL")


if __name__ == "__main__":
    main()
