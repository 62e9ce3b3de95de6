"""What the reports service takes and gives: plain records and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kidshield.errors import Conflict, NotFound
from kidshield.reports.model import (
    APPEAL_WINDOW_DAYS,
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    ReporterRole,
    Source,
    Statement,
    StatementOfReasons,
)
from kidshield.reports.referral import Referral
from kidshield.reports.store import (
    AlertRecord,
    AppealRecord,
    AuditRecord,
    CaseRecord,
    DecisionRecord,
    EvidenceRecord,
    NoteRecord,
    PoliceRecord,
    ReportRecord,
)


class CaseNotFound(NotFound):
    """No case (or report) with that id or code."""


class MergedCase(Conflict):
    """The case was merged into another: it is closed and only read; work goes on there."""

    def __init__(self, case_id: int, into: int) -> None:
        super().__init__(f"case {case_id} was merged into case #{into}: it is closed and "
                         f"kept as it was; work on case #{into}", field="case_id")
        self.into = into


class ReviewerConflict(Conflict):
    """An appeal must be decided by someone other than the reviewer of the first decision."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="reviewer")


@dataclass(frozen=True, slots=True)
class NewReport:
    source: Source
    case_type: CaseType
    url: str | None = None
    account: str | None = None
    description: str = ""
    reporter_role: ReporterRole = ReporterRole.ANONYMOUS
    contact: str | None = None
    reporter_ip: str | None = None  # only when the reporter opted in
    imminent_danger: bool = False
    score: float = 0.0
    file_hash: str | None = None
    conversation: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    media_record_id: int | None = None  # the media_match_records row it came from
    good_faith: bool = False  # "I confirm in good faith ..." (DSA Art. 16(2)(d))
    flagger_key: str | None = None  # a trusted flagger's key (API submissions)


@dataclass(frozen=True, slots=True)
class Receipt:
    code: str
    case_id: int | None  # None: held, from a suspended source
    merged: bool  # joined an open case about the same thing
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportStatus:
    code: str
    received_at: datetime
    state: CaseState
    state_text: str
    decision: Statement | None
    appeal_open: bool
    can_appeal: bool
    appeal_deadline: datetime | None = None
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    case: CaseRecord
    reports: list[ReportRecord]
    decisions: list[DecisionRecord]
    notes: list[NoteRecord]
    appeal: AppealRecord | None
    evidence: list[EvidenceRecord]
    audit: list[AuditRecord]
    referral: Referral = field(default_factory=Referral)
    alerts: list[AlertRecord] = field(default_factory=list)
    police: list[PoliceRecord] = field(default_factory=list)

    @property
    def pending_decision(self) -> DecisionRecord | None:
        return next((d for d in self.decisions if d.status == "pending"), None)


def statement_of(decision: DecisionRecord, appeal_days: int = APPEAL_WINDOW_DAYS
                 ) -> StatementOfReasons:
    return StatementOfReasons(
        facts=decision.facts,
        ground=Ground(decision.ground),
        action=DecisionAction(decision.action),
        appeal=decision.appeal_text,
        appeal_days=appeal_days,
    )
