from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.safety.media.banks import BankService
from kidshield.storage.db import Database
from kidshield.storage.media_sql import SqlMediaBankStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "kidshield.db")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> SqlMediaBankStore:
    return SqlMediaBankStore(db)


@pytest.fixture
def service(store: SqlMediaBankStore, clock: FixedClock) -> BankService:
    return BankService(store, clock, index_background=False)
