"""A case merged into another keeps its evidence, and its row, as long as that case keeps
its own: B is closed by the merge, but its reports are worked on A."""

from __future__ import annotations

from datetime import UTC, datetime

from kidshield.clock import FixedClock
from kidshield.reports.model import CaseType, DecisionAction, Ground, Source, StatementOfReasons
from kidshield.reports.retention import RetentionSchedule
from kidshield.reports.service import NewReport, ReportService

LONG_AGO = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # past every retention time of LONG_AGO


def _grooming(service: ReportService, account: str) -> int:
    receipt = service.submit(NewReport(Source.WEB, CaseType.GROOMING, account=account))
    assert receipt.case_id is not None
    return receipt.case_id


def test_b_keeps_its_evidence_and_row_while_a_is_open_and_loses_them_after(
        service: ReportService, clock: FixedClock) -> None:
    clock.set(LONG_AGO)
    a, b = _grooming(service, "@a"), _grooming(service, "@b")
    service.merge(a, b, "ana")
    clock.set(NOW)
    service.run_retention(RetentionSchedule())
    assert service.store.case(b) is not None
    assert all(e.content is not None for e in service.store.evidence(b))
    assert service.verify_chain().ok
    # once A is decided and past its time, B's evidence goes the normal way
    clock.set(LONG_AGO)
    service.decide(a, "maria", StatementOfReasons("checked", Ground.NO_VIOLATION,
                                                  DecisionAction.NO_ACTION))
    clock.set(NOW)
    service.run_retention(RetentionSchedule())
    assert all(e.content is None for e in service.store.evidence(b))
    assert service.verify_chain().ok
