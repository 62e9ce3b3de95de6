"""The SQLite file holds the children's query log, reports and sign-in secrets: on a shared
machine (a school server) other users must not read it. Found on a fresh install's walk
through the README (session 14): `scripts/serve` left kidshield.db, -wal and -shm at 0644."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidshield.storage.db import Database
from tests.e2e.harness import Served


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """Debian's default umask, under which new files are readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_served_database_and_its_wal_are_readable_by_their_owner_alone(
        usual_umask: None, served: Served) -> None:
    served.addresses("example.org")  # a query for the log: SQLite writes its WAL
    served.pump()
    db = Path(served.app.db.where)
    wal = db.with_name(db.name + "-wal")
    assert db.is_file() and wal.is_file()
    assert _mode(db) == 0o600
    assert _mode(wal) & 0o077 == 0


def test_an_existing_database_keeps_its_mode_and_a_world_readable_one_is_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kidshield.db"
    Database.open(path).engine.dispose()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kidshield.storage"):
        Database.open(path).engine.dispose()
    assert _mode(path) == 0o644  # the operator's file is not changed behind their back
    assert f"chmod 600 {path}" in caplog.text
