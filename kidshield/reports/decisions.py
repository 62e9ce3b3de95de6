"""Decisions and appeals: the statement of reasons with its DSA fields, the two-person rule for
critical cases (a child in danger now, abuse material: closed only after escalation or with a
second reviewer's sign-off), appeals to a different reviewer within the appeal window (at least
six months), decision notices to reporters, and misuse handling of their sources."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import datetime

from kidshield.errors import Conflict, InputError, NotFound
from kidshield.reports import dsa
from kidshield.reports.changes import (
    AppealChange,
    CaseChange,
    DecisionChange,
    Settlement,
    SourceChange,
)
from kidshield.reports.core import ServiceCore
from kidshield.reports.model import (
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    Notice,
    StatementOfReasons,
    normalize_receipt_code,
)
from kidshield.reports.oncall import is_critical
from kidshield.reports.records import CaseNotFound, ReviewerConflict, statement_of
from kidshield.reports.sources import misuse_step
from kidshield.reports.store import (
    AppealRecord,
    AuditRecord,
    CaseRecord,
    DecisionRecord,
)


class DecisionsMixin(ServiceCore):
    def decide(self, case_id: int, reviewer: str, statement: StatementOfReasons,
               fields: dsa.DsaFields | None = None, *, unfounded: bool = False
               ) -> DecisionRecord:
        """Record a decision and close the case. On a critical case that was not escalated the
        decision waits (status ``pending``) for a second reviewer's ``sign_off``; on appeal,
        the reviewer must differ from the one who made the decision under appeal."""
        case = self._case(case_id)
        if case.state == CaseState.CLOSED.value:
            raise Conflict(f"case {case_id} is closed; it reopens only on appeal")
        appeal = self.store.open_appeal(case_id)
        if appeal is not None and reviewer == appeal.previous_reviewer:
            raise ReviewerConflict(
                f"{reviewer} made the decision under appeal; another reviewer must decide it"
            )
        if self._pending(case_id) is not None:
            raise Conflict("a decision on this case is waiting for a second reviewer's "
                           "sign-off; sign it off or reject it first")
        if statement.action is DecisionAction.ESCALATED and case.escalated_at is None:
            raise Conflict("escalate the case first (an analyst builds the package), then "
                           "record the decision", field="action")
        if unfounded and statement.ground is not Ground.NO_VIOLATION:
            raise InputError("only a notice found to have no violation can be manifestly "
                             "unfounded (ground no_violation)", field="unfounded")
        self._check_list_action(case, statement.action)
        complete = self._dsa_fields(case, statement.ground, fields or dsa.DsaFields())
        needs_second = (is_critical(case.case_type, case.imminent_danger)
                        and case.escalated_at is None and appeal is None)
        decision = DecisionRecord(
            case_id=case_id, at=self.clock.now(), reviewer=reviewer, facts=statement.facts,
            ground=statement.ground.value, action=statement.action.value,
            appeal_text=statement.appeal, on_appeal=appeal is not None,
            status="pending" if needs_second else "final",
            statement=json.dumps(complete.to_dict(), sort_keys=True), unfounded=unfounded,
        )
        if needs_second:
            return self.store.add_decision(decision, audit=[self._entry(
                case_id, reviewer, "decision_proposed",
                f"{statement.action.value} on {statement.ground.value}: waits for a second "
                "reviewer")], version=case.version)
        return self._finalize(case, decision, reviewer, None)

    def _pending(self, case_id: int) -> DecisionRecord | None:
        return next((d for d in self.store.decisions(case_id) if d.status == "pending"), None)

    def _dsa_fields(self, case: CaseRecord, ground: Ground, given: dsa.DsaFields
                    ) -> dsa.DsaFields:
        assert case.id is not None
        reports = self.store.reports_for_case(case.id)
        first = min((r.created_at for r in reports), default=case.created_at)
        return dsa.complete(given, case_type=CaseType(case.case_type), ground=ground,
                            sources=[r.source for r in reports],
                            trusted_flagger=case.trusted_flagger, first_seen=first,
                            scope=self.settings.scope, terms_url=self.settings.terms_url)

    def sign_off(self, case_id: int, reviewer: str, approve: bool = True,
                 reason: str = "") -> DecisionRecord:
        """A second reviewer confirms (or rejects) the decision waiting on a critical case."""
        case = self._case(case_id)
        pending = self._pending(case_id)
        if pending is None or pending.id is None:
            raise Conflict("no decision on this case is waiting for sign-off")
        if reviewer == pending.reviewer:
            raise ReviewerConflict(f"{reviewer} proposed this decision; a second reviewer must "
                                   "sign it off")
        now = self.clock.now()
        if not approve:
            self.store.update_decision(
                pending.id, DecisionChange(status="rejected", signed_off_by=reviewer,
                                           signed_off_at=now),
                audit=[self._entry(case_id, reviewer, "decision_rejected", reason[:500])],
                version=case.version)
            return pending
        final = dataclasses.replace(pending, status="final", signed_off_by=reviewer,
                                    signed_off_at=now)
        signed = self._entry(case_id, reviewer, "decision_signed_off", f"decision {pending.id}")
        return self._finalize(case, final, reviewer, signed)

    def _finalize(self, case: CaseRecord, decision: DecisionRecord, actor: str,
                  signed: AuditRecord | None) -> DecisionRecord:
        """Store a final decision (a new one, or ``signed`` off: ``decision`` has its id) and
        what it settles in one transaction: whether it reverses the decision appealed, the
        appeal's outcome, the case closed, the audit entries of all of it and of the list
        change. It is stored only if the case is still at the version read with ``case``
        (else ``CaseChanged``: another reviewer decided first). Our block/allow list files
        change inside the transaction, once the case is claimed, and are put back if it
        fails; reporters are told, the resolver reloads and misuse is counted once it is
        stored."""
        assert case.id is not None
        case_id = case.id
        appeal = self.store.open_appeal(case_id)
        previous = [d for d in self._final_decisions(case_id) if d.id != decision.id]
        action = DecisionAction(decision.action)
        reverses = bool(appeal and previous and previous[-1].action != decision.action)
        decision = dataclasses.replace(decision, reverses=reverses)
        now = self.clock.now()
        undo: list[Callable[[], object]] = []

        def effects() -> list[AuditRecord]:
            entries = [signed] if signed is not None else []
            entries += self._apply_to_lists(case, action, actor, undo)
            if reverses:
                entries += self._undo_list_action(case, DecisionAction(previous[-1].action),
                                                  actor, undo)
            entries.append(self._entry(
                case_id, decision.reviewer, "decision", f"{decision.action} on {decision.ground}"
                + (" (appeal: reversed)" if reverses else " (appeal: upheld)" if appeal
                   else "")))
            return entries

        try:
            settle = Settlement(
                case_id, CaseChange(state=CaseState.CLOSED.value,
                                    decided_at=case.decided_at or now, closed_at=now,
                                    updated_at=now, first_action_at=case.first_action_at or now),
                appeal.id if appeal is not None else None,
                AppealChange(decided_at=now, outcome="reversed" if reverses else "upheld"))
            if decision.id is None:
                decision = self.store.add_decision(decision, settle, version=case.version,
                                                   then=effects)
            else:
                self.store.update_decision(
                    decision.id, DecisionChange(status=decision.status,
                                                signed_off_by=decision.signed_off_by,
                                                signed_off_at=decision.signed_off_at,
                                                reverses=reverses), settle,
                    version=case.version, then=effects)
        except BaseException:
            for step in reversed(undo):  # the lists as they were: nothing was decided
                step()
            raise
        lists_changed = bool(undo)
        if lists_changed and self.on_lists_changed is not None:
            # told once the decision is stored: the resolver reloads its lists
            self.on_lists_changed()
        self._notify_reporters(case_id, decision)
        if decision.unfounded:
            self._misuse(case_id)
        return decision

    def _notify_reporters(self, case_id: int, decision: DecisionRecord) -> None:
        if self.mail is None:
            return
        text = statement_of(decision, self.settings.appeal_window.days).to_dict()
        for report in self.store.reports_for_case(case_id):
            link = self.settings.link(f"/report/status/{report.code}")
            if self.mail.decision(report.contact, report.code, text, link):
                self._audit(case_id, "system", "decision_sent", f"report {report.id}")

    def _misuse(self, case_id: int) -> None:
        """Each source of the case's notices: warn, then suspend, when its manifestly
        unfounded notices reach the thresholds (DSA Art. 23)."""
        policy = self.settings.misuse
        now = self.clock.now()
        seen: set[int] = set()
        for report in self.store.reports_for_case(case_id):
            if report.source_id is None or report.source_id in seen:
                continue
            seen.add(report.source_id)
            source = self.store.source(report.source_id)
            if source is None:
                continue
            count = self.store.unfounded_notices(report.source_id, now - policy.window)
            step = misuse_step(source.status, count, policy, now)
            if step is None:
                continue
            status, until = step
            change = (SourceChange(status=status, warned_at=now) if status == "warned"
                      else SourceChange(status=status, suspended_until=until))
            self.store.update_source(report.source_id, change, [self._entry(
                case_id, "system", f"source_{status}",
                f"source {report.source_id}: {count} unfounded notices")])
            if self.mail is not None:
                self.mail.misuse(report.contact, status, until)

    def lift_suspension(self, source_id: int, actor: str) -> None:
        if self.store.source(source_id) is None:
            raise NotFound(f"no source {source_id}")
        self.store.update_source(
            source_id, SourceChange(status="active", suspended_until=None),
            [self._entry(None, actor, "source_reinstated", f"source {source_id}")])

    def affected_notice(self, case_id: int) -> Notice | None:
        """The statement of reasons for the affected account (no reporter details in it)."""
        decisions = self._final_decisions(case_id)
        if not decisions:
            return None
        last = decisions[-1]
        deadline = (last.at + self.settings.appeal_window).isoformat()
        return Notice(**statement_of(last, self.settings.appeal_window.days).to_dict(),
                      appeal_deadline=deadline)

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
        decisions = self._final_decisions(case_id)
        if case.state != CaseState.CLOSED.value or not decisions:
            raise Conflict("only a decided case can be appealed")
        if self.store.open_appeal(case_id) is not None:
            raise Conflict("this decision is already under appeal")
        first = decisions[-1]
        if first.on_appeal:
            raise Conflict("this decision was already made on appeal")
        now = self.clock.now()
        deadline: datetime = first.at + self.settings.appeal_window
        if now > deadline:
            raise Conflict(f"the time to appeal this decision ended on {deadline:%Y-%m-%d} "
                           f"({self.settings.appeal_window.days} days after it)")
        assert first.id is not None
        assignee = next((r for r in reviewers if r != first.reviewer), None)
        return self.store.add_appeal(
            AppealRecord(case_id, first.id, now, first.reviewer, reason.strip()[:4000], assignee),
            CaseChange(state=CaseState.TRIAGE.value, closed_at=None, assignee=assignee,
                       updated_at=now),
            [self._entry(case_id, actor, "appeal", f"assigned to {assignee or 'nobody yet'}")],
            version=case.version)
