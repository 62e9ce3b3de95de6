"""Reports in, cases out: intake with de-duplication, triage and assignment, decisions with a
statement of reasons, appeals to a different reviewer, evidence preservation, escalation,
and decisions acting on kidshield's own lists. Every view and change is audited."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from kidshield.clock import Clock
from kidshield.errors import Conflict, InputError
from kidshield.reports import evidence as chain
from kidshield.reports import lists as own_lists
from kidshield.reports.lists import OwnLists
from kidshield.reports.model import (
    STATE_TEXT,
    CaseState,
    CaseType,
    DecisionAction,
    ReporterRole,
    Risk,
    StatementOfReasons,
    check_transition,
    dedup_keys,
    domain_of,
    new_receipt_code,
    normalize_receipt_code,
    normalize_url,
    priority,
)
from kidshield.reports.records import CaseNotFound as CaseNotFound
from kidshield.reports.records import CaseView as CaseView
from kidshield.reports.records import NewReport as NewReport
from kidshield.reports.records import Receipt as Receipt
from kidshield.reports.records import ReportStatus as ReportStatus
from kidshield.reports.records import ReviewerConflict as ReviewerConflict
from kidshield.reports.records import statement_of
from kidshield.storage.protocols import (
    AppealRecord,
    AuditRecord,
    CaseRecord,
    DecisionRecord,
    EvidenceRecord,
    NoteRecord,
    ReportRecord,
    ReportStore,
)

# Evidence is preserved automatically for these types (they may need escalation).
PRESERVED_TYPES = frozenset({CaseType.ABUSE_MATERIAL, CaseType.GROOMING})


class ReportService:
    def __init__(
        self,
        store: ReportStore,
        clock: Clock,
        lists: OwnLists | None = None,
        on_lists_changed: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lists = lists
        self.on_lists_changed = on_lists_changed

    # -- audit ------------------------------------------------------------------------------------
    def _audit(self, case_id: int | None, actor: str, action: str, detail: str = "") -> None:
        self.store.audit(AuditRecord(case_id, self.clock.now(), actor, action, detail))

    def _case(self, case_id: int) -> CaseRecord:
        case = self.store.case(case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return case

    # -- intake -----------------------------------------------------------------------------------
    def submit(self, report: NewReport) -> Receipt:
        """Record a report, merge it into an open case about the same thing or open a new one,
        and return the reporter's receipt."""
        url = normalize_url(report.url) if report.url else None
        account = (report.account or "").strip() or None
        if not (url or account or report.description.strip() or report.file_hash
                or report.conversation):
            raise InputError("a report needs a web address (url), an account or a description")
        now = self.clock.now()
        keys = dedup_keys(url=url, file_hash=report.file_hash,
                          conversation=report.conversation, account=account)
        existing = self.store.open_case_by_keys(keys)
        child = report.reporter_role is ReporterRole.CHILD
        if existing is not None and existing.id is not None:
            case = self._merge(existing, report, child, now)
        else:
            case = self._open(report, keys[0] if keys else None, url, account, child, now)
        assert case.id is not None
        self.store.add_case_keys(case.id, keys)
        detail = dict(report.detail)
        if report.file_hash:
            detail["file_hash"] = report.file_hash.lower()
        if report.conversation:
            detail["conversation"] = report.conversation
        record = self.store.add_report(
            ReportRecord(
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
                case_id=case.id,
                media_record_id=report.media_record_id,
            )
        )
        merged = existing is not None
        self._audit(case.id, report.source.value, "report_merged" if merged else "report_received",
                    f"report {record.id} ({report.case_type.value})")
        if CaseType(case.case_type) in PRESERVED_TYPES:
            self.preserve(case.id, "report", _report_evidence(record), actor="system")
        return Receipt(record.code, case.id, merged)

    def _open(self, report: NewReport, key: str | None, url: str | None, account: str | None,
              child: bool, now: datetime) -> CaseRecord:
        risk = Risk(report.case_type, report.imminent_danger, report.score, 1, child)
        summary = report.description.strip().splitlines()[0][:200] if report.description else ""
        return self.store.add_case(
            CaseRecord(
                created_at=now, updated_at=now, case_type=report.case_type.value,
                state=CaseState.NEW.value, priority=priority(risk), dedup_key=key, url=url,
                account=account, summary=summary, imminent_danger=report.imminent_danger,
                score=report.score, reports_count=1, child_reporter=child,
            )
        )

    def _merge(self, case: CaseRecord, report: NewReport, child: bool,
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
        )
        values: dict[str, Any] = {
            "case_type": case_type.value, "imminent_danger": risk.imminent_danger,
            "score": risk.score, "reports_count": risk.reports,
            "child_reporter": risk.child_reporter, "priority": priority(risk), "updated_at": now,
        }
        assert case.id is not None
        self.store.update_case(case.id, **values)
        return dataclasses.replace(case, **values)

    def status(self, code: str) -> ReportStatus:
        """What the reporter may see: the state in plain words and the statement of reasons."""
        report = self.store.report_by_code(normalize_receipt_code(code))
        if report is None or report.case_id is None:
            raise CaseNotFound("no report with that receipt code (it may have expired)")
        case = self.store.case(report.case_id)
        if case is None:
            raise CaseNotFound("this report's case has been deleted after its retention time")
        state = CaseState(case.state)
        decisions = self.store.decisions(report.case_id)
        last = decisions[-1] if decisions else None
        appeal_open = self.store.open_appeal(report.case_id) is not None
        shown = (
            statement_of(last).to_dict() if last is not None and state is CaseState.CLOSED
            else None
        )
        return ReportStatus(
            code=report.code,
            received_at=report.created_at,
            state=state,
            state_text=STATE_TEXT[state],
            decision=shown,
            appeal_open=appeal_open,
            can_appeal=shown is not None and not appeal_open and not (last and last.on_appeal),
        )

    def affected_notice(self, case_id: int) -> dict[str, str] | None:
        """The statement of reasons for the affected account (no reporter details in it)."""
        decisions = self.store.decisions(case_id)
        return statement_of(decisions[-1]).to_dict() if decisions else None

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
    def queue(self, actor: str, limit: int = 200) -> list[CaseRecord]:
        self._audit(None, actor, "queue_view")
        return self.store.queue(limit)

    def view(self, case_id: int, actor: str) -> CaseView:
        case = self._case(case_id)
        self._audit(case_id, actor, "view")
        return CaseView(
            case=case,
            reports=self.store.reports_for_case(case_id),
            decisions=self.store.decisions(case_id),
            notes=self.store.notes(case_id),
            appeal=self.store.open_appeal(case_id),
            evidence=self.store.evidence(case_id),
            audit=self.store.audit_trail(case_id),
        )

    def assign(self, case_id: int, assignee: str, actor: str) -> None:
        case = self._case(case_id)
        appeal = self.store.open_appeal(case_id)
        if appeal is not None and assignee == appeal.previous_reviewer:
            raise ReviewerConflict(
                f"{assignee} made the decision under appeal; assign the appeal to someone else"
            )
        values: dict[str, Any] = {"assignee": assignee, "updated_at": self.clock.now()}
        if case.state == CaseState.NEW.value:
            values["state"] = CaseState.TRIAGE.value
        self.store.update_case(case_id, **values)
        if appeal is not None and appeal.id is not None:
            self.store.update_appeal(appeal.id, assignee=assignee)
        self._audit(case_id, actor, "assign", assignee)

    def move(self, case_id: int, target: CaseState, actor: str) -> None:
        case = self._case(case_id)
        check_transition(CaseState(case.state), target)
        now = self.clock.now()
        values: dict[str, Any] = {"state": target.value, "updated_at": now}
        if target is CaseState.ACTION and case.first_action_at is None:
            values["first_action_at"] = now
        if target is CaseState.CLOSED:
            values["closed_at"] = now
        self.store.update_case(case_id, **values)
        self._audit(case_id, actor, "state", f"{case.state} -> {target.value}")

    def add_note(self, case_id: int, author: str, text: str) -> NoteRecord:
        self._case(case_id)
        if not text.strip():
            raise InputError("a note needs some text (text)", field="text")
        note = self.store.add_note(NoteRecord(case_id, self.clock.now(), author, text.strip()))
        self._audit(case_id, author, "note", f"note {note.id}")
        return note

    # -- decisions and appeals ------------------------------------------------------------------
    def decide(self, case_id: int, reviewer: str, statement: StatementOfReasons) -> DecisionRecord:
        """Record a decision, act on it (lists) and close the case. On appeal, the reviewer must
        differ from the one who made the decision under appeal."""
        case = self._case(case_id)
        if case.state == CaseState.CLOSED.value:
            raise Conflict(f"case {case_id} is closed; it reopens only on appeal")
        appeal = self.store.open_appeal(case_id)
        previous = self.store.decisions(case_id)
        if appeal is not None and reviewer == appeal.previous_reviewer:
            raise ReviewerConflict(
                f"{reviewer} made the decision under appeal; another reviewer must decide it"
            )
        reverses = bool(appeal and previous and previous[-1].action != statement.action.value)
        lists_changed = self._apply_to_lists(case, statement.action, reviewer)
        if reverses:
            lists_changed |= self._undo_list_action(case, DecisionAction(previous[-1].action),
                                                    reviewer)
        now = self.clock.now()
        decision = self.store.add_decision(
            DecisionRecord(
                case_id=case_id, at=now, reviewer=reviewer, facts=statement.facts,
                ground=statement.ground.value, action=statement.action.value,
                appeal_text=statement.appeal, on_appeal=appeal is not None, reverses=reverses,
            )
        )
        if appeal is not None and appeal.id is not None:
            self.store.update_appeal(
                appeal.id, decided_at=now, outcome="reversed" if reverses else "upheld"
            )
        self.store.update_case(
            case_id, state=CaseState.CLOSED.value, decided_at=case.decided_at or now,
            closed_at=now, updated_at=now, first_action_at=case.first_action_at or now,
        )
        self._audit(case_id, reviewer, "decision",
                    f"{statement.action.value} on {statement.ground.value}"
                    + (" (appeal: reversed)" if reverses else " (appeal: upheld)" if appeal
                       else ""))
        if lists_changed and self.on_lists_changed is not None:
            # told once the decision is stored: the resolver reloads its lists
            self.on_lists_changed()
        return decision

    def appeal(self, code: str, reason: str, reviewers: Sequence[str] = ()) -> AppealRecord:
        """The reporter appeals with their receipt code."""
        report = self.store.report_by_code(normalize_receipt_code(code))
        if report is None or report.case_id is None:
            raise CaseNotFound("no report with that receipt code")
        return self.appeal_case(report.case_id, reason, "reporter", reviewers)

    def appeal_case(self, case_id: int, reason: str, actor: str,
                    reviewers: Sequence[str] = ()) -> AppealRecord:
        """Reopen a decided case for a second look, routed to a reviewer who did not make the
        first decision (the first of ``reviewers`` that differs, or unassigned)."""
        case = self._case(case_id)
        decisions = self.store.decisions(case_id)
        if case.state != CaseState.CLOSED.value or not decisions:
            raise Conflict("only a decided case can be appealed")
        if self.store.open_appeal(case_id) is not None:
            raise Conflict("this decision is already under appeal")
        if decisions[-1].on_appeal:
            raise Conflict("this decision was already made on appeal")
        first = decisions[-1]
        assert first.id is not None
        assignee = next((r for r in reviewers if r != first.reviewer), None)
        now = self.clock.now()
        appeal = self.store.add_appeal(
            AppealRecord(case_id, first.id, now, first.reviewer, reason.strip()[:4000], assignee)
        )
        self.store.update_case(case_id, state=CaseState.TRIAGE.value, closed_at=None,
                               assignee=assignee, updated_at=now)
        self._audit(case_id, actor, "appeal", f"assigned to {assignee or 'nobody yet'}")
        return appeal

    # -- kidshield's own lists ------------------------------------------------------------------
    def _list_for(self, action: DecisionAction) -> tuple[str, Any] | None:
        if self.lists is None:
            return None
        if action is DecisionAction.BLOCK_LISTED:
            return "block", self.lists.block_list
        if action is DecisionAction.ALLOW_LISTED:
            return "allow", self.lists.allow_list
        return None

    def _apply_to_lists(self, case: CaseRecord, action: DecisionAction, actor: str) -> bool:
        """Add the case's domain to our block or allow list; True when the list changed."""
        if action not in (DecisionAction.BLOCK_LISTED, DecisionAction.ALLOW_LISTED):
            return False
        target = self._list_for(action)
        if target is None:
            raise Conflict("this server has no reports block/allow list configured")
        if not case.url:
            raise Conflict("the case has no web address, so there is no site to list")
        kind, path = target
        domain = domain_of(case.url)
        if own_lists.add_domain(path, domain, kind):
            self._audit(case.id, actor, f"{kind}_list_add", f"{domain} -> {path.name}")
            return True
        return False

    def _undo_list_action(self, case: CaseRecord, action: DecisionAction, actor: str) -> bool:
        target = self._list_for(action)
        if target is None or not case.url:
            return False
        kind, path = target
        domain = domain_of(case.url)
        if own_lists.remove_domain(path, domain, kind):
            self._audit(case.id, actor, f"{kind}_list_remove", f"{domain} <- {path.name}")
            return True
        return False

    # -- evidence, legal hold, escalation, wellbeing ------------------------------------------
    def preserve(self, case_id: int, kind: str, content: dict[str, Any],
                 actor: str) -> EvidenceRecord:
        text = chain.canonical_json(content)
        digest = chain.sha256_hex(text)
        at = self.clock.now()
        record = self.store.append_evidence(
            case_id, at, kind, text, digest,
            lambda prev: chain.link_hash(prev, case_id, at, kind, digest),
        )
        self._audit(case_id, actor, "evidence", f"{kind} record {record.id}")
        return record

    def set_legal_hold(self, case_id: int, on: bool, actor: str) -> None:
        self._case(case_id)
        self.store.update_case(case_id, legal_hold=on, updated_at=self.clock.now())
        self._audit(case_id, actor, "legal_hold", "on" if on else "off")

    def escalate(self, case_id: int, actor: str, authority: str = "",
                 hosting_ips: Sequence[str] = ()) -> dict[str, Any]:
        """Build the escalation package, preserve it in the evidence chain, move the case to
        action, and return the package (to send to the competent authority)."""
        from kidshield.reports.escalation import build_package

        view = self.view(case_id, actor)
        now = self.clock.now()
        try:
            package = build_package(view, now, authority=authority, hosting_ips=hosting_ips)
        except ValueError as exc:
            raise InputError(f"hosting_ips: {exc}", field="hosting_ips") from None
        self.preserve(case_id, "escalation", package, actor)
        values: dict[str, Any] = {"escalated_at": now, "updated_at": now}
        if view.case.first_action_at is None:
            values["first_action_at"] = now
        if view.case.state in (CaseState.NEW.value, CaseState.TRIAGE.value):
            values["state"] = CaseState.ACTION.value
        self.store.update_case(case_id, **values)
        self._audit(case_id, actor, "escalate", authority or "package built")
        return package

    def reveal(self, case_id: int, actor: str) -> int:
        """Record that ``actor`` chose to reveal blurred text evidence; returns their count of
        reveals today (shown to them as a wellbeing prompt)."""
        self._case(case_id)
        count = self.store.add_reveal(actor, self.clock.now().date())
        self._audit(case_id, actor, "reveal", f"reveal {count} today")
        return count

    def exposure_today(self, actor: str) -> int:
        return self.store.reveals(actor, self.clock.now().date())

    def verify_chain(self) -> chain.ChainReport:
        return chain.verify(self.store.evidence())


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
        "detail": json.loads(record.detail),
    }
