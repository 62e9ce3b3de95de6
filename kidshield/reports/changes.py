"""The changes the reports service makes to stored rows, typed: each names the columns it
writes (a field left at ``KEEP`` is not written; ``None`` is, and clears a date). The store
writes a change together with what it settles and its audit entries in one transaction
(``store.ReportStore``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

# A field left at KEEP is not written; None is written (it clears a date).


class Keep(Enum):
    KEEP = "keep"


KEEP = Keep.KEEP


def _set(change: Any) -> dict[str, Any]:
    """The columns a change writes: its fields that are not KEEP."""
    return {f.name: value for f in fields(change)
            if (value := getattr(change, f.name)) is not KEEP}


@dataclass(frozen=True, slots=True)
class CaseChange:
    """A change to a case's row."""

    updated_at: datetime | Keep = KEEP
    state: str | Keep = KEEP
    assignee: str | Keep | None = KEEP
    case_type: str | Keep = KEEP
    priority: int | Keep = KEEP
    imminent_danger: bool | Keep = KEEP
    score: float | Keep = KEEP
    reports_count: int | Keep = KEEP
    child_reporter: bool | Keep = KEEP
    trusted_flagger: bool | Keep = KEEP
    target_at: datetime | Keep | None = KEEP
    first_action_at: datetime | Keep | None = KEEP
    decided_at: datetime | Keep | None = KEEP
    closed_at: datetime | Keep | None = KEEP
    escalated_at: datetime | Keep | None = KEEP
    escalation_closed_at: datetime | Keep | None = KEEP
    police_notified_at: datetime | Keep | None = KEEP
    legal_hold: bool | Keep = KEEP
    last_alert_at: datetime | Keep | None = KEEP
    alerts: int | Keep = KEEP
    created_at: datetime | Keep = KEEP  # a merge keeps the earlier opened time
    merged_into: int | Keep | None = KEEP

    def values(self) -> dict[str, Any]:
        return _set(self)


@dataclass(frozen=True, slots=True)
class DecisionChange:
    """A change to a decision's row: its sign-off, or that it reversed the one appealed."""

    status: str | Keep = KEEP  # final | rejected
    signed_off_by: str | Keep | None = KEEP
    signed_off_at: datetime | Keep | None = KEEP
    reverses: bool | Keep = KEEP

    def values(self) -> dict[str, Any]:
        return _set(self)


@dataclass(frozen=True, slots=True)
class AppealChange:
    """A change to an appeal's row: who looks at it, and its outcome."""

    assignee: str | Keep | None = KEEP
    decided_at: datetime | Keep | None = KEEP
    outcome: str | Keep | None = KEEP  # upheld | reversed

    def values(self) -> dict[str, Any]:
        return _set(self)


@dataclass(frozen=True, slots=True)
class SourceChange:
    """A change to a notice source's standing (DSA Art. 23)."""

    status: str | Keep = KEEP  # active | warned | suspended
    warned_at: datetime | Keep | None = KEEP
    suspended_until: datetime | Keep | None = KEEP

    def values(self) -> dict[str, Any]:
        return _set(self)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a final decision writes beside itself, in the same transaction: the case closed
    (or otherwise changed) and, on appeal, the appeal's outcome."""

    case_id: int
    case: CaseChange
    appeal_id: int | None = None
    appeal: AppealChange | None = None
