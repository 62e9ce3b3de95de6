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
    populated: dict[str, int], store: SqlReportStore, db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    audit_before = len(_ids(db, case_audit))
    recent_audit = sum(1 for a in store.audit_trail(populated["recent"]))
    recent_audit += sum(1 for a in store.audit_trail(populated["old_report_recent_close"])
                        if a.at > NOW - timedelta(days=730))
    with caplog.at_level(logging.INFO, logger="kidshield.reports.retention"):
        run = run_retention(store, RetentionSchedule(), NOW)
    assert run.deleted == {
        "cases": 1,  # old_closed; not the held one, not the open one, not the recent ones
        "reports": 2,  # old_closed's and old_report_recent_close's (its case is closed)
        "evidence": 3,  # old_closed, old_open, old_report_recent_close; not the held case
        "query_log": 1,
        "audit": audit_before - recent_audit,
        "drafts": 1,
    }
    remaining_cases = _ids(db, cases)
    assert populated["old_closed"] not in remaining_cases
    assert set(remaining_cases) == {populated[k] for k in
                                    ("old_held", "old_open", "old_report_recent_close", "recent")}
    with db.engine.connect() as conn:
        report_cases = set(conn.execute(sa.select(reports.c.case_id)).scalars())
        query = sa.select(evidence.c.case_id, evidence.c.content.is_(None))
        purged = {int(c): bool(p) for c, p in conn.execute(query)}
    assert report_cases == {populated[k] for k in ("old_held", "old_open", "recent")}
    assert purged == {populated["old_closed"]: True, populated["old_held"]: False,
                      populated["old_open"]: True, populated["old_report_recent_close"]: True,
                      populated["recent"]: False}
    assert _ids(db, report_drafts, "token") == ["n" * 20]
    assert len(_ids(db, query_log)) == 1
    # the chain still verifies: purged records keep their digests
    from kidshield.reports.evidence import verify

    assert verify(store.evidence()).ok
    # counts are logged and audited, never content
    assert "deleted: cases=1, reports=2, evidence=3, query_log=1" in caplog.text
    assert "private words" not in caplog.text and "a.test" not in caplog.text
    assert store.audit_trail(0) == []
    # a second run finds nothing more
    assert run_retention(store, RetentionSchedule(), NOW).total == 0


def test_dry_run_counts_but_deletes_nothing(
    populated: dict[str, int], store: SqlReportStore, db: Database
) -> None:
    before = {t.name: len(_ids(db, t)) for t in (cases, reports, evidence, query_log, case_audit)}
    run = run_retention(store, RetentionSchedule(), NOW, dry_run=True)
    assert run.dry_run and run.deleted["cases"] == 1 and run.deleted["evidence"] == 3
    after = {t.name: len(_ids(db, t)) for t in (cases, reports, evidence, query_log, case_audit)}
    assert before == after


def test_zero_days_keeps_a_kind(populated: dict[str, int], store: SqlReportStore) -> None:
    run = run_retention(store, RetentionSchedule(query_log=0, cases=0, reports=0, audit=0,
                                                 drafts=0), NOW)
    assert run.deleted == {"cases": 0, "reports": 0, "evidence": 3, "query_log": 0,
                           "audit": 0, "drafts": 0}


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
