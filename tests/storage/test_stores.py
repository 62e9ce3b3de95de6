"""The state store (grants, pauses, used minutes, requests, dashboard edits) on SQLite and
PostgreSQL, and list metadata."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kidshield.policy.state import Grant
from kidshield.state.store import (
    AccessRequest,
    ConfigEdit,
    EditEnd,
    EditStatus,
    Kind,
    PauseRecord,
    RequestDecision,
)
from kidshield.storage.db import Database
from kidshield.storage.protocols import AuditEntry, ListMeta
from kidshield.storage.sql import SqlListMetaStore
from kidshield.storage.state_sql import SqlStateStore
from kidshield.storage.web_sql import SqlAuditLog

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    database = Database.open(any_db_url)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> SqlStateStore:
    return SqlStateStore(db)


def test_grant_is_active_until_it_expires_or_is_revoked(store: SqlStateStore) -> None:
    g = store.add_grant(Grant("mia", "example.org", NOW + timedelta(hours=1), "mum", "homework"),
                        NOW)
    forever = store.add_grant(Grant("leo", "example.net", None), NOW)
    assert g.id is not None and forever.id is not None
    assert store.active_grants(NOW) == [g, forever]
    assert store.active_grants(NOW + timedelta(hours=2)) == [forever]
    assert store.revoke_grant(forever.id, NOW) == forever
    assert store.revoke_grant(forever.id, NOW) is None  # already ended
    assert store.active_grants(NOW) == [g]


def test_grant_times_keep_the_instant_whatever_the_zone(store: SqlStateStore) -> None:
    until = datetime(2026, 11, 29, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    store.add_grant(Grant("mia", "a.example", until), NOW)
    [g] = store.active_grants(NOW)
    assert g.until == until
    assert store.active_grants(until) == []


def test_naive_datetimes_are_refused(store: SqlStateStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.add_grant(Grant("mia", "a.example", None), datetime(2026, 1, 1))


def test_every_write_moves_the_version_of_its_kind_only(store: SqlStateStore) -> None:
    start = store.versions()
    assert start == dict.fromkeys(Kind, 0)
    store.add_grant(Grant("mia", "a.example", None), NOW)
    store.set_pauses([PauseRecord("mia", NOW + timedelta(minutes=5), NOW)], [])
    store.set_pauses([], ["mia"])
    store.add_minutes({("mia", "youtube", NOW.date(), 600)})
    assert store.versions() == {Kind.GRANTS: 1, Kind.PAUSES: 2, Kind.USAGE: 1, Kind.EDITS: 0}


def test_a_minute_seen_twice_counts_once(store: SqlStateStore) -> None:
    today, yesterday = date(2026, 11, 29), date(2026, 11, 28)
    store.add_minutes({("mia", "youtube", today, 600), ("mia", "youtube", today, 601)})
    # a second server saw minute 601 too, and one more
    store.add_minutes({("mia", "youtube", today, 601), ("mia", "youtube", today, 602)})
    store.add_minutes({("mia", "tiktok", yesterday, 5), ("leo", "youtube", today, 600)})
    assert store.minute_counts(today) == {("mia", "youtube", today): (3, 602),
                                          ("leo", "youtube", today): (1, 600)}
    assert store.minutes_of(("mia", "youtube", today)) == {600, 601, 602}
    assert store.minutes_of(("mia", "youtube", today), after=600) == {601, 602}
    assert ("mia", "tiktok", yesterday) in store.minute_counts(yesterday)


def test_a_pause_for_several_profiles_is_one_change_with_its_audit_entry(
    store: SqlStateStore, db: Database,
) -> None:
    until = NOW + timedelta(minutes=30)
    store.set_pauses([PauseRecord("mia", until, NOW, "Alex"), PauseRecord("leo", until, NOW)],
                     [], AuditEntry(NOW, "Alex", "pause", "all"))
    assert {p.profile for p in store.active_pauses(NOW)} == {"mia", "leo"}
    assert store.active_pauses(until) == []
    assert [e.action for e in SqlAuditLog(db).recent()] == ["pause"]


def test_deciding_a_request_stores_the_answer_the_grant_and_the_audit_entry_together(
    store: SqlStateStore, db: Database,
) -> None:
    request = store.add_request(AccessRequest("mia", "bet.example", NOW, "category"))
    assert request.id is not None
    answer = RequestDecision("allowed", "30min", NOW + timedelta(minutes=30), "ok", "Alex", NOW)
    decided = store.decide_request(request.id, answer,
                                   Grant("mia", "bet.example", answer.until, "Alex"),
                                   audit=AuditEntry(NOW, "Alex", "request.allowed"))
    assert decided is not None and (decided.status, decided.decided_by) == ("allowed", "Alex")
    assert [g.domain for g in store.active_grants(NOW)] == ["bet.example"]
    assert [e.action for e in SqlAuditLog(db).recent()] == ["request.allowed"]
    assert store.decide_request(999, answer, Grant("mia", "x.example", None)) is None
    assert [g.domain for g in store.active_grants(NOW)] == ["bet.example"]  # nothing added


def test_a_failing_decision_leaves_nothing_behind(store: SqlStateStore, db: Database) -> None:
    request = store.add_request(AccessRequest("mia", "bet.example", NOW))
    assert request.id is not None
    answer = RequestDecision("allowed", "30min", None, "", "Alex", NOW)
    naive = Grant("mia", "bet.example", datetime(2026, 1, 1))  # cannot be stored
    with pytest.raises(Exception, match="naive datetime"):
        store.decide_request(request.id, answer, naive, audit=AuditEntry(NOW, "Alex", "x"))
    assert store.request(request.id) == request  # still pending
    assert SqlAuditLog(db).recent() == []


def _edit(field: str, value: str | None, at: datetime = NOW, target: str = "profiles.mia",
          by: str = "Alex") -> ConfigEdit:
    return ConfigEdit(target, field, value, None, at, by)


def test_an_edit_of_a_setting_replaces_the_one_in_force(store: SqlStateStore) -> None:
    [first] = store.put_edits([_edit("bedtime", '"20:00"')])
    store.put_edits([_edit("wake_up", '"07:00"')])
    [second] = store.put_edits([_edit("bedtime", '"20:30"', NOW + timedelta(minutes=1))])
    active = store.edits()
    assert [(e.field, e.value) for e in active] == [("bedtime", '"20:30"'), ("wake_up", '"07:00"')]
    [old] = store.edits([EditStatus.REPLACED])
    assert (old.id, old.value) == (first.id, '"20:00"') and second.id != first.id
    # a whole profile's edit ends its settings' edits
    store.put_edits([_edit("*", None)])
    assert [(e.field, e.value) for e in store.edits()] == [("*", None)]


def test_ending_an_edit_is_recorded_once(store: SqlStateStore) -> None:
    [edit] = store.put_edits([_edit("bedtime", '"20:00"')])
    assert edit.id is not None
    end = EditEnd(edit.id, EditStatus.SUPERSEDED, "the file changed it")
    assert store.end_edits([end], NOW) == 1
    assert store.end_edits([end], NOW) == 0  # another node got there first
    [ended] = store.edits([EditStatus.SUPERSEDED])
    assert (ended.note, ended.ended_at) == ("the file changed it", NOW)
    assert store.edits() == []


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
