"""The state source: grants and pauses from the database, shared by every reader; a change
made here wins over a refresh that was already reading when it was made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kidshield.clock import FixedClock
from kidshield.policy.state import Grant
from kidshield.state import StateSource
from kidshield.storage.db import Database
from kidshield.storage.protocols import PauseRecord
from kidshield.storage.sql import SqlGrantStore
from kidshield.storage.web_sql import SqlPauseStore
from tests.policy.helpers import make_profile

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_a_refresh_that_began_before_a_pause_does_not_undo_it(db: Database) -> None:
    state = StateSource(db, FixedClock(NOW))
    state.load([make_profile(id="mia")])
    reading = state.read(["mia"])  # the periodic refresh, in its thread
    state.pause("mia", NOW + timedelta(minutes=30), "Alex")  # meanwhile, on the loop
    state.apply(reading)
    assert state.paused_until("mia") == NOW + timedelta(minutes=30)
    state.refresh(["mia"])  # the next refresh reads it back from the database
    assert state.paused_until("mia") == NOW + timedelta(minutes=30)


def test_changes_made_by_another_process_arrive_with_the_next_refresh(db: Database) -> None:
    heard: list[str] = []
    state = StateSource(db, FixedClock(NOW))
    state.subscribe(heard.append)
    state.load([make_profile(id="mia"), make_profile(id="leo")])
    # another kidshield on the same database
    SqlGrantStore(db).add(Grant("mia", "casino.example", NOW + timedelta(hours=1)), NOW)
    SqlPauseStore(db).set(PauseRecord("leo", NOW + timedelta(minutes=5), NOW, "Alex"))
    assert state.grants("mia") == () and state.paused_until("leo") is None
    state.refresh(["mia", "leo"])
    assert [g.domain for g in state.grants("mia")] == ["casino.example"]
    assert state.paused_until("leo") == NOW + timedelta(minutes=5)
    assert sorted(heard) == ["leo", "mia"]  # their cached decisions are dropped
    heard.clear()
    state.refresh(["mia", "leo"])
    assert heard == []  # nothing changed: nothing to drop
