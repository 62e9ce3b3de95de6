from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.reports.lists import OwnLists
from kidshield.reports.service import ReportService
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "kidshield.db")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> SqlReportStore:
    return SqlReportStore(db)


@pytest.fixture
def lists(tmp_path: Path) -> OwnLists:
    return OwnLists.in_folder(tmp_path / "data")


@pytest.fixture
def service(store: SqlReportStore, clock: FixedClock, lists: OwnLists) -> ReportService:
    return ReportService(store, clock, lists)
