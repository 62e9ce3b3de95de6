"""The retention job deletes exactly what is past its time: nothing under legal hold, nothing
of an open case, and it logs counts, never content."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.config import parse_config
from kidshield.errors import ConfigError
from kidshield.reports.model import CaseType, DecisionAction, Ground, Source, StatementOfReasons
from kidshield.reports.retention import RetentionSchedule, next_daily_run, run_retention
from kidshield.reports.service import NewReport, ReportService
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore
from kidshield.storage.schema import case_audit, cases, evidence, query_log, report_drafts, reports

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LONG_AGO = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)  # 851 days before NOW


def _case(service: ReportService, url: str, *, close: bool, hold: bool = False) -> int:
    receipt = service.submit(NewReport(Source.WEB, CaseType.BULLYING, url=url,
                                       description="private words"))
    service.preserve(receipt.case_id, "note", {"url": url}, actor="maria")
    if close:
        service.decide(receipt.case_id, "maria", StatementOfReasons(
            "checked", Ground.NO_VIOLATION, DecisionAction.NO_ACTION))
    if hold:
        service.set_legal_hold(receipt.case_id, True, "ann")
    return receipt.case_id


@pytest.fixture
def populated(service: ReportService, clock: FixedClock, db: Database) -> dict[str, int]:
    clock.set(LONG_AGO)
    ids = {
        "old_closed": _case(service, "https://a.test/", close=True),
        "old_held": _case(service, "https://b.test/", close=True, hold=True),
        "old_open": _case(service, "https://c.test/", close=False),
        "old_report_recent_close": _case(service, "https://e.test/", close=False),
    }
    service.save_draft("d" * 20, {"url": "old"})
    clock.set(NOW - timedelta(days=30))
    service.decide(ids["old_report_recent_close"], "maria", StatementOfReasons(
        "checked", Ground.NO_VIOLATION, DecisionAction.NO_ACTION))
    clock.set(NOW - timedelta(days=1))
    ids["recent"] = _case(service, "https://d.test/", close=True)
    service.save_draft("n" * 20, {"url": "new"})
    clock.set(NOW)
    with db.engine.begin() as conn:
        for days in (8, 6):
            conn.execute(query_log.insert().values(
                ts=(NOW - timedelta(days=days)).timestamp(), profile="kid", name="x.test",
                qtype="A", action="allow", reason="allowed"))
    return ids


def _ids(db: Database, table: sa.Table, column: str = "id") -> list[object]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(table.c[column]).order_by(table.c[column])).scalars())


def test_retention_deletes_exactly_what_is_expired(
    populated: dict[str, int], service: ReportService, store: SqlReportStore, db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="kidshield.reports.retention"):
        run = service.run_retention(RetentionSchedule())
    assert run.deleted == {
        "cases": 1,  # old_closed; not the held one, not the open one, not the recent ones
        "reports": 2,  # old_closed's and old_report_recent_close's (its case is closed)
        "evidence": 2,  # old_closed's, old_report_recent_close's; not held, not open
        "query_log": 1,
        "audit": 0,  # every trail belongs to a case that exists or was deleted just now
        "drafts": 1,
    }
    remaining_cases = _ids(db, cases)
    assert populated["old_closed"] not in remaining_cases
    assert set(remaining_cases) == {populated[k] for k in
                                    ("old_held", "old_open", "old_report_recent_close", "recent")}
    with db.engine.connect() as conn:
        report_cases = set(conn.execute(sa.select(reports.c.case_id)).scalars())
        query = sa.select(evidence.c.case_id, evidence.c.content.is_(None)).where(
            evidence.c.kind != "retention_purge")
        purged = {int(c): bool(p) for c, p in conn.execute(query)}
    assert report_cases == {populated[k] for k in ("old_held", "old_open", "recent")}
    assert purged == {populated["old_closed"]: True, populated["old_held"]: False,
                      populated["old_open"]: False, populated["old_report_recent_close"]: True,
                      populated["recent"]: False}
    assert _ids(db, report_drafts, "token") == ["n" * 20]
    assert len(_ids(db, query_log)) == 1
    # the deleted case's audit trail outlives it, and says it was deleted
    trail = store.audit_trail(populated["old_closed"])
    assert trail[0].action == "report_received" and trail[-1].action == "case_deleted"
    # the chain still verifies: purged records keep their digests and the purge is recorded
    assert service.verify_chain().ok
    # counts are logged and audited, never content
    assert "deleted: cases=1, reports=2, evidence=2, query_log=1" in caplog.text
    assert "private words" not in caplog.text and "a.test" not in caplog.text
    # a second run finds nothing more
    assert service.run_retention(RetentionSchedule()).total == 0


def test_dry_run_counts_but_deletes_nothing(
    populated: dict[str, int], store: SqlReportStore, db: Database
) -> None:
    before = {t.name: len(_ids(db, t)) for t in (cases, reports, evidence, query_log, case_audit)}
    run = run_retention(store, RetentionSchedule(), NOW, dry_run=True)
    assert run.dry_run and run.deleted["cases"] == 1 and run.deleted["evidence"] == 2
    after = {t.name: len(_ids(db, t)) for t in (cases, reports, evidence, query_log, case_audit)}
    assert before == after


def test_zero_days_keeps_a_kind(populated: dict[str, int], service: ReportService) -> None:
    run = service.run_retention(RetentionSchedule(query_log=0, cases=0, reports=0, audit=0,
                                                  drafts=0))
    assert run.deleted == {"cases": 0, "reports": 0, "evidence": 2, "query_log": 0,
                           "audit": 0, "drafts": 0}


def test_at_366_and_731_days_hotline_evidence_and_every_audit_trail_stay(
    service: ReportService, clock: FixedClock, db: Database
) -> None:
    """The issue's regression: an open escalated case, an untouched imminent case and a case
    on legal hold keep their evidence at +366 days, and at +731 days every audit trail (the
    legal-hold case's included) is still there; the chain verifies after both runs."""
    clock.set(NOW)
    escalated = service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL,
                                         url="https://x.test/a")).case_id
    service.escalate(escalated, "ann", authority="National hotline")
    imminent = service.submit(NewReport(Source.CHILD_FORM, CaseType.GROOMING,
                                        account="stranger", imminent_danger=True)).case_id
    held = service.submit(NewReport(Source.WEB, CaseType.GROOMING, url="https://y.test/")).case_id
    service.decide(held, "maria", StatementOfReasons("seen", Ground.POLICY,
                                                     DecisionAction.WARNING))
    service.set_legal_hold(held, True, "ann")
    assert service.store.case(held).state == "closed"  # type: ignore[union-attr]
    trails = {c: len(service.store.audit_trail(c)) for c in (escalated, imminent, held)}
    for days in (366, 731):
        clock.set(NOW + timedelta(days=days))
        service.run_retention(RetentionSchedule())
        for case_id in (escalated, imminent, held):
            records = service.store.evidence(case_id)
            assert records and all(r.content is not None for r in records), (days, case_id)
            assert len(service.store.audit_trail(case_id)) >= trails[case_id], (days, case_id)
            assert service.store.case(case_id) is not None
        assert service.verify_chain().ok
    # once the escalation is concluded and the hold lifted, the normal periods apply again
    service.close_escalation(escalated, "ann", "acknowledged by the hotline")
    service.set_legal_hold(held, False, "ann")
    service.run_retention(RetentionSchedule())
    assert all(r.content is None for r in service.store.evidence(held))
    assert all(r.content is not None for r in service.store.evidence(escalated))  # still open
    assert service.verify_chain().ok


def test_evidence_is_kept_at_least_a_year() -> None:
    with pytest.raises(ValueError, match="365"):
        RetentionSchedule(evidence=30)
    with pytest.raises(ConfigError, match=r"reports\.evidence_retention_days"):
        parse_config("[reports]\nevidence_retention_days = 30\n", "k.toml")
    config = parse_config("[reports]\nevidence_retention_days = 400\n[logging]\n"
                          "retention_days = 3\n", "k.toml")
    schedule = RetentionSchedule.from_config(config)
    assert (schedule.evidence, schedule.query_log, schedule.cases) == (400, 3, 730)


def test_daily_job_runs_at_three_utc() -> None:
    assert next_daily_run(NOW) == datetime(2026, 5, 2, 3, 0, tzinfo=UTC)
    assert next_daily_run(NOW.replace(hour=1)) == datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
