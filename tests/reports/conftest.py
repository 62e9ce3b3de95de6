from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.reports.lists import OwnLists
from kidshield.reports.service import ReportService
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore


@pytest.fixture
def store(db: Database) -> SqlReportStore:
    return SqlReportStore(db)


@pytest.fixture
def lists(tmp_path: Path) -> OwnLists:
    return OwnLists.in_folder(tmp_path / "data")


@pytest.fixture
def service(store: SqlReportStore, clock: FixedClock, lists: OwnLists) -> ReportService:
    return ReportService(store, clock, lists)
