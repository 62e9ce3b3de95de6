"""What bank operations answer: match results, import reports, bank summaries (JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kidshield.policy.reason import Reason
from kidshield.safety.media.formats import Problem
from kidshield.safety.media.store import MediaBank


@dataclass(frozen=True, slots=True)
class BankMatch:
    bank: str
    kind: str
    hash: str  # the banked hash that matched
    distance: int
    variant: str = "original"
    reference_id: str = ""
    source: str = ""
    bank_hash_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "kind": self.kind,
            "hash": self.hash,
            "distance": self.distance,
            "variant": self.variant,
            "reference_id": self.reference_id,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The answer to one lookup. ``matched`` is the only field a caller has to act on."""

    hash: str
    quality: int | None
    skipped: str | None = None  # why no lookup was made (low quality)
    matches: tuple[BankMatch, ...] = ()  # positive matches in force
    cancelled: tuple[BankMatch, ...] = ()  # positive matches silenced by a negative bank
    negative: tuple[BankMatch, ...] = ()  # the negative-bank hits that silenced them

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    @property
    def reason(self) -> Reason | None:
        return Reason.HASH_MATCH if self.matched else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "reason": None if self.reason is None else self.reason.value,
            "hash": self.hash,
            "quality": self.quality,
            "skipped": self.skipped,
            "matches": [m.to_dict() for m in self.matches],
            "cancelled": [m.to_dict() for m in self.cancelled],
            "negative": [m.to_dict() for m in self.negative],
        }


@dataclass(slots=True)
class ImportReport:
    bank: str
    added: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def duplicates(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "duplicate"]

    @property
    def malformed(self) -> list[Problem]:
        return [p for p in self.problems if p.kind != "duplicate"]


@dataclass(frozen=True, slots=True)
class BankSummary:
    bank: MediaBank
    hashes: int

    def to_dict(self) -> dict[str, Any]:
        b = self.bank
        return {
            "name": b.name,
            "kind": b.kind,
            "signal_type": b.signal_type,
            "threshold": b.threshold,
            "enabled": b.enabled,
            "description": b.description,
            "created_at": None if b.created_at is None else b.created_at.isoformat(),
            "created_by": b.created_by,
            "hashes": self.hashes,
        }
