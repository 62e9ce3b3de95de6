"""Reports in, cases out: intake with de-duplication, notice sources (trusted flaggers, misuse
holds), triage and assignment, notes, and the reporter's status. Decisions and appeals are in
``decisions.py``, escalation, evidence and the emergency path in ``hotline.py``; the shared
core in ``core.py``. Every view and change is audited."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from kidshield.errors import Conflict, InputError, Unauthorized
from kidshield.reports import evidence as chain
from kidshield.reports.changes import (
    KEEP,
    AppealChange,
    CaseChange,
)
from kidshield.reports.decisions import DecisionsMixin
from kidshield.reports.hotline import HotlineMixin
from kidshield.reports.merge import MergeMixin
from kidshield.reports.model import (
    STATE_TEXT,
    CaseState,
    CaseType,
    ReporterRole,
    Risk,
    check_transition,
    dedup_keys,
    new_receipt_code,
    normalize_receipt_code,
    normalize_url,
    priority,
)
from kidshield.reports.oncall import is_critical, target_time
from kidshield.reports.records import CaseNotFound as CaseNotFound
from kidshield.reports.records import CaseView as CaseView
from kidshield.reports.records import NewReport as NewReport
from kidshield.reports.records import Receipt as Receipt
from kidshield.reports.records import ReportStatus as ReportStatus
from kidshield.reports.records import ReviewerConflict as ReviewerConflict
from kidshield.reports.records import statement_of
from kidshield.reports.sources import (
    NOTIFIER,
    TRUSTED_FLAGGER,
    contact_digest,
    digest,
    is_suspended,
)
from kidshield.reports.store import (
    CaseChanged,
    CaseRecord,
    NoteRecord,
    ReportRecord,
    SourceRecord,
)

# Merges of reports into one case on several servers at once: each refused one is built
# again on the case as stored (one more try per other server is plenty).
MERGE_ATTEMPTS = 8

# Evidence is preserved automatically for these types (they may need escalation).
PRESERVED_TYPES = frozenset({CaseType.ABUSE_MATERIAL, CaseType.GROOMING})


class UnknownFlagger(Unauthorized):
    """A trusted-flagger key that no flagger holds."""


class ReportService(DecisionsMixin, HotlineMixin, MergeMixin):
    # -- intake -----------------------------------------------------------------------------------
    def _source_for(self, report: NewReport) -> SourceRecord | None:
        """The known source of a notice: the trusted flagger holding the key, or the notifier
        behind an e-mail contact (made on first sight). Anonymous notices have none."""
        if report.flagger_key:
            source = self.store.source_by(key_sha256=digest(report.flagger_key))
            if source is None or source.kind != TRUSTED_FLAGGER:
                raise UnknownFlagger("no trusted flagger holds that key", field="X-Flagger-Key")
            return source
        key = contact_digest(report.contact, self.contact_key)
        if key is None:
            return None
        found = self.store.source_by(contact_sha256=key)
        return found or self.store.add_source(
            SourceRecord(self.clock.now(), NOTIFIER, contact_sha256=key))

    def submit(self, report: NewReport) -> Receipt:
        """Record a report, merge it into an open case about the same thing or open a new one,
        page the on-call reviewers when it is critical, and return the reporter's receipt."""
        url = normalize_url(report.url) if report.url else None
        account = (report.account or "").strip() or None
        if not (url or account or report.description.strip() or report.file_hash
                or report.conversation):
            raise InputError("a report needs a web address (url), an account or a description")
        now = self.clock.now()
        source = self._source_for(report)
        if source is not None and is_suspended(source.suspended_until, now):
            return self._hold(report, source, url, account, now)
        trusted = source is not None and source.kind == TRUSTED_FLAGGER
        keys = dedup_keys(url=url, file_hash=report.file_hash,
                          conversation=report.conversation, account=account)
        existing = self.store.open_case_by_keys(keys)
        child = report.reporter_role is ReporterRole.CHILD
        opened = None
        if existing is None:
            # looked for again under the lock: another server may have opened it meanwhile
            opened, existing = self.store.add_case_unless_open(
                self._new_case(report, keys[0] if keys else None, url, account, child,
                               trusted, now), keys)
        was_critical = False
        if existing is not None and existing.id is not None:
            # "newly critical" judged by the case this merge was built on: the one first read
            # may be stale (another server's merge made it critical and paged already)
            before, case = self._merge(existing, report, child, trusted, now)
            was_critical = is_critical(before.case_type, before.imminent_danger)
            # the report's other keys now find this case too (a new case got them all)
            self.store.add_case_keys(existing.id, keys)
        else:
            assert opened is not None
            case = opened
        assert case.id is not None
        record = self.store.add_report(self._record(report, url, account, now, case.id,
                                                    source))
        merged = existing is not None
        self._audit(case.id, report.source.value, "report_merged" if merged else "report_received",
                    f"report {record.id} ({report.case_type.value})")
        if CaseType(case.case_type) in PRESERVED_TYPES:
            self.preserve(case.id, "report", _report_evidence(record), actor="system")
        if is_critical(case.case_type, case.imminent_danger) and not was_critical \
                and self.alerter is not None:
            self.alerter.alert(case, "new")
        if self.mail is not None and self.mail.receipt(
                record.contact, record.code, self._status_link(record.code), None):
            self._audit(case.id, "system", "receipt_sent", f"report {record.id}")
        return Receipt(record.code, case.id, merged)

    def _status_link(self, code: str) -> str:
        return self.settings.link(f"/report/status/{code}")

    def _record(self, report: NewReport, url: str | None, account: str | None, now: datetime,
                case_id: int | None, source: SourceRecord | None,
                held: bool = False) -> ReportRecord:
        detail = dict(report.detail)
        if report.file_hash:
            detail["file_hash"] = report.file_hash.lower()
        if report.conversation:
            detail["conversation"] = report.conversation
        return ReportRecord(
            code=new_receipt_code(),
            created_at=now,
            source=report.source.value,
            case_type=report.case_type.value,
            url=url,
            account=account,
            description=report.description.strip(),
            reporter_role=report.reporter_role.value,
            contact=(report.contact or "").strip() or None,
            reporter_ip=report.reporter_ip,
            imminent_danger=report.imminent_danger,
            score=report.score,
            detail=chain.canonical_json(detail),
            case_id=case_id,
            media_record_id=report.media_record_id,
            good_faith=report.good_faith,
            source_id=source.id if source is not None else None,
            held=held,
        )

    def _hold(self, report: NewReport, source: SourceRecord, url: str | None,
              account: str | None, now: datetime) -> Receipt:
        """A notice from a suspended source: kept (and receipted), not processed (Art. 23)."""
        record = self.store.add_report(self._record(report, url, account, now, None, source,
                                                    held=True))
        self._audit(None, "system", "report_held", f"report {record.id} from suspended "
                    f"source {source.id}")
        if self.mail is not None:
            self.mail.receipt(record.contact, record.code, self._status_link(record.code),
                              source.suspended_until)
        return Receipt(record.code, None, False, source.suspended_until)

    def _new_case(self, report: NewReport, key: str | None, url: str | None,
                  account: str | None, child: bool, trusted: bool,
                  now: datetime) -> CaseRecord:
        """The case a first report opens (not stored yet)."""
        risk = Risk(report.case_type, report.imminent_danger, report.score, 1, child, trusted)
        summary = report.description.strip().splitlines()[0][:200] if report.description else ""
        return CaseRecord(
            created_at=now, updated_at=now, case_type=report.case_type.value,
            state=CaseState.NEW.value, priority=priority(risk), dedup_key=key, url=url,
            account=account, summary=summary, imminent_danger=report.imminent_danger,
            score=report.score, reports_count=1, child_reporter=child,
            trusted_flagger=trusted,
            target_at=target_time(now, report.case_type.value, report.imminent_danger,
                                  self.settings.oncall),
        )

    def _merge(self, case: CaseRecord, report: NewReport, child: bool, trusted: bool,
               now: datetime) -> tuple[CaseRecord, CaseRecord]:
        """Fold the report into the case, built on the case as last stored: a merge built on
        a row that another server's merge changed meanwhile would undo it (its count, its
        danger), so that one is refused and this one built again on the new row. Returns the
        case the stored merge was built on, and the merged case."""
        for _ in range(MERGE_ATTEMPTS - 1):
            try:
                return case, self._merge_once(case, report, child, trusted, now)
            except CaseChanged:
                assert case.id is not None
                case = self.store.case(case.id) or case
                if case.merged_into is not None:  # an analyst merged it meanwhile: join that
                    case = self.store.case(case.merged_into) or case
        return case, self._merge_once(case, report, child, trusted, now)

    def _merge_once(self, case: CaseRecord, report: NewReport, child: bool, trusted: bool,
                    now: datetime) -> CaseRecord:
        case_type = CaseType(case.case_type)
        if priority(Risk(report.case_type)) > priority(Risk(case_type)):
            case_type = report.case_type  # a more serious type wins
        risk = Risk(
            case_type,
            case.imminent_danger or report.imminent_danger,
            max(case.score, report.score),
            case.reports_count + 1,
            case.child_reporter or child,
            case.trusted_flagger or trusted,
        )
        # the deadline only ever moves closer: a report of danger now shortens it
        target = target_time(now, case_type.value, risk.imminent_danger, self.settings.oncall)
        closer = target is not None and (case.target_at is None or target < case.target_at)
        change = CaseChange(
            case_type=case_type.value, imminent_danger=risk.imminent_danger, score=risk.score,
            reports_count=risk.reports, child_reporter=risk.child_reporter,
            priority=priority(risk), updated_at=now, trusted_flagger=risk.trusted_flagger,
            target_at=target if closer else KEEP)
        assert case.id is not None
        self.store.update_case(case.id, change, if_reports=case.reports_count)
        return dataclasses.replace(case, **change.values())

    def status(self, code: str) -> ReportStatus:
        """What the reporter may see: the state in plain words and the statement of reasons."""
        report = self.store.report_by_code(normalize_receipt_code(code))
        if report is None:
            raise CaseNotFound("no report with that receipt code (it may have expired)")
        if report.case_id is None:
            source = self.store.source(report.source_id) if report.source_id else None
            until = source.suspended_until if source is not None else None
            return ReportStatus(report.code, report.created_at, CaseState.NEW,
                                "Reports from this address are suspended for now; yours is "
                                "kept but not processed.", None, False, False, None, until)
        case = self.store.case(report.case_id)
        if case is None:
            raise CaseNotFound("this report's case has been deleted after its retention time")
        state = CaseState(case.state)
        decisions = self._final_decisions(report.case_id)
        last = decisions[-1] if decisions else None
        appeal_open = self.store.open_appeal(report.case_id) is not None
        days = self.settings.appeal_window.days
        shown = (
            statement_of(last, days).to_dict() if last is not None and state is CaseState.CLOSED
            else None
        )
        deadline = last.at + self.settings.appeal_window if last is not None else None
        return ReportStatus(
            code=report.code,
            received_at=report.created_at,
            state=state,
            state_text=STATE_TEXT[state],
            decision=shown,
            appeal_open=appeal_open,
            can_appeal=(shown is not None and not appeal_open and not (last and last.on_appeal)
                        and deadline is not None and self.clock.now() <= deadline),
            appeal_deadline=deadline if shown is not None else None,
        )

    # -- drafts -----------------------------------------------------------------------------------
    def save_draft(self, token: str, data: dict[str, Any]) -> None:
        if not 16 <= len(token) <= 64 or not token.replace("-", "").isalnum():
            raise InputError("draft token must be 16-64 letters, digits or '-'", field="token")
        self.store.save_draft(token, json.dumps(data)[:20_000], self.clock.now())

    def draft(self, token: str) -> dict[str, Any] | None:
        text = self.store.draft(token)
        if text is None:
            return None
        value = json.loads(text)
        return value if isinstance(value, dict) else None

    # -- the queue and a case -------------------------------------------------------------------
    def queue(self, actor: str, limit: int = 200, offset: int = 0) -> list[CaseRecord]:
        self._audit(None, actor, "queue_view")
        return self.store.queue(limit, offset)

    def assign(self, case_id: int, assignee: str, actor: str) -> None:
        case = self._case(case_id)
        if self.case_worker is not None:
            # a case given to a name nobody signs in as sits "taken" while no one works it,
            # and the on-call pages stop repeating (they repeat for unassigned cases only)
            account = self.case_worker(assignee)
            if account is None:
                raise InputError(f"no account named {assignee!r} may work cases: assign it to "
                                 "a moderator, analyst or admin account", field="assignee")
            assignee = account
        appeal = self.store.open_appeal(case_id)
        if appeal is not None and assignee == appeal.previous_reviewer:
            raise ReviewerConflict(
                f"{assignee} made the decision under appeal; assign the appeal to someone else"
            )
        triage = case.state == CaseState.NEW.value
        change = CaseChange(assignee=assignee, updated_at=self.clock.now(),
                            state=CaseState.TRIAGE.value if triage else KEEP)
        on_appeal = (appeal.id, AppealChange(assignee=assignee)) if appeal is not None and \
            appeal.id is not None else None
        self.store.update_case(case_id, change, [self._entry(case_id, actor, "assign", assignee)],
                               appeal=on_appeal, if_state=case.state if triage else None)

    def move(self, case_id: int, target: CaseState, actor: str) -> None:
        case = self._case(case_id)
        check_transition(CaseState(case.state), target)
        if target is CaseState.CLOSED and is_critical(case.case_type, case.imminent_danger):
            raise Conflict("a case about a child in danger now or abuse material is closed "
                           "only by a decision: after escalation, or signed off by a second "
                           "reviewer", field="state")
        now = self.clock.now()
        first = target is CaseState.ACTION and case.first_action_at is None
        change = CaseChange(state=target.value, updated_at=now,
                            first_action_at=now if first else KEEP,
                            closed_at=now if target is CaseState.CLOSED else KEEP)
        self.store.update_case(case_id, change, [
            self._entry(case_id, actor, "state", f"{case.state} -> {target.value}")],
            if_state=case.state)

    def add_note(self, case_id: int, author: str, text: str) -> NoteRecord:
        self._case(case_id)
        if not text.strip():
            raise InputError("a note needs some text (text)", field="text")
        note = self.store.add_note(NoteRecord(case_id, self.clock.now(), author, text.strip()))
        self._audit(case_id, author, "note", f"note {note.id}")
        return note

    # -- wellbeing --------------------------------------------------------------------------------
    def reveal(self, case_id: int, actor: str) -> int:
        """Record that ``actor`` chose to reveal blurred text evidence; returns their count of
        reveals today (shown to them as a wellbeing prompt)."""
        self._read_case(case_id)
        count = self.store.add_reveal(actor, self.clock.now().date())
        self._audit(case_id, actor, "reveal", f"reveal {count} today")
        return count

    def exposure_today(self, actor: str) -> int:
        return self.store.reveals(actor, self.clock.now().date())


def _report_evidence(record: ReportRecord) -> dict[str, Any]:
    return {
        "report_id": record.id,
        "received_at": record.created_at.isoformat(),
        "source": record.source,
        "case_type": record.case_type,
        "url": record.url,
        "account": record.account,
        "description": record.description,
        "reporter_role": record.reporter_role,
        "reporter_ip": record.reporter_ip,
        "good_faith": record.good_faith,
        "detail": json.loads(record.detail),
    }
