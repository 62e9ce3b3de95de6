"""The state source: one place for grants, pauses, minutes used and dashboard edits, which
every reader uses and every node sharing the database keeps up with (``sync``). Two state
sources on one database stand for two kidshield servers; each test runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kidshield.clock import FixedClock
from kidshield.policy.state import Grant
from kidshield.state import StateSource
from kidshield.state.store import ConfigEdit
from kidshield.storage.db import Database
from kidshield.storage.state_sql import SqlStateStore
from tests.policy.helpers import NEW_YORK, make_profile

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
MIA, LEO = make_profile(id="mia"), make_profile(id="leo")


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    database = Database.open(any_db_url)
    yield database
    database.close()


def node(db: Database, at: datetime = NOW) -> StateSource:
    """One kidshield server's state source, loaded as at start."""
    state = StateSource(SqlStateStore(db), FixedClock(at))
    state.load()
    return state


def test_a_sync_that_began_before_a_pause_does_not_undo_it(db: Database) -> None:
    state = node(db)
    reading = state.read()  # the periodic sync, in its thread
    state.pause(["mia"], NOW + timedelta(minutes=30), "Alex")  # meanwhile, on the loop
    state.apply(reading)
    assert state.paused_until("mia") == NOW + timedelta(minutes=30)
    state.sync()  # the next sync reads it back from the database
    assert state.paused_until("mia") == NOW + timedelta(minutes=30)


def test_changes_made_on_another_node_arrive_with_the_next_sync(db: Database) -> None:
    here, there = node(db), node(db)
    heard: list[str] = []
    here.subscribe(heard.append)
    there.add_grant(Grant("mia", "casino.example", NOW + timedelta(hours=1), "Alex"))
    there.pause(["leo"], NOW + timedelta(minutes=5), "Alex")
    assert here.grants("mia") == () and here.paused_until("leo") is None
    here.sync()
    assert [g.domain for g in here.grants("mia")] == ["casino.example"]
    assert here.paused_until("leo") == NOW + timedelta(minutes=5)
    assert here.for_profile(LEO, NOW).paused_until == NOW + timedelta(minutes=5)
    assert sorted(heard) == ["leo", "mia"]  # their cached decisions are dropped
    heard.clear()
    here.sync()
    assert heard == []  # nothing changed: nothing to drop, and nothing re-read
    [grant] = here.grants("mia")
    assert grant.id is not None
    there.revoke_grant(grant.id)
    there.pause(["leo"], None, "Alex")
    here.sync()
    assert here.grants("mia") == () and here.paused_until("leo") is None
    assert sorted(heard) == ["leo", "mia"]


def test_a_minute_both_nodes_saw_counts_once_on_both(db: Database) -> None:
    here, there = node(db), node(db)
    store = SqlStateStore(db)
    heard: list[tuple[str, str]] = []
    here.on_usage(lambda pid, service: heard.append((pid, service)))
    for state, minutes in ((here, (0, 1)), (there, (1, 2, 3))):
        for m in minutes:
            new = state.add_usage_minute(MIA, "youtube", NOW + timedelta(minutes=m))
            assert new is not None
            store.add_minutes({("mia", "youtube", *new)})  # what the log writer does
    assert here.minutes_used(MIA, NOW) == {"youtube": 2.0}
    here.sync()
    there.sync()
    assert here.minutes_used(MIA, NOW) == there.minutes_used(MIA, NOW) == {"youtube": 4.0}
    assert here.for_profile(MIA, NOW).usage_minutes == {"youtube": 4.0}
    assert heard == [("mia", "youtube")]  # a budget may now be spent
    assert here.add_usage_minute(MIA, "youtube", NOW + timedelta(minutes=3)) is None


def test_minutes_are_counted_on_the_profiles_own_day(db: Database) -> None:
    ny = make_profile(id="mia", tz=NEW_YORK)
    at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # still 29 November in New York
    store = SqlStateStore(db)
    store.add_minutes({("mia", "youtube", datetime(2026, 11, 29).date(), m) for m in range(42)})
    store.add_minutes({("mia", "youtube", datetime(2026, 11, 30).date(), 5)})
    assert node(db, at).for_profile(ny, at).usage_minutes == {"youtube": 42.0}


def test_edits_made_on_another_node_are_heard_after_the_next_sync(db: Database) -> None:
    here, there = node(db), node(db)
    calls: list[tuple[str, ...]] = []
    here.on_edits(lambda: calls.append(tuple(e.field for e in here.edits())))
    there.put_edits([ConfigEdit("profiles.mia", "bedtime", '"20:00"', None, NOW, "Alex")])
    assert here.edits() == ()
    here.sync()
    assert calls == [("bedtime",)]
    here.sync()
    assert calls == [("bedtime",)]


def test_minutes_stored_out_of_order_by_a_slow_node_are_not_missed(db: Database) -> None:
    here = node(db)
    store = SqlStateStore(db)
    day = NOW.date()
    store.add_minutes({("mia", "youtube", day, 900), ("mia", "youtube", day, 910)})
    here.sync()
    assert here.minutes_used(MIA, NOW) == {"youtube": 2.0}
    store.add_minutes({("mia", "youtube", day, 911)})  # read as "above 910"
    here.sync()
    assert here.minutes_used(MIA, NOW) == {"youtube": 3.0}
    store.add_minutes({("mia", "youtube", day, 905)})  # a late batch: below the highest
    here.sync()
    assert here.minutes_used(MIA, NOW) == {"youtube": 4.0}


def test_a_profile_far_east_does_not_forget_the_minutes_of_a_profile_far_west(db: Database) -> None:
    """Local dates of two profiles can be two days apart (UTC+14 against UTC-11 for an hour a
    day): counting a new day for one must not drop the other's today."""
    from zoneinfo import ZoneInfo

    west = make_profile(id="leo", tz=ZoneInfo("Pacific/Pago_Pago"))  # UTC-11
    east = make_profile(id="mia", tz=ZoneInfo("Pacific/Kiritimati"))  # UTC+14
    at = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # 24 Nov 23:30 west, 26 Nov 00:30 east
    state = node(db, at)
    for m in range(3):
        state.add_usage_minute(west, "youtube", at + timedelta(minutes=m - 10))
    state.add_usage_minute(east, "youtube", at)
    assert state.minutes_used(west, at) == {"youtube": 3.0}
    assert state.minutes_used(east, at) == {"youtube": 1.0}
