"""Merging case B into case A: two cases about one thing (an account and its profile page)
that the de-duplication keys did not join. B's reports and keys move to A; A keeps the higher
priority and the earlier opened time; B is closed as "merged into #A" and is only read from
then on. Evidence is never rewritten: each record stays on the case it was preserved for, and
A's chain gets one appended record naming B and B's newest record hash, so the custody of
both stays provable with the chain check as it is."""

from __future__ import annotations

from datetime import datetime

from kidshield.errors import Conflict, InputError
from kidshield.reports import evidence as chain
from kidshield.reports.changes import KEEP, CaseChange
from kidshield.reports.core import ServiceCore
from kidshield.reports.model import CaseState, CaseType, Risk, priority
from kidshield.reports.store import CaseRecord, EvidenceRecord

MERGE_KIND = "case_merge"


def _earlier(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


class MergeMixin(ServiceCore):
    def merge(self, into_id: int, source_id: int, actor: str) -> EvidenceRecord:
        """Merge case ``source_id`` (B) into ``into_id`` (A): the merge's evidence record."""
        if into_id == source_id:
            raise InputError(f"case {into_id} cannot be merged into itself: give the other "
                             "case's number", field="into")
        into, source = self._case(into_id), self._case(source_id)
        self._check_merge(into, source)
        now = self.clock.now()
        a, b = into, source
        risk = Risk(CaseType(a.case_type), a.imminent_danger or b.imminent_danger,
                    max(a.score, b.score), a.reports_count + b.reports_count,
                    a.child_reporter or b.child_reporter, a.trusted_flagger or b.trusted_flagger)
        first = _earlier(a.first_action_at, b.first_action_at)
        target = _earlier(a.target_at, b.target_at)
        into_change = CaseChange(
            updated_at=now, created_at=min(a.created_at, b.created_at),
            priority=max(a.priority, b.priority, priority(risk)),
            imminent_danger=risk.imminent_danger, score=risk.score,
            reports_count=risk.reports, child_reporter=risk.child_reporter,
            trusted_flagger=risk.trusted_flagger, legal_hold=a.legal_hold or b.legal_hold,
            assignee=a.assignee if a.assignee is not None else b.assignee,
            first_action_at=first if first is not None else KEEP,
            target_at=target if target is not None else KEEP)
        source_change = CaseChange(state=CaseState.CLOSED.value, closed_at=now, updated_at=now,
                                   merged_into=into_id)
        moved = [r.id for r in self.store.reports_for_case(source_id)]

        def content(head: str | None) -> tuple[str, str]:
            text = chain.canonical_json({
                "into_case": into_id, "merged_case": source_id, "merged_case_head": head,
                "reports_moved": moved, "by": actor, "at": now.isoformat()})
            return text, chain.sha256_hex(text)

        return self.store.merge_cases(
            into, source, into_change, source_change,
            [self._entry(into_id, actor, "merge", f"case {source_id} merged in "
                         f"({len(moved)} report(s))"),
             self._entry(source_id, actor, "merged", f"into case {into_id}")],
            at=now, kind=MERGE_KIND, content=content,
            link=lambda prev, digest: chain.link_hash(prev, into_id, now, MERGE_KIND, digest),
            seal=self.signer.seal if self.signer is not None else None)

    def _check_merge(self, into: CaseRecord, source: CaseRecord) -> None:
        for case, role in ((source, "merged"), (into, "merged into")):
            if case.state == CaseState.CLOSED.value:
                raise Conflict(f"case {case.id} is closed and cannot be {role}: reopen it on "
                               "appeal first, or leave it", field="case_id")
            if case.escalated_at is not None or case.police_notified_at is not None:
                raise Conflict(f"case {case.id} was escalated or referred to the police: its "
                               "package is out as it was, so it cannot be " + role,
                               field="case_id")
            assert case.id is not None
            if any(d.status == "pending" for d in self.store.decisions(case.id)):
                raise Conflict(f"case {case.id} has a decision awaiting a second reviewer: "
                               "sign it off or reject it first", field="case_id")
            if self.store.open_appeal(case.id) is not None:
                raise Conflict(f"case {case.id} has an open appeal: decide it first",
                               field="case_id")
        if into.case_type != source.case_type:
            raise InputError(f"only cases of the same type merge: case {source.id} is "
                             f"{source.case_type}, case {into.id} is {into.case_type}",
                             field="into")
