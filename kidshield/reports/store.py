"""What the reports service needs from storage (``storage/reports_sql.py`` implements it over
SQLAlchemy): plain records of reports, cases, decisions, appeals, audit entries and evidence,
the typed changes the service makes to them, and ``ReportStore``. The vocabulary of the
values (states, grounds, actions) lives in ``reports/model.py``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from kidshield.errors import Conflict
from kidshield.reports.changes import (
    AppealChange,
    CaseChange,
    DecisionChange,
    Settlement,
    SourceChange,
)


@dataclass(frozen=True, slots=True)
class ReportRecord:
    code: str
    created_at: datetime
    source: str
    case_type: str
    url: str | None = None
    account: str | None = None
    description: str = ""
    reporter_role: str = "anonymous"
    contact: str | None = None
    reporter_ip: str | None = None
    imminent_danger: bool = False
    score: float = 0.0
    detail: str = "{}"  # JSON
    case_id: int | None = None
    media_record_id: int | None = None  # imported from media_match_records
    good_faith: bool = False  # the DSA Art. 16(2)(d) statement was confirmed
    source_id: int | None = None  # a known notifier or trusted flagger
    held: bool = False  # from a suspended source: kept, not processed
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MediaMatchForCase:
    """A hash-bank match not yet turned into a report, with its bank's name."""

    record_id: int
    at: datetime
    bank: str
    query_hash: str
    matched_hash: str
    distance: int
    caller: str = ""


@dataclass(frozen=True, slots=True)
class CaseRecord:
    created_at: datetime
    updated_at: datetime
    case_type: str
    state: str = "new"
    priority: int = 0
    dedup_key: str | None = None
    url: str | None = None
    account: str | None = None
    summary: str = ""
    imminent_danger: bool = False
    score: float = 0.0
    reports_count: int = 1
    child_reporter: bool = False
    assignee: str | None = None
    first_action_at: datetime | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    escalated_at: datetime | None = None
    legal_hold: bool = False
    target_at: datetime | None = None  # on-call: act by then
    last_alert_at: datetime | None = None
    alerts: int = 0
    police_notified_at: datetime | None = None
    escalation_closed_at: datetime | None = None
    trusted_flagger: bool = False
    version: int = 0  # bumped by each decision, sign-off and appeal (``CaseChanged``)
    merged_into: int | None = None  # closed by a merge into that case
    id: int | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    case_id: int
    at: datetime
    reviewer: str
    facts: str
    ground: str
    action: str
    appeal_text: str = ""
    on_appeal: bool = False
    reverses: bool = False
    status: str = "final"  # final | pending (awaits a second reviewer) | rejected
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    statement: str = "{}"  # the DSA statement-of-reasons fields, JSON
    unfounded: bool = False  # the notice was manifestly unfounded (DSA Art. 23)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AppealRecord:
    case_id: int
    decision_id: int
    at: datetime
    previous_reviewer: str
    reason: str = ""
    assignee: str | None = None
    decided_at: datetime | None = None
    outcome: str | None = None  # upheld | reversed
    id: int | None = None


@dataclass(frozen=True, slots=True)
class NoteRecord:
    case_id: int
    at: datetime
    author: str
    text: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    case_id: int | None
    at: datetime
    actor: str
    action: str
    detail: str = ""
    id: int | None = None


class CaseChanged(Conflict):
    """Another decision, sign-off or appeal (or, for a change of state, any change of state)
    on the case was stored after this one's writer read the case (two reviewers at the same
    moment): this one is not stored."""

    def __init__(self, case_id: int | None = None, what: str = "decided") -> None:
        case = "this case" if case_id is None else f"case {case_id}"
        super().__init__(f"someone else {what} {case} a moment ago; nothing of yours was "
                         f"stored. Reload the case to see what they did.")


# the "previous hash" of the first evidence item in the chain
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    case_id: int
    at: datetime
    kind: str
    content: str | None  # canonical JSON; None once purged by retention
    content_sha256: str
    prev_hash: str
    record_hash: str
    purged_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class EvidenceHead:
    """A signed (record count, newest record hash) of the evidence chain."""

    at: datetime
    records: int
    head_hash: str
    key_id: str
    signature: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    case_id: int
    at: datetime
    reason: str  # new | realert | overdue
    channel: str
    target: str
    ok: bool
    error: str = ""
    number: int | None = None  # the case's alert it belongs to (``claim_alert``)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class PoliceRecord:
    case_id: int
    recorded_at: datetime
    recorded_by: str
    notified_at: datetime
    authority: str
    method: str
    reference: str = ""
    summary: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SourceRecord:
    created_at: datetime
    kind: str  # trusted_flagger | notifier
    name: str = ""
    key_sha256: str | None = None
    contact_sha256: str | None = None  # HMAC-SHA256 under the contact key (contact_keyed)
    status: str = "active"  # active | warned | suspended
    warned_at: datetime | None = None
    suspended_until: datetime | None = None
    contact_keyed: bool = True  # False: a plain SHA-256 from before migration 0014
    id: int | None = None


# Seal the chain: (record count, newest record hash) -> (key id, signature).
Seal = Callable[[int, str], tuple[str, str]]
# What a decision does outside the database (our list files), run inside its transaction:
# returns the audit entries of it.
Effects = Callable[[], Sequence[AuditRecord]]


class ReportStore(Protocol):
    # reports and drafts
    def add_report(self, report: ReportRecord) -> ReportRecord: ...
    def report_by_code(self, code: str) -> ReportRecord | None: ...
    def reports_for_case(self, case_id: int) -> list[ReportRecord]: ...
    def reports_between(self, start: datetime, end: datetime) -> list[ReportRecord]: ...
    def save_draft(self, token: str, data: str, now: datetime) -> None: ...
    def draft(self, token: str) -> str | None: ...
    def delete_draft(self, token: str) -> None: ...
    # cases
    def add_case(self, case: CaseRecord) -> CaseRecord: ...
    def case(self, case_id: int) -> CaseRecord | None: ...
    def open_case_by_keys(self, keys: Sequence[str]) -> CaseRecord | None:
        """The open case (highest priority first) that has any of the keys."""
        ...

    def add_case_unless_open(self, case: CaseRecord, keys: Sequence[str]
                             ) -> tuple[CaseRecord | None, CaseRecord | None]:
        """Store the new ``case`` with its keys, unless an open case has one of the keys by
        now (another server opened it a moment ago): ``(stored, None)`` or ``(None, open)``.
        The look and the insert are one locked write, so two servers never open two cases
        about one thing."""
        ...

    def add_case_keys(self, case_id: int, keys: Sequence[str]) -> None: ...
    def update_case(self, case_id: int, change: CaseChange,
                    audit: Sequence[AuditRecord] = (),
                    appeal: tuple[int, AppealChange] | None = None, *,
                    if_state: str | None = None, if_reports: int | None = None) -> None:
        """Change a case (and its open appeal) and write the audit entries, at once. With
        ``if_state`` (the state the caller read) only if the case is still in it, else
        ``CaseChanged`` and nothing is stored: a change of state made from what was read
        never reopens a case that a decision closed meanwhile. With ``if_reports`` (the
        report count the caller read) likewise only if no report was merged in since (nor
        the case merged into another)."""
        ...
    def merge_cases(self, into: CaseRecord, source: CaseRecord, into_change: CaseChange,
                    source_change: CaseChange, audit: Sequence[AuditRecord], *,
                    at: datetime, kind: str, content: Callable[[str | None], tuple[str, str]],
                    link: Callable[[str, str], str], seal: Seal | None = None
                    ) -> EvidenceRecord:
        """Move ``source``'s reports and keys to ``into``, change both cases and append the
        merge's record to the evidence chain, in one transaction, only if both cases are
        still at the version and state the caller read (else ``CaseChanged``, nothing
        stored). ``content(source's newest record hash or None)`` gives the record's
        canonical JSON and its digest, ``link(prev_hash, digest)`` its record hash; the
        ``audit`` entries are stored with an "evidence" entry naming the new record."""
        ...

    def queue(self, limit: int = 200, offset: int = 0) -> list[CaseRecord]:
        """Open cases, highest priority first, oldest first within a priority (``offset``
        skips that many)."""
        ...

    def cases_between(self, start: datetime, end: datetime) -> list[CaseRecord]: ...
    # decisions, appeals, notes, audit
    def add_decision(self, decision: DecisionRecord, settle: Settlement | None = None,
                     audit: Sequence[AuditRecord] = (), *, version: int | None = None,
                     then: Effects | None = None) -> DecisionRecord:
        """Store a decision with what it settles and its audit entries, at once. With
        ``version`` (the case's, as the caller read it) only if the case is still at it:
        the version goes up by one, or ``CaseChanged`` is raised and nothing is stored.
        ``then`` runs inside the transaction once the case is claimed so (the list files
        change there); its audit entries are stored too."""
        ...
    def decisions(self, case_id: int) -> list[DecisionRecord]: ...
    def update_decision(self, decision_id: int, change: DecisionChange,
                        settle: Settlement | None = None,
                        audit: Sequence[AuditRecord] = (), *, version: int | None = None,
                        then: Effects | None = None) -> None:
        """Change a decision (a sign-off) with what it settles and its audit entries
        (``version`` and ``then`` as in ``add_decision``)."""
        ...
    def decisions_between(self, start: datetime, end: datetime) -> list[DecisionRecord]: ...
    def add_appeal(self, appeal: AppealRecord, case: CaseChange,
                   audit: Sequence[AuditRecord] = (), *, version: int | None = None
                   ) -> AppealRecord:
        """Store an appeal with the case reopened and the audit entries, at once
        (``version`` as in ``add_decision``)."""
        ...
    def open_appeal(self, case_id: int) -> AppealRecord | None: ...
    def appeals_between(self, start: datetime, end: datetime) -> list[AppealRecord]: ...
    def add_note(self, note: NoteRecord) -> NoteRecord: ...
    def notes(self, case_id: int) -> list[NoteRecord]: ...
    def audit(self, entry: AuditRecord) -> None: ...
    def audit_trail(self, case_id: int) -> list[AuditRecord]: ...
    # evidence chain
    def append_evidence(
        self, case_id: int, at: datetime, kind: str, content: str, content_sha256: str,
        link: Callable[[str], str], seal: Seal | None = None,
    ) -> EvidenceRecord:
        """Insert one record; ``link(prev_hash)`` gives its record hash (atomic with the read
        of the previous record's hash); ``seal`` signs the new head in the same transaction."""
        ...

    def latest_head(self) -> EvidenceHead | None: ...
    def held_case_ids(self) -> list[int]: ...
    def purge_evidence(self, cutoff: datetime, now: datetime, *, dry_run: bool) -> list[int]:
        """Purge the content of records preserved before ``cutoff`` whose case is closed, not
        on hold and has no open escalation (or no longer exists). Returns their ids."""
        ...

    def audited_evidence_ids(self) -> list[int]:
        """Evidence record ids the audit trail says were preserved."""
        ...

    def evidence(self, case_id: int | None = None) -> list[EvidenceRecord]: ...
    # referral assessment, alerts, police, sources
    def referral(self, case_id: int) -> tuple[str, datetime, str] | None:
        """(JSON data, updated at, updated by) of the case's referral assessment."""
        ...

    def save_referral(self, case_id: int, data: str, at: datetime, by: str) -> None: ...
    def claim_alert(self, case_id: int, seen: int, at: datetime) -> int | None:
        """Count an alert about the case at ``at``, in one statement, if its count is still
        ``seen`` (what the caller read): the alert's number, or None when another server
        alerted meanwhile (it pages, not this one)."""
        ...

    def add_alert(self, alert: AlertRecord) -> None:
        """Record one channel's attempt; the same alert number, channel and target again is
        no new row."""
        ...

    def alerts(self, case_id: int) -> list[AlertRecord]: ...
    def critical_open_cases(self) -> list[CaseRecord]:
        """Open cases with imminent danger or abuse material (the on-call sweep)."""
        ...

    def add_police(self, record: PoliceRecord) -> PoliceRecord: ...
    def police(self, case_id: int) -> list[PoliceRecord]: ...
    def add_source(self, source: SourceRecord) -> SourceRecord: ...
    def source(self, source_id: int) -> SourceRecord | None: ...
    def source_by(self, *, key_sha256: str | None = None,
                  contact_sha256: str | None = None) -> SourceRecord | None: ...
    def sources(self) -> list[SourceRecord]: ...
    def key_contacts(self, keyed: Callable[[str], str]) -> int: ...
    def update_source(self, source_id: int, change: SourceChange,
                      audit: Sequence[AuditRecord] = ()) -> None: ...
    def unfounded_notices(self, source_id: int, since: datetime) -> int:
        """Reports from the source whose case was decided as manifestly unfounded since."""
        ...

    # wellbeing
    def add_reveal(self, user: str, day: date) -> int: ...
    def reveals(self, user: str, day: date) -> int: ...
    # transparency and retention
    def hash_matches_by_bank(self, start: datetime, end: datetime) -> dict[str, int]: ...
    def open_at(self, end: datetime) -> list[CaseRecord]:
        """Cases opened before ``end`` and not closed by then (the backlog)."""
        ...

    def audit_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Audit entries per action in [start, end)."""
        ...

    def new_media_matches(self, since: datetime, limit: int = 1000) -> list[MediaMatchForCase]:
        """Match records at or after ``since``, not cancelled, not yet imported, oldest first."""
        ...

    def expire(self, kind: str, cutoff: datetime, now: datetime, *, dry_run: bool) -> int:
        """Delete (or, for evidence, purge the content of) records of ``kind`` older than
        ``cutoff``; legal holds and open cases are kept. Returns how many."""
        ...
