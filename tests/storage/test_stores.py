"""Grants, daily usage and list metadata kept in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kidshield.clock import FixedClock
from kidshield.policy.state import Grant
from kidshield.state import StateSource
from kidshield.storage.db import Database
from kidshield.storage.protocols import ListMeta, PauseRecord
from kidshield.storage.sql import SqlGrantStore, SqlListMetaStore, SqlUsageStore
from kidshield.storage.web_sql import SqlPauseStore
from tests.policy.helpers import make_profile

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "ks.db")
    yield database
    database.close()


def test_grant_is_active_until_it_expires(db: Database) -> None:
    store = SqlGrantStore(db)
    g = store.add(Grant("mia", "example.org", NOW + timedelta(hours=1), "mum", "homework"), NOW)
    assert g.id is not None
    [active] = store.active("mia", NOW)
    assert active == g
    assert active.until == NOW + timedelta(hours=1)
    assert active.until is not None and active.until.tzinfo is not None
    assert store.active("mia", NOW + timedelta(minutes=59))
    assert store.active("mia", NOW + timedelta(hours=1)) == []
    assert store.active("leo", NOW) == []


def test_grant_without_end_stays_until_revoked(db: Database) -> None:
    store = SqlGrantStore(db)
    g = store.add(Grant("mia", "example.org", None), NOW)
    assert store.active("mia", NOW + timedelta(days=400)) == [g]
    assert g.id is not None
    assert store.revoke(g.id, NOW) is True
    assert store.revoke(g.id, NOW) is False
    assert store.active("mia", NOW) == []


def test_grants_come_back_in_the_order_they_were_given(db: Database) -> None:
    store = SqlGrantStore(db)
    first = store.add(Grant("mia", "a.example", None), NOW)
    second = store.add(Grant("mia", "b.example", None), NOW)
    assert store.active("mia", NOW) == [first, second]


def test_grant_times_keep_the_instant_whatever_the_zone(db: Database) -> None:
    store = SqlGrantStore(db)
    until = datetime(2026, 11, 29, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    store.add(Grant("mia", "a.example", until), NOW)
    [g] = store.active("mia", NOW)
    assert g.until == until
    assert store.active("mia", until) == []


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        SqlGrantStore(db).add(Grant("mia", "a.example", None), datetime(2026, 1, 1))


def test_usage_accumulates_per_profile_service_and_day(db: Database) -> None:
    store = SqlUsageStore(db)
    today, tomorrow = date(2026, 11, 29), date(2026, 11, 30)
    store.add_minutes("mia", "youtube", today, 10, NOW)
    store.add_minutes("mia", "youtube", today, 2.5, NOW)
    store.add_minutes("mia", "tiktok", today, 1, NOW)
    store.add_minutes("mia", "youtube", tomorrow, 4, NOW)
    store.add_minutes("leo", "youtube", today, 30, NOW)
    assert store.minutes("mia", today) == {"youtube": 12.5, "tiktok": 1.0}
    assert store.minutes("mia", tomorrow) == {"youtube": 4.0}
    assert store.minutes("mia", date(2026, 12, 1)) == {}


def test_state_source_reads_todays_usage_in_the_profiles_time_zone(db: Database) -> None:
    ny = ZoneInfo("America/New_York")
    prof = make_profile(id="mia", tz=ny)
    at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # still 29 November in New York
    usage = SqlUsageStore(db)
    usage.add_minutes("mia", "youtube", date(2026, 11, 29), 42, at)
    usage.add_minutes("mia", "youtube", date(2026, 11, 30), 5, at)
    grants = SqlGrantStore(db)
    grants.add(Grant("mia", "a.example", at + timedelta(minutes=5)), at)
    grants.add(Grant("mia", "b.example", at - timedelta(minutes=5)), at)
    SqlPauseStore(db).set(PauseRecord("mia", at + timedelta(minutes=20), at, "Alex"))
    state = StateSource(db, FixedClock(at))
    state.load([prof])
    ps = state.for_profile(prof, at)
    assert ps.usage_minutes == {"youtube": 42.0}
    assert [g.domain for g in ps.grants] == ["a.example"]
    assert ps.paused_until == at + timedelta(minutes=20)


def test_list_meta_round_trip_and_update(db: Database) -> None:
    store = SqlListMetaStore(db)
    assert store.get("adult") is None
    meta = ListMeta("adult", "https://x/adult.txt", fetched_at=NOW, etag='"v1"', rules=10,
                    status="ok", message="10 rules")
    store.put(meta)
    assert store.get("adult") == meta
    store.put(ListMeta("adult", "https://x/adult.txt", status="failed", message="HTTP 500"))
    got = store.get("adult")
    assert got is not None and (got.status, got.etag, got.fetched_at) == ("failed", None, None)
    store.put(ListMeta("ads", "f"))
    assert [m.name for m in store.all()] == ["ads", "adult"]
