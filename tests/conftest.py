"""Fixtures shared by several test packages: a fixed clock, a fresh SQLite database, and the
served application (tests/e2e/fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.storage.db import Database

pytest_plugins = ["tests.e2e.fixtures"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "kidshield.db")
    yield database
    database.close()
