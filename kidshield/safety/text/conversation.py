"""Conversation tracking: risk that builds up across messages, participants and time.

Evidence is kept per direction (``sender -> recipient``) and per grooming stage, decays with a
half-life per risk, and grows when grooming moves through its stages. The tracker flags as early
as the evidence allows (``first_flagged`` says at which message each risk first reached a level)
and its state is a plain JSON-ready dict a platform can store between calls.

Time is an input: each message carries its own ``at``; nothing here reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kidshield.errors import InputError
from kidshield.safety.text.assess import (
    actions_for,
    build_findings,
    collect_hits,
    make_assessment,
    parse_band,
    resolve_language,
    sorted_actions,
)
from kidshield.safety.text.model import (
    REPORT_THRESHOLD,
    AgeBand,
    Assessment,
    CueHit,
    RecommendedAction,
    Risk,
    RiskLevel,
    Span,
)
from kidshield.safety.text.signals import combine
from kidshield.safety.text.signals.grooming import STAGES

STATE_VERSION = 1
HOUR = 3600.0
DAY = 24 * HOUR
# how long evidence keeps half its weight
HALF_LIFE: dict[Risk, float] = {
    Risk.GROOMING: 14 * DAY,
    Risk.PERSONAL_INFO: 1 * DAY,
    Risk.SEXUAL_CONTENT: 2 * DAY,
    Risk.SEXTORTION: 7 * DAY,
    Risk.BULLYING: 3 * DAY,
    Risk.SELF_HARM: 2 * DAY,
}
GAMING_CONTEXT_SECONDS = 30 * 60  # game talk keeps "I'll kill you" playful for half an hour
STAGE_PRESENT = 0.15  # a grooming stage counts towards progression from this decayed score
PROGRESSION_STEP = 0.2  # each further grooming stage raises the score by this fraction
SERIOUS_STAGES = frozenset(
    {"secrecy", "risk_assessment", "sexual", "image_request", "meeting", "off_platform"}
)
MAX_EVIDENCE = 40  # evidence references kept per risk (offsets and labels, never text)


@dataclass(frozen=True, slots=True)
class Message:
    sender: str
    text: str
    at: datetime | None = None
    recipient: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "message") -> Message:
        if not isinstance(raw, Mapping):
            raise InputError(f"{where}: expected an object with sender and text")
        sender, text = raw.get("sender"), raw.get("text")
        if not isinstance(sender, str) or not sender:
            raise InputError(f"{where}.sender: a non-empty string is required")
        if not isinstance(text, str):
            raise InputError(f"{where}.text: a string is required")
        recipient = raw.get("recipient")
        if recipient is not None and not isinstance(recipient, str):
            raise InputError(f"{where}.recipient: must be a string")
        return cls(sender, text, parse_time(raw.get("at"), f"{where}.at"), recipient)


def parse_time(value: Any, where: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _aware(value, where) if isinstance(value, datetime) else None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value), where)
        except ValueError:
            pass
    raise InputError(f"{where}: expected an ISO 8601 time with a zone, or Unix seconds")


def _aware(value: datetime, where: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{where}: the time needs a time zone (e.g. 2026-01-31T18:00:00Z)")
    return value.astimezone(UTC)


@dataclass(slots=True)
class _Evidence:
    score: float = 0.0
    at: float = 0.0  # Unix seconds of the last update

    def decayed(self, now: float, half_life: float) -> float:
        if self.score <= 0.0:
            return 0.0
        elapsed = max(0.0, now - self.at)
        return self.score * math.pow(0.5, elapsed / half_life)

    def add(self, weight: float, now: float, half_life: float) -> None:
        self.score = combine([self.decayed(now, half_life), weight])
        self.at = now


@dataclass(slots=True)
class ConversationState:
    """Everything the tracker remembers. Holds ids, age bands, scores, times and offsets only."""

    participants: dict[str, AgeBand] = field(default_factory=dict)
    # "sender>recipient" -> risk -> evidence; grooming per stage as "grooming:<stage>"
    pairs: dict[str, dict[str, _Evidence]] = field(default_factory=dict)
    evidence: dict[str, list[list[Any]]] = field(default_factory=dict)  # risk -> refs
    first_flagged: dict[str, dict[str, int]] = field(default_factory=dict)  # risk -> level -> msg
    message_count: int = 0
    last_at: float | None = None
    gaming_until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "participants": {pid: band.value for pid, band in self.participants.items()},
            "pairs": {
                pair: {key: [round(ev.score, 6), ev.at] for key, ev in entries.items()}
                for pair, entries in self.pairs.items()
            },
            "evidence": self.evidence,
            "first_flagged": self.first_flagged,
            "message_count": self.message_count,
            "last_at": self.last_at,
            "gaming_until": self.gaming_until,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ConversationState:
        if not isinstance(raw, Mapping):
            raise InputError("state: expected the object a previous call returned")
        if raw.get("version") != STATE_VERSION:
            raise InputError(
                f"state.version: expected {STATE_VERSION}, got {raw.get('version')!r}; "
                "start a new conversation state"
            )
        try:
            return cls(
                participants={
                    str(pid): parse_band(str(band), f"state.participants.{pid}")
                    for pid, band in dict(raw.get("participants", {})).items()
                },
                pairs={
                    str(pair): {
                        str(key): _Evidence(float(value[0]), float(value[1]))
                        for key, value in dict(entries).items()
                    }
                    for pair, entries in dict(raw.get("pairs", {})).items()
                },
                evidence={
                    str(k): [list(ref) for ref in v] for k, v in dict(raw["evidence"]).items()
                },
                first_flagged={
                    str(k): {str(lv): int(i) for lv, i in dict(v).items()}
                    for k, v in dict(raw.get("first_flagged", {})).items()
                },
                message_count=int(raw.get("message_count", 0)),
                last_at=None if raw.get("last_at") is None else float(raw["last_at"]),
                gaming_until=None
                if raw.get("gaming_until") is None
                else float(raw["gaming_until"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"state: not a valid conversation state ({exc})") from None


@dataclass(frozen=True, slots=True)
class ConversationFinding:
    risk: Risk
    score: float
    level: RiskLevel
    stages: tuple[str, ...]
    pair: str  # "sender>recipient" the risk is strongest in
    evidence: tuple[tuple[int, Span], ...]  # (message number, span in that message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "reason": self.risk.reason.value,
            "score": round(self.score, 3),
            "level": self.level.label,
            "stages": list(self.stages),
            "direction": self.pair,
            "evidence": [{"message": i, **span.to_dict()} for i, span in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class ConversationAssessment:
    language: str
    language_source: str
    level: RiskLevel
    findings: tuple[ConversationFinding, ...]
    actions: tuple[RecommendedAction, ...]
    messages: tuple[Assessment, ...]  # one per message in this call, in order
    first_flagged: dict[str, dict[str, int]]  # risk -> level -> message number (0-based)
    state: ConversationState

    def finding(self, risk: Risk) -> ConversationFinding | None:
        return next((f for f in self.findings if f.risk is risk), None)

    def to_dict(self, *, include_redacted: bool = True) -> dict[str, Any]:
        helplines: dict[str, dict[str, str]] = {}
        for message in self.messages:
            for line in message.helplines:
                helplines.setdefault(line.name, line.to_dict())
        return {
            "language": self.language,
            "language_source": self.language_source,
            "level": self.level.label,
            "actions": [a.value for a in self.actions],
            "findings": [f.to_dict() for f in self.findings],
            "first_flagged": self.first_flagged,
            "helplines": list(helplines.values()),
            "messages": [m.to_dict(include_redacted=include_redacted) for m in self.messages],
            "state": self.state.to_dict(),
        }


class ConversationTracker:
    """Feeds messages one at a time into a :class:`ConversationState`."""

    def __init__(
        self,
        state: ConversationState | None = None,
        *,
        participants: Mapping[str, AgeBand | str | int | None] | None = None,
        language: str | None = None,
    ) -> None:
        self.state = state if state is not None else ConversationState()
        for pid, band in (participants or {}).items():
            self.state.participants[pid] = parse_band(band, f"participants.{pid}")
        self.lexicon, self.language_source = resolve_language(language)

    # -- one message --------------------------------------------------------------------------
    def add(self, message: Message) -> Assessment:
        state = self.state
        now = self._time(message)
        state.participants.setdefault(message.sender, AgeBand.UNKNOWN)
        if message.recipient is not None:
            state.participants.setdefault(message.recipient, AgeBand.UNKNOWN)
        sender_band = state.participants[message.sender]
        recipient_id, recipient_band = self._recipient(message)
        gaming = state.gaming_until is not None and now <= state.gaming_until
        hits, ctx = collect_hits(message.text, self.lexicon, sender_band, recipient_band, gaming)
        if ctx.gaming:
            state.gaming_until = now + GAMING_CONTEXT_SECONDS
        assessment = make_assessment(
            message.text, self.lexicon, self.language_source, hits, build_findings(hits)
        )
        self._remember(f"{message.sender}>{recipient_id}", hits, now)
        state.message_count += 1
        state.last_at = now
        for finding in self.findings():
            flagged = state.first_flagged.setdefault(finding.risk.value, {})
            for level in RiskLevel:
                if RiskLevel.NONE < level <= finding.level:
                    flagged.setdefault(level.label, state.message_count - 1)
        return assessment

    def _time(self, message: Message) -> float:
        if message.at is not None:
            now = message.at.timestamp()
        else:
            now = self.state.last_at if self.state.last_at is not None else 0.0
        if self.state.last_at is not None and now < self.state.last_at:
            now = self.state.last_at  # out-of-order messages do not rewind decay
        return now

    def _recipient(self, message: Message) -> tuple[str, AgeBand]:
        participants = self.state.participants
        if message.recipient is not None:
            return message.recipient, participants[message.recipient]
        others = [pid for pid in participants if pid != message.sender]
        if len(others) == 1:
            return others[0], participants[others[0]]
        minors = sorted(
            (participants[pid] for pid in others if participants[pid].is_minor),
            key=lambda band: band is not AgeBand.CHILD,
        )
        return "*", minors[0] if minors else AgeBand.UNKNOWN

    def _remember(self, pair: str, hits: list[CueHit], now: float) -> None:
        entries = self.state.pairs.setdefault(pair, {})
        by_key: dict[str, list[float]] = {}
        for hit in hits:
            key = f"grooming:{hit.stage}" if hit.risk is Risk.GROOMING else hit.risk.value
            by_key.setdefault(key, []).append(hit.weight)
            refs = self.state.evidence.setdefault(hit.risk.value, [])
            refs.append([self.state.message_count, hit.start, hit.end, hit.cue, pair])
            del refs[:-MAX_EVIDENCE]
        for key, weights in by_key.items():
            risk = Risk.GROOMING if key.startswith("grooming:") else Risk(key)
            # several cues in one message count once per cue, like in a single message
            entries.setdefault(key, _Evidence()).add(combine(weights), now, HALF_LIFE[risk])

    # -- conversation-level view --------------------------------------------------------------
    def findings(self) -> list[ConversationFinding]:
        now = self.state.last_at or 0.0
        best: dict[Risk, tuple[float, tuple[str, ...], str]] = {}
        for pair, entries in self.state.pairs.items():
            for risk in Risk:
                if risk is Risk.GROOMING:
                    score, stages = self._grooming(entries, now)
                else:
                    ev = entries.get(risk.value)
                    score = ev.decayed(now, HALF_LIFE[risk]) if ev else 0.0
                    stages = ()
                if score > best.get(risk, (0.0, (), ""))[0]:
                    best[risk] = (score, stages, pair)
        out: list[ConversationFinding] = []
        for risk, (score, stages, pair) in best.items():
            level = self._level(risk, score, stages, pair)
            if level is RiskLevel.NONE:
                continue
            refs = self.state.evidence.get(risk.value, [])
            evidence = tuple(
                (int(ref[0]), Span(int(ref[1]), int(ref[2]), str(ref[3])))
                for ref in refs
                if ref[4] == pair
            )
            out.append(ConversationFinding(risk, score, level, stages, pair, evidence))
        out.sort(key=lambda f: (f.level, f.score), reverse=True)
        return out

    @staticmethod
    def _grooming(entries: dict[str, _Evidence], now: float) -> tuple[float, tuple[str, ...]]:
        scores = {
            key.split(":", 1)[1]: ev.decayed(now, HALF_LIFE[Risk.GROOMING])
            for key, ev in entries.items()
            if key.startswith("grooming:")
        }
        present = [stage for stage in STAGES if scores.get(stage, 0.0) >= STAGE_PRESENT]
        base = combine(list(scores.values()))
        boost = 1.0 + PROGRESSION_STEP * max(0, len(present) - 1)
        return min(1.0, base * boost), tuple(present)

    def _level(self, risk: Risk, score: float, stages: tuple[str, ...], pair: str) -> RiskLevel:
        if score < REPORT_THRESHOLD and not (risk is Risk.GROOMING and len(stages) >= 3):
            return RiskLevel.NONE
        level = max(RiskLevel.from_score(score), RiskLevel.LOW)
        if risk is Risk.GROOMING:
            serious = len(SERIOUS_STAGES.intersection(stages))
            sender = self.state.participants.get(pair.split(">", 1)[0], AgeBand.UNKNOWN)
            if len(stages) >= 3:
                level = max(level, RiskLevel.MEDIUM)  # early warning: the pattern is forming
            if serious >= 2 and not sender.is_minor:
                level = max(level, RiskLevel.HIGH)
            if {"meeting", "secrecy"} <= set(stages) and sender is AgeBand.ADULT:
                level = RiskLevel.IMMINENT
        return level

    def assessment(self, messages: tuple[Assessment, ...]) -> ConversationAssessment:
        findings = self.findings()
        actions: set[RecommendedAction] = set()
        for finding in findings:
            actions |= actions_for(finding.risk, finding.level)
        for message in messages:
            actions |= {a for a in message.actions if a is not RecommendedAction.NONE}
        level = max((f.level for f in findings), default=RiskLevel.NONE)
        level = max([level, *(m.level for m in messages)])
        return ConversationAssessment(
            language=self.lexicon.language,
            language_source=self.language_source,
            level=level,
            findings=tuple(findings),
            actions=sorted_actions(actions),
            messages=messages,
            first_flagged={k: dict(v) for k, v in self.state.first_flagged.items()},
            state=self.state,
        )


def assess_conversation(
    messages: Iterable[Message | Mapping[str, Any]],
    *,
    participants: Mapping[str, AgeBand | str | int | None] | None = None,
    state: ConversationState | Mapping[str, Any] | None = None,
    language: str | None = None,
) -> ConversationAssessment:
    """Assess messages in order, continuing from ``state`` (a previous result's ``state`` or
    its ``to_dict()``). ``participants`` maps sender ids to age bands ("child", "teen",
    "adult", "unknown") or ages."""
    if isinstance(state, Mapping):
        state = ConversationState.from_dict(state)
    tracker = ConversationTracker(state, participants=participants, language=language)
    results: list[Assessment] = []
    for number, raw in enumerate(messages):
        message = raw if isinstance(raw, Message) else Message.from_dict(raw, f"messages[{number}]")
        results.append(tracker.add(message))
    return tracker.assessment(tuple(results))


__all__ = [
    "ConversationAssessment",
    "ConversationFinding",
    "ConversationState",
    "ConversationTracker",
    "Message",
    "assess_conversation",
]
