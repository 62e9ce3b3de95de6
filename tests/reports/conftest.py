from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.reports.lists import OwnLists
from kidshield.reports.service import ReportService
from kidshield.reports.signing import EvidenceSigner
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore


@pytest.fixture
def store(db: Database) -> SqlReportStore:
    return SqlReportStore(db)


@pytest.fixture
def lists(tmp_path: Path) -> OwnLists:
    return OwnLists.in_folder(tmp_path / "data")


@pytest.fixture
def signer(tmp_path: Path) -> EvidenceSigner:
    return EvidenceSigner.load_or_create(tmp_path / "data" / "evidence-signing.key")


@pytest.fixture
def service(store: SqlReportStore, clock: FixedClock, lists: OwnLists,
            signer: EvidenceSigner) -> ReportService:
    return ReportService(store, clock, lists, signer=signer)
