from __future__ import annotations

import pytest

from kidshield.clock import FixedClock
from kidshield.safety.media.banks import BankService
from kidshield.storage.db import Database
from kidshield.storage.media_sql import SqlMediaBankStore


@pytest.fixture
def store(db: Database) -> SqlMediaBankStore:
    return SqlMediaBankStore(db)


@pytest.fixture
def service(store: SqlMediaBankStore, clock: FixedClock) -> BankService:
    return BankService(store, clock, index_background=False)
