"""A decision, a sign-off, an appeal and an assignment are each one transaction: when the
database refuses any part (here a real trigger, on SQLite and on PostgreSQL, refuses the
audit entry, as a full disk or a lost connection would fail a statement), nothing of it is
stored and our block/allow list files are as they were, so the case can simply be decided
again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from kidshield.reports.lists import OwnLists, read_domains
from kidshield.reports.model import CaseState, CaseType, DecisionAction, Ground, Source
from kidshield.reports.model import StatementOfReasons as Statement
from kidshield.reports.service import NewReport, ReportService
from kidshield.storage.db import Database


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    database = Database.open(any_db_url)
    yield database
    database.close()


@contextmanager
def audit_refused(db: Database, action: str) -> Iterator[None]:
    """The database refuses to write the audit entry ``action`` while inside."""
    if db.is_sqlite:
        create = [f"CREATE TRIGGER refuse_audit BEFORE INSERT ON case_audit "
                  f"WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"]
        drop = ["DROP TRIGGER refuse_audit"]
    else:
        create = [f"CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                  f"IF NEW.action = '{action}' THEN RAISE EXCEPTION 'disk I/O error'; END IF; "
                  "RETURN NEW; END $$",
                  "CREATE TRIGGER refuse_audit BEFORE INSERT ON case_audit FOR EACH ROW "
                  "EXECUTE FUNCTION refuse_audit()"]
        drop = ["DROP TRIGGER refuse_audit ON case_audit", "DROP FUNCTION refuse_audit()"]
    with db.engine.begin() as conn:
        for statement in create:
            conn.execute(sa.text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in drop:
                conn.execute(sa.text(statement))


def snapshot(service: ReportService, case_id: int) -> object:
    store = service.store
    return (store.case(case_id), store.decisions(case_id), store.open_appeal(case_id),
            store.audit_trail(case_id))


def _case(service: ReportService, case_type: CaseType, url: str, **kw: object) -> int:
    receipt = service.submit(NewReport(Source.WEB, case_type, url=url, **kw))  # type: ignore[arg-type]
    assert receipt.case_id is not None
    return receipt.case_id


def test_a_decision_that_cannot_be_stored_changes_nothing(
        service: ReportService, db: Database, lists: OwnLists) -> None:
    case_id = _case(service, CaseType.UNDER_BLOCKING, "https://casino.test/play")
    before = snapshot(service, case_id)
    block = Statement("We read the page.", Ground.POLICY, DecisionAction.BLOCK_LISTED)
    with audit_refused(db, "decision"), pytest.raises(DatabaseError):
        service.decide(case_id, "maria", block)
    assert snapshot(service, case_id) == before  # no decision, the case still open
    assert read_domains(lists.block_list) == []  # the list change was taken back
    service.decide(case_id, "maria", block)  # decided again, as if nothing happened
    assert service.store.case(case_id).state == CaseState.CLOSED.value  # type: ignore[union-attr]
    assert read_domains(lists.block_list) == ["casino.test"]
    actions = [a.action for a in service.store.audit_trail(case_id)]
    assert actions.count("decision") == 1 and actions.count("block_list_add") == 1


def test_a_reversal_on_appeal_that_cannot_be_stored_changes_nothing(
        service: ReportService, db: Database, lists: OwnLists) -> None:
    case_id = _case(service, CaseType.UNDER_BLOCKING, "https://casino.test/play")
    service.decide(case_id, "maria", Statement("We read the page.", Ground.POLICY,
                                               DecisionAction.BLOCK_LISTED))
    with audit_refused(db, "appeal"), pytest.raises(DatabaseError):
        service.appeal_case(case_id, "it is a maths game", "reporter", ["sam"])
    assert service.store.open_appeal(case_id) is None  # not half open: no appeal, case closed
    assert service.store.case(case_id).state == CaseState.CLOSED.value  # type: ignore[union-attr]
    service.appeal_case(case_id, "it is a maths game", "reporter", ["sam"])
    before = snapshot(service, case_id)
    undo = Statement("A maths game.", Ground.NO_VIOLATION, DecisionAction.NO_ACTION)
    with audit_refused(db, "block_list_remove"), pytest.raises(DatabaseError):
        service.decide(case_id, "sam", undo)
    assert snapshot(service, case_id) == before  # the appeal still open, nothing decided
    assert read_domains(lists.block_list) == ["casino.test"]  # still blocked
    service.decide(case_id, "sam", undo)
    assert read_domains(lists.block_list) == []
    appeal_outcomes = [d.reverses for d in service.store.decisions(case_id)]
    assert appeal_outcomes == [False, True] and service.store.open_appeal(case_id) is None


def test_a_sign_off_that_cannot_be_stored_leaves_the_decision_waiting(
        service: ReportService, db: Database) -> None:
    case_id = _case(service, CaseType.GROOMING, "https://chat.test/u/9", imminent_danger=True)
    service.decide(case_id, "maria", Statement("The account asked for photos.", Ground.ILLEGAL,
                                               DecisionAction.CONTENT_REMOVED))
    before = snapshot(service, case_id)
    with audit_refused(db, "decision_signed_off"), pytest.raises(DatabaseError):
        service.sign_off(case_id, "sam")
    assert snapshot(service, case_id) == before
    assert [d.status for d in service.store.decisions(case_id)] == ["pending"]
    service.sign_off(case_id, "sam")
    assert [d.status for d in service.store.decisions(case_id)] == ["final"]


def test_an_assignment_that_cannot_be_stored_changes_nothing(
        service: ReportService, db: Database) -> None:
    case_id = _case(service, CaseType.BULLYING, "https://forum.test/t/1")
    before = snapshot(service, case_id)
    with audit_refused(db, "assign"), pytest.raises(DatabaseError):
        service.assign(case_id, "maria", actor="lead")
    assert snapshot(service, case_id) == before  # neither assigned nor in triage, unaudited
