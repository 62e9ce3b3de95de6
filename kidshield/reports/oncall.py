"""On-call rules, pure: which cases page the on-call reviewers, by when they must be acted on,
when to page again, and what an alert says. No I/O and no clock here (``alerts.py`` sends).

Critical cases are those where a child is in danger now, and child sexual abuse material. An
alert names the case, its type and its deadline, and links to it; it never carries what the
reporter wrote or any other evidence, since alerts travel through phones and mail servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kidshield.notify import Message
from kidshield.reports.model import CaseState, CaseType
from kidshield.reports.store import CaseRecord


@dataclass(frozen=True, slots=True)
class OnCallPolicy:
    imminent_target: timedelta = timedelta(hours=1)
    abuse_target: timedelta = timedelta(hours=24)
    realert_every: timedelta = timedelta(minutes=15)


def is_critical(case_type: str, imminent_danger: bool) -> bool:
    """Pages the on-call reviewers, and needs escalation or a second reviewer to close."""
    return imminent_danger or case_type == CaseType.ABUSE_MATERIAL.value


def target_time(opened_at: datetime, case_type: str, imminent_danger: bool,
                policy: OnCallPolicy) -> datetime | None:
    """When a critical case must have been acted on (None for other cases)."""
    if imminent_danger:
        return opened_at + policy.imminent_target
    if case_type == CaseType.ABUSE_MATERIAL.value:
        return opened_at + policy.abuse_target
    return None


def seconds_left(target: datetime | None, now: datetime) -> int | None:
    """Seconds to the target (negative once it has passed), for the countdown."""
    return None if target is None else int((target - now).total_seconds())


def countdown_text(target: datetime | None, now: datetime) -> str:
    left = seconds_left(target, now)
    if left is None:
        return ""
    minutes = abs(left) // 60
    span = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return f"overdue by {span}" if left < 0 else f"{span} left"


def alert_due(case: CaseRecord, now: datetime, policy: OnCallPolicy) -> str | None:
    """Why the sweep should alert about ``case`` now ("new", "realert", "overdue"), or None.

    A critical case nobody was alerted about gets its first alert; while nobody has taken it,
    the alert repeats; once its target passes without a decision, everyone is told once more.
    """
    if case.state == CaseState.CLOSED.value or not is_critical(case.case_type,
                                                               case.imminent_danger):
        return None
    if case.last_alert_at is None:
        return "new"
    target = case.target_at
    if target is not None and now >= target and case.last_alert_at < target:
        return "overdue"
    if case.assignee is None and now - case.last_alert_at >= policy.realert_every:
        return "realert"
    return None


_TYPE_WORDS = {
    CaseType.ABUSE_MATERIAL.value: "child sexual abuse material",
    CaseType.GROOMING.value: "grooming",
    CaseType.SELF_HARM.value: "self-harm",
}


def alert_message(case: CaseRecord, reason: str, now: datetime, link: str) -> Message:
    assert case.id is not None
    what = _TYPE_WORDS.get(case.case_type, case.case_type.replace("_", " "))
    danger = "A child may be in danger now. " if case.imminent_danger else ""
    heading = {"new": "New", "realert": "Still unassigned", "overdue": "OVERDUE"}[reason]
    lines = [
        f"{danger}Case {case.id} ({what}), priority {case.priority}.",
        f"Act by {case.target_at:%Y-%m-%d %H:%M} UTC ({countdown_text(case.target_at, now)})."
        if case.target_at else "",
        "Nobody has taken it yet." if case.assignee is None else f"Assigned to {case.assignee}.",
        "Open the case to assign it; the evidence is only on the case page.",
    ]
    return Message(
        title=f"{heading}: kidshield case {case.id} - {what}",
        body="\n".join(line for line in lines if line),
        link=link,
        priority="urgent" if case.imminent_danger or reason == "overdue" else "high",
        tags=("rotating_light",) if case.imminent_danger else ("warning",),
        event="case_alert",
        payload={"case_id": case.id, "case_type": case.case_type, "reason": reason,
                 "imminent_danger": case.imminent_danger, "priority": case.priority,
                 "target_at": case.target_at.isoformat() if case.target_at else None,
                 "assignee": case.assignee},
    )
