"""Writes that depend on what was read, from several handles on one database at once (as
several ``kidshield serve`` processes would be), on SQLite and PostgreSQL.

Each test runs every write of one key from all handles together, for many keys, so that two
writers meet between their read and their write. Every one failed on the code before the fix
(see docs/storage.md "Several servers on one database")."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from hashlib import sha256
from queue import Empty
from threading import Barrier

import pytest
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.education.progress import ProgressStore
from kidshield.errors import Conflict, NotFound, Refused
from kidshield.notify import WebhookChannel
from kidshield.policy.state import Grant
from kidshield.reports.alerts import OnCallAlerter
from kidshield.reports.model import CaseType, Source
from kidshield.reports.service import NewReport, Receipt, ReportService
from kidshield.reports.settings import ReportSettings
from kidshield.reports.sources import NOTIFIER
from kidshield.reports.store import AlertRecord, CaseRecord, NoteRecord, SourceRecord
from kidshield.safety.media.store import MediaBank
from kidshield.state.store import PauseRecord
from kidshield.storage.db import Database
from kidshield.storage.media_sql import SqlMediaBankStore
from kidshield.storage.protocols import ListMeta
from kidshield.storage.reports_sql import SqlReportStore
from kidshield.storage.schema import case_alerts, case_keys, cases, web_sessions
from kidshield.storage.sql import SqlListMetaStore
from kidshield.storage.state_sql import SqlStateStore
from kidshield.storage.web_sql import (
    SqlApiTokenStore,
    SqlSessionStore,
    SqlSettingStore,
    SqlUserStore,
)

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
HANDLES = 6
KEYS = 25


@pytest.fixture
def dbs(any_db_url: str) -> Iterator[list[Database]]:
    handles = [Database.open(any_db_url, migrate=i == 0) for i in range(HANDLES)]
    yield handles
    for db in handles:
        db.close()


def all_at_once(dbs: list[Database], write: Callable[[Database, int, int], object]
                ) -> list[list[object]]:
    """For each key, every handle writes it at the same moment (a barrier per key); returns
    each key's results, one per handle."""
    results: list[list[object]] = []
    with ThreadPoolExecutor(max_workers=len(dbs)) as pool:
        for key in range(KEYS):
            barrier = Barrier(len(dbs))

            def one(i: int, key: int = key, barrier: Barrier = barrier) -> object:
                barrier.wait()
                return write(dbs[i], i, key)

            results.append(list(pool.map(one, range(len(dbs)))))
    return results


def test_settings_written_at_once_by_several_servers(dbs: list[Database]) -> None:
    all_at_once(dbs, lambda db, i, key: SqlSettingStore(db).put(f"k{key}", f"v{i}"))
    store = SqlSettingStore(dbs[0])
    assert all(store.get(f"k{key}") in {f"v{i}" for i in range(HANDLES)} for key in range(KEYS))


def test_list_metadata_written_at_once(dbs: list[Database]) -> None:
    all_at_once(dbs, lambda db, i, key: SqlListMetaStore(db).put(
        ListMeta(f"list{key}", "https://lists.example/x", NOW, rules=i, status="ok")))
    assert len(SqlListMetaStore(dbs[0]).all()) == KEYS


def test_drafts_and_referrals_saved_at_once(dbs: list[Database]) -> None:
    store = SqlReportStore(dbs[0])
    ids = [store.add_case(CaseRecord(created_at=NOW, updated_at=NOW, case_type="bullying")).id
           or 0 for _ in range(KEYS)]

    def write(db: Database, i: int, key: int) -> None:
        store = SqlReportStore(db)
        store.save_draft(f"t{key}", f'{{"i": {i}}}', NOW)
        store.save_referral(ids[key], f'{{"i": {i}}}', NOW, f"analyst{i}")

    all_at_once(dbs, write)
    assert all(store.draft(f"t{key}") is not None for key in range(KEYS))
    assert all(store.referral(case_id) is not None for case_id in ids)


def test_case_keys_added_at_once(dbs: list[Database]) -> None:
    all_at_once(dbs, lambda db, i, key: SqlReportStore(db).add_case_keys(
        key + 1, [f"url:{key}", f"account:{i}"]))
    store = SqlReportStore(dbs[0])
    assert store.open_case_by_keys([f"url:{KEYS - 1}"]) is None  # no case rows: keys only
    with dbs[0].engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(case_keys)).scalar_one()
    assert count == KEYS * (1 + HANDLES)


def test_every_reveal_counted(dbs: list[Database]) -> None:
    day = date(2026, 12, 7)
    all_at_once(dbs, lambda db, i, key: SqlReportStore(db).add_reveal(f"analyst{key}", day))
    store = SqlReportStore(dbs[0])
    assert [store.reveals(f"analyst{key}", day) for key in range(KEYS)] == [HANDLES] * KEYS


def test_every_lesson_attempt_counted(dbs: list[Database]) -> None:
    all_at_once(dbs, lambda db, i, key: ProgressStore(db).record(
        "kid", "8-10", f"topic{key}", i, HANDLES, NOW))
    found = {p.topic: p for p in ProgressStore(dbs[0]).for_profile("kid")}
    assert [found[f"topic{key}"].attempts for key in range(KEYS)] == [HANDLES] * KEYS
    assert {found[f"topic{key}"].best_score for key in range(KEYS)} == {HANDLES - 1}


def test_a_grant_is_revoked_once(dbs: list[Database]) -> None:
    """Two parents revoking one grant on two servers: one revokes it, the other is told it
    had already ended (one audit entry, one version step)."""
    first = SqlStateStore(dbs[0])
    ids = [first.add_grant(Grant("kid", f"d{key}.example", None), NOW).id
           for key in range(KEYS)]
    results = all_at_once(dbs, lambda db, i, key: SqlStateStore(db).revoke_grant(
        ids[key] or 0, NOW))
    assert [sum(r is not None for r in found) for found in results] == [1] * KEYS


def test_a_pause_set_at_once_on_several_servers(dbs: list[Database]) -> None:
    """Delete-then-insert of a profile's pause: on PostgreSQL both deletes found nothing and
    the second insert hit the primary key."""
    all_at_once(dbs, lambda db, i, key: SqlStateStore(db).set_pauses(
        [PauseRecord(f"kid{key}", NOW + timedelta(minutes=i + 1), NOW, f"parent{i}")], []))
    assert len(SqlStateStore(dbs[0]).active_pauses(NOW)) == KEYS


def _link(salt: str, prev: str) -> str:
    return sha256(f"{prev}{salt}".encode()).hexdigest()


def test_retention_never_deletes_a_case_put_on_hold_meanwhile(dbs: list[Database]) -> None:
    """The retention job beside analysts putting old closed cases on legal hold: a hold that
    reached the case's row keeps the case, whichever came first. The old job chose the cases
    first and deleted them by id after, so a hold in between was ignored."""
    store = SqlReportStore(dbs[0])
    per_round = 12
    for turn in range(8):
        ids = _old_closed_cases(store, per_round, turn)
        barrier = Barrier(len(dbs))

        def purge(db: Database, barrier: Barrier = barrier) -> list[int]:
            barrier.wait()
            SqlReportStore(db).expire("evidence", NOW, NOW, dry_run=False)
            SqlReportStore(db).expire("cases", NOW, NOW, dry_run=False)
            return []

        def hold(db: Database, mine: list[int], barrier: Barrier = barrier) -> list[int]:
            """The ids whose hold reached the row (as ``update_case`` writes it)."""
            barrier.wait()
            landed = []
            for case_id in mine:
                with db.engine.begin() as conn:
                    if conn.execute(cases.update().where(cases.c.id == case_id)
                                    .values(legal_hold=True)).rowcount == 1:
                        landed.append(case_id)
            return landed

        with ThreadPoolExecutor(max_workers=len(dbs)) as pool:
            jobs = [pool.submit(purge, dbs[0])]
            jobs += [pool.submit(hold, dbs[i], ids[i - 1::len(dbs) - 1])
                     for i in range(1, len(dbs))]
            held = [case_id for job in jobs for case_id in job.result()]
        gone = [case_id for case_id in held if store.case(case_id) is None]
        assert gone == [], f"round {turn}: cases on legal hold deleted"


def test_a_notifiers_first_notices_at_once(dbs: list[Database]) -> None:
    """The same notifier's first notices arriving on several servers at once: one source
    row, and every notice is taken (the contact's digest is unique: the losers' inserts
    failed and so did the notice)."""
    results = all_at_once(dbs, lambda db, i, key: SqlReportStore(db).add_source(
        SourceRecord(NOW, NOTIFIER, contact_sha256=f"{key:064d}")))
    assert [len({s.id for s in found if isinstance(s, SourceRecord)}) for found in results] \
        == [1] * KEYS


def test_reports_merged_at_once_into_one_case(dbs: list[Database]) -> None:
    """Reports about the same page on several servers at once, one of them of imminent
    danger: the case counts every report and keeps the danger. Merging read the case and
    wrote it back, so a merge built on a stale row undid the other (the danger was lost)."""
    clock = FixedClock(NOW)
    first = ReportService(SqlReportStore(dbs[0]), clock)
    for key in range(KEYS):
        first.submit(NewReport(Source.WEB, CaseType.BULLYING, url=f"https://x{key}.test/",
                               description="first"))
    results = all_at_once(dbs, lambda db, i, key: ReportService(SqlReportStore(db), clock)
                          .submit(NewReport(Source.WEB, CaseType.BULLYING,
                                            url=f"https://x{key}.test/", description="again",
                                            imminent_danger=i == key % HANDLES)))
    store = SqlReportStore(dbs[0])
    merged = [store.case(r.case_id) for found in results for r in found
              if isinstance(r, Receipt) and r.case_id is not None]
    cases_by_key = {c.id: c for c in merged if c is not None}
    assert len(cases_by_key) == KEYS
    assert [c.reports_count for c in cases_by_key.values()] == [HANDLES + 1] * KEYS
    assert all(c.imminent_danger for c in cases_by_key.values())


def test_first_reports_at_once_open_one_case(dbs: list[Database]) -> None:
    """The first reports about a page, on several servers at once: one case, with every
    report in it. Each server looked for an open case, found none and opened its own."""
    clock = FixedClock(NOW)
    results = all_at_once(dbs, lambda db, i, key: ReportService(SqlReportStore(db), clock)
                          .submit(NewReport(Source.WEB, CaseType.BULLYING,
                                            url=f"https://new{key}.test/", description="hi")))
    opened = [{r.case_id for r in found if isinstance(r, Receipt)} for found in results]
    assert [len(ids) for ids in opened] == [1] * KEYS
    store = SqlReportStore(dbs[0])
    counts = [c.reports_count for ids in opened for i in ids if (c := store.case(i or 0))]
    assert counts == [HANDLES] * KEYS


@pytest.mark.parametrize(
    "spellings",
    [["anna"] * HANDLES, ["Anna", "anna", "ANNA", "aNNa", "AnNa", "annA"]],
    ids=["as-typed", "whatever-its-case"],
)
def test_one_account_name_taken_at_once(dbs: list[Database], spellings: list[str]) -> None:
    """Two administrators adding the same account name on two servers, typed alike or in
    other cases: one account, and the others are told the name is taken. It was a database
    error, and names were unique only as typed, so every spelling was added."""
    def create(db: Database, i: int, key: int) -> object:
        try:
            return SqlUserStore(db).create(f"{spellings[i]} {key}", "x",
                                           frozenset({"parent"}), NOW)
        except Conflict as exc:
            return exc

    results = all_at_once(dbs, create)
    assert [sum(isinstance(r, Conflict) for r in found) for found in results] \
        == [HANDLES - 1] * KEYS


def test_a_token_revoked_while_it_issues_another(dbs: list[Database]) -> None:
    """A token revoked on one server while it issues tokens on others: every token it issued
    is revoked with it, or refused. The revoke walked the family it read, so a token issued
    after the walk stayed valid."""
    users = SqlUserStore(dbs[0])
    owner = users.create("owner", "x", frozenset({"parent"}), NOW)
    later = NOW + timedelta(days=30)
    parents = [SqlApiTokenStore(dbs[0]).create(owner.id, f"p{key}", f"p{key:063d}", NOW,
                                               frozenset({"read"}), later).id
               for key in range(KEYS)]

    def write(db: Database, i: int, key: int) -> object:
        tokens = SqlApiTokenStore(db)
        if i == 0:
            return tokens.revoke(parents[key], NOW)
        try:
            return tokens.create(owner.id, f"c{key}.{i}", f"c{key:031d}{i:032d}", NOW,
                                 frozenset({"read"}), later, parents[key])
        except Refused:
            return None

    all_at_once(dbs, write)
    valid = [t for t in SqlApiTokenStore(dbs[0]).list() if t.revoked_at is None]
    assert valid == []


def test_one_media_bank_name_taken_at_once(dbs: list[Database]) -> None:
    """Two hotline staff creating a bank of one name on two servers: one bank, and the other
    is told the name is taken (it was a database error)."""
    def create(db: Database, i: int, key: int) -> object:
        try:
            return SqlMediaBankStore(db).create_bank(MediaBank(f"bank{key}"), NOW)
        except Conflict as exc:
            return exc

    results = all_at_once(dbs, create)
    assert [sum(isinstance(r, Conflict) for r in found) for found in results] \
        == [HANDLES - 1] * KEYS


def test_sessions_started_at_once_keep_the_limit(dbs: list[Database]) -> None:
    """Sign-ins to one account on several servers at once: the account keeps its newest
    ``keep`` sessions. Each server trimmed to the sessions it could see, so one more stayed."""
    keep = 3
    users = SqlUserStore(dbs[0])
    ids = [users.create(f"u{key}", "x", frozenset({"parent"}), NOW).id for key in range(KEYS)]
    first = SqlSessionStore(dbs[0])
    for key, user_id in enumerate(ids):
        for n in range(keep):
            first.create(f"old{key}.{n}", user_id, NOW - timedelta(hours=n + 1),
                         NOW + timedelta(days=1), keep)
    all_at_once(dbs, lambda db, i, key: SqlSessionStore(db).create(
        f"new{key}.{i}", ids[key], NOW + timedelta(seconds=i), NOW + timedelta(days=1), keep))
    with dbs[0].engine.connect() as conn:
        counts = dict(conn.execute(sa.select(web_sessions.c.user_id, sa.func.count())
                                   .group_by(web_sessions.c.user_id)).all())
    assert [counts[user_id] for user_id in ids] == [keep] * KEYS


def _old_closed_cases(store: SqlReportStore, count: int, turn: int) -> list[int]:
    long_ago = NOW - timedelta(days=800)
    ids = []
    for n in range(count):
        case = store.add_case(CaseRecord(
            created_at=long_ago, updated_at=long_ago, case_type="bullying", state="closed",
            closed_at=long_ago))
        assert case.id is not None
        ids.append(case.id)
        store.append_evidence(case.id, long_ago, "note", "private words", "0" * 64,
                              partial(_link, f"{turn}.{n}"))
    return ids


def test_a_note_added_while_retention_deletes_its_case(dbs: list[Database]) -> None:
    """Analysts adding notes and referral assessments to old closed cases while retention
    deletes them: each is either deleted with its case or refused, never left without it.
    A row written after retention had deleted the case's children stayed."""
    store = SqlReportStore(dbs[0])
    for turn in range(8):
        ids = _old_closed_cases(store, 12, turn)
        barrier = Barrier(len(dbs))

        def purge(db: Database, barrier: Barrier = barrier) -> None:
            barrier.wait()
            SqlReportStore(db).expire("cases", NOW, NOW, dry_run=False)

        def note(db: Database, mine: list[int], barrier: Barrier = barrier) -> None:
            barrier.wait()
            for case_id in mine:
                with contextlib.suppress(NotFound):
                    SqlReportStore(db).add_note(NoteRecord(case_id, NOW, "analyst", "seen"))
                with contextlib.suppress(NotFound):
                    SqlReportStore(db).save_referral(case_id, "{}", NOW, "analyst")

        with ThreadPoolExecutor(max_workers=len(dbs)) as pool:
            jobs = [pool.submit(purge, dbs[0])]
            jobs += [pool.submit(note, dbs[i], ids[i - 1::len(dbs) - 1])
                     for i in range(1, len(dbs))]
            for job in jobs:
                job.result()
        orphans = [case_id for case_id in ids if store.case(case_id) is None
                   and (store.notes(case_id) or store.referral(case_id) is not None)]
        assert orphans == [], f"round {turn}: notes or referrals left without their case"


def test_evidence_purge_never_takes_what_a_hold_kept(dbs: list[Database]) -> None:
    """The evidence purge beside analysts putting old closed cases on legal hold: evidence
    still there once the hold is stored stays. The old purge chose the records first and
    purged them by id after, so a hold stored in between was ignored."""
    store = SqlReportStore(dbs[0])
    for turn in range(8):
        ids = _old_closed_cases(store, 12, turn)
        barrier = Barrier(len(dbs))

        def purge(db: Database, barrier: Barrier = barrier) -> list[int]:
            barrier.wait()
            SqlReportStore(db).expire("evidence", NOW, NOW, dry_run=False)
            return []

        def hold(db: Database, mine: list[int], barrier: Barrier = barrier) -> list[int]:
            """The ids whose evidence was still there after their hold was stored."""
            barrier.wait()
            kept = []
            for case_id in mine:
                with db.engine.begin() as conn:
                    conn.execute(cases.update().where(cases.c.id == case_id)
                                 .values(legal_hold=True))
                if all(e.content is not None for e in SqlReportStore(db).evidence(case_id)):
                    kept.append(case_id)
            return kept

        with ThreadPoolExecutor(max_workers=len(dbs)) as pool:
            jobs = [pool.submit(purge, dbs[0])]
            jobs += [pool.submit(hold, dbs[i], ids[i - 1::len(dbs) - 1])
                     for i in range(1, len(dbs))]
            kept = [case_id for job in jobs for case_id in job.result()]
        lost = [case_id for case_id in kept
                if any(e.content is None for e in store.evidence(case_id))]
        assert lost == [], f"round {turn}: evidence of cases on legal hold purged"


def test_reports_of_danger_merged_at_once_page_on_call_once(dbs: list[Database]) -> None:
    """Reports of imminent danger about one page on several servers at once, merged into its
    case: on-call is paged once. A merge built again on the case another server had just made
    critical still paged, because it judged "newly critical" by the case it first read."""
    clock = FixedClock(NOW)
    first = ReportService(SqlReportStore(dbs[0]), clock)
    for key in range(KEYS):
        first.submit(NewReport(Source.WEB, CaseType.BULLYING, url=f"https://d{key}.test/",
                               description="first"))
    alerters = [OnCallAlerter(SqlReportStore(db), clock, [], ReportSettings().oncall, str)
                for db in dbs]
    services = [ReportService(SqlReportStore(db), clock, alerter=alerter)
                for db, alerter in zip(dbs, alerters, strict=True)]
    try:
        results = all_at_once(dbs, lambda db, i, key: services[i].submit(NewReport(
            Source.WEB, CaseType.BULLYING, url=f"https://d{key}.test/",
            description="danger", imminent_danger=True)))
    finally:
        for alerter in alerters:
            alerter.close()
    store = SqlReportStore(dbs[0])
    case_ids = [{r.case_id for r in found if isinstance(r, Receipt)} for found in results]
    assert [len(ids) for ids in case_ids] == [1] * KEYS
    pages = [sum(e.action == "alert" for e in store.audit_trail(ids.pop() or 0))
             for ids in case_ids]
    assert pages == [1] * KEYS


def test_a_critical_case_alerted_at_once_by_several_servers_pages_once(
        dbs: list[Database]) -> None:
    """Every server's on-call sweep finds the same case due at the same moment: it is paged
    once, its count says one alert, and that alert has one row. Each server wrote the count
    it read plus one (five of six increments lost) and every one of them paged."""
    from tests.reports.fakes import FakeHttpReceiver

    clock = FixedClock(NOW)
    service = ReportService(SqlReportStore(dbs[0]), clock)
    ids = [service.submit(NewReport(Source.WEB, CaseType.BULLYING, url=f"https://p{key}.test/",
                                    description="danger", imminent_danger=True)).case_id
           for key in range(KEYS)]
    store = SqlReportStore(dbs[0])
    read = [store.case(case_id) for case_id in ids]  # as every sweep read them
    receiver = FakeHttpReceiver()
    alerters = [OnCallAlerter(SqlReportStore(db), clock,
                              [WebhookChannel(f"{receiver.url}/page")],
                              ReportSettings().oncall, str) for db in dbs]
    try:
        all_at_once(dbs, lambda db, i, key: alerters[i].alert(read[key] or _gone(), "new"))
    finally:
        for alerter in alerters:
            alerter.close()
        posts = 0
        with contextlib.suppress(Empty):
            while True:
                receiver.received.get_nowait()
                posts += 1
        receiver.close()
    counts = [(c.alerts if (c := store.case(case_id)) else None) for case_id in ids]
    pages = [sum(e.action == "alert" for e in store.audit_trail(case_id)) for case_id in ids]
    rows = [len(store.alerts(case_id)) for case_id in ids]
    assert (posts, counts, pages, rows) == (KEYS, [1] * KEYS, [1] * KEYS, [1] * KEYS)
    assert {getattr(a, "number", None) for case_id in ids for a in store.alerts(case_id)} \
        == {1}


def _gone() -> CaseRecord:
    raise AssertionError("the case is gone")


def test_one_alert_recorded_at_once_by_several_servers_is_one_row(dbs: list[Database]) -> None:
    """The same alert's attempt on one channel written by several servers at once (or again
    after a retry): one row. Plain inserts kept each."""
    ids = [SqlReportStore(dbs[0]).add_case(CaseRecord(
        created_at=NOW, updated_at=NOW, case_type="grooming", imminent_danger=True)).id or 0
        for _ in range(KEYS)]
    all_at_once(dbs, lambda db, i, key: SqlReportStore(db).add_alert(AlertRecord(
        ids[key], NOW + timedelta(seconds=i), "new", "ntfy", "https://ntfy.test/oncall", True,
        number=1)))
    with dbs[0].engine.connect() as conn:
        rows = conn.execute(sa.select(case_alerts.c.case_id, sa.func.count())
                            .group_by(case_alerts.c.case_id)).all()
    assert sorted(n for _case_id, n in rows) == [1] * KEYS
