"""The result vocabulary of the message safety engine: risks, levels, actions, findings.

Everything here is plain data with ``to_dict()``; nothing in a result needs the original text
(evidence is given as offsets and text-free labels), and the redacted copy is opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from kidshield.policy.helplines import Helpline
from kidshield.policy.reason import Reason


class Risk(StrEnum):
    GROOMING = "grooming"
    PERSONAL_INFO = "personal_info"
    SEXUAL_CONTENT = "sexual_content"
    SEXTORTION = "sextortion"
    BULLYING = "bullying"
    SELF_HARM = "self_harm"

    @property
    def reason(self) -> Reason:
        return Reason(self.value)


class RiskLevel(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    IMMINENT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_score(cls, score: float) -> RiskLevel:
        if score >= 0.8:
            return cls.HIGH
        if score >= 0.55:
            return cls.MEDIUM
        if score >= REPORT_THRESHOLD:
            return cls.LOW
        return cls.NONE

    @classmethod
    def parse(cls, text: str) -> RiskLevel:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(level.label for level in cls)
            raise ValueError(f"unknown risk level {text!r}; use one of: {names}") from None


# A risk whose score reaches this is reported as a finding (level LOW or above).
REPORT_THRESHOLD = 0.3


class RecommendedAction(StrEnum):
    NONE = "none"
    WARN_CHILD = "warn_child"
    NOTIFY_GUARDIAN = "notify_guardian"
    ESCALATE_MODERATOR = "escalate_moderator"
    SHOW_HELPLINE = "show_helpline"


class AgeBand(StrEnum):
    """What the platform knows about a participant's age. ``child`` is under 13."""

    CHILD = "child"
    TEEN = "teen"
    ADULT = "adult"
    UNKNOWN = "unknown"

    @property
    def is_minor(self) -> bool:
        return self in (AgeBand.CHILD, AgeBand.TEEN)

    @classmethod
    def from_age(cls, age: int | None) -> AgeBand:
        if age is None:
            return cls.UNKNOWN
        if age < 13:
            return cls.CHILD
        if age < 18:
            return cls.TEEN
        return cls.ADULT


@dataclass(frozen=True, slots=True)
class Span:
    """Evidence: ``[start, end)`` offsets into the ORIGINAL text and a text-free label."""

    start: int
    end: int
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True, slots=True)
class Finding:
    risk: Risk
    score: float
    level: RiskLevel
    spans: tuple[Span, ...]
    stages: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()

    @property
    def reason(self) -> Reason:
        return self.risk.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "reason": self.reason.value,
            "score": round(self.score, 3),
            "level": self.level.label,
            "stages": list(self.stages),
            "spans": [span.to_dict() for span in self.spans],
        }


@dataclass(frozen=True, slots=True)
class Signpost:
    """A risk whose helplines the result shows without a finding, and why: the writer is not
    flagged, but the reply offers help. ``why``: ``target`` (the writer tells they are bullied),
    ``threat`` (the writer tells of a threat they received), ``other`` (someone else's
    bullying, told by a parent or friend; for self-harm, someone else's self-harm), ``past``
    (the writer's own, told as past), ``report`` (a friend told the writer), ``distress``
    (despair without ideation); for sextortion ``target`` (the writer tells of a threat made
    to them) and ``retold`` (someone else's threat told again: a warning, a talk, the news);
    for grooming the same two, for a groomer's words said to the writer or retold.
    ``spans``: the words that said so, as
    offsets into the original text (empty when the signal has none to point at)."""

    risk: Risk
    why: str
    spans: tuple[Span, ...] = ()

    @property
    def reason(self) -> Reason:
        return self.risk.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "reason": self.reason.value,
            "why": self.why,
            "spans": [span.to_dict() for span in self.spans],
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    language: str
    language_source: str  # "requested" or "default"
    level: RiskLevel
    findings: tuple[Finding, ...]
    actions: tuple[RecommendedAction, ...]
    helplines: tuple[Helpline, ...] = ()
    redacted: str | None = None  # set only when personal information was found
    text_length: int = 0
    hits: tuple[CueHit, ...] = field(default=(), repr=False, compare=False)
    # the model's probability per risk in this message's context (kept for the conversation
    # tracker; not part of the JSON result)
    model_scores: dict[Risk, float] = field(default_factory=dict, repr=False, compare=False)
    # risks whose helplines are shown without a finding, with why (see Signpost)
    signposts: tuple[Signpost, ...] = ()

    @property
    def risks(self) -> frozenset[Risk]:
        return frozenset(finding.risk for finding in self.findings)

    def finding(self, risk: Risk) -> Finding | None:
        for found in self.findings:
            if found.risk is risk:
                return found
        return None

    def to_dict(self, *, include_redacted: bool = True) -> dict[str, Any]:
        """A JSON-ready dict. It never contains the original text; the redacted copy only when
        ``include_redacted`` and personal information was found."""
        out: dict[str, Any] = {
            "language": self.language,
            "language_source": self.language_source,
            "level": self.level.label,
            "actions": [action.value for action in self.actions],
            "findings": [finding.to_dict() for finding in self.findings],
            "helplines": [helpline.to_dict() for helpline in self.helplines],
            "signposts": [signpost.to_dict() for signpost in self.signposts],
            "text_length": self.text_length,
        }
        if include_redacted and self.redacted is not None:
            out["redacted"] = self.redacted
        return out


@dataclass(frozen=True, slots=True)
class CueHit:
    """One matched cue, before scoring. Offsets are into the original text."""

    risk: Risk
    cue: str
    stage: str
    weight: float  # after context adjustments
    start: int
    end: int
    tags: frozenset[str] = frozenset()
    redact: str | None = None  # personal information: placeholder name for this span
