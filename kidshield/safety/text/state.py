"""What a conversation leaves behind between calls: messages in, serialisable state out.

The state holds participant ids, age bands, evidence scores with their times, and evidence
references (message number, offsets, cue label, direction): never any text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kidshield.errors import InputError
from kidshield.safety.text.assess import parse_band
from kidshield.safety.text.model import AgeBand
from kidshield.safety.text.signals import combine

STATE_VERSION = 1


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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(state_time(value, where), UTC)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value), where)
        except ValueError:
            pass
    raise InputError(f"{where}: expected an ISO 8601 time with a zone, or Unix seconds")


# Unix seconds a datetime can hold (years 1 to 9999), with a day's margin for time zones
MIN_TIME = -62135510400.0
MAX_TIME = 253402214400.0


def state_number(value: Any, where: str, low: float = 0.0, high: float = math.inf) -> float:
    """A finite number from a platform's JSON (not a bool, a string or NaN), within bounds:
    what a stored state or a message holds is checked before the tracker computes with it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{where}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise InputError(f"{where}: {value!r} is out of range ({low:g} to {high:g})")
    return float(value)


def state_time(value: Any, where: str) -> float:
    """Unix seconds a datetime can hold."""
    seconds = state_number(value, where, -math.inf)
    if not MIN_TIME <= seconds <= MAX_TIME:
        raise InputError(f"{where}: {value!r} is not a time: Unix seconds from year 1 to 9999")
    return seconds


def state_count(value: Any, where: str) -> int:
    """A count or an offset: a whole number, 0 or more (4.0 from a JSON store is 4)."""
    number = state_number(value, where)
    if not number.is_integer():
        raise InputError(f"{where}: expected a whole number, got {value!r}")
    return int(number)


def _aware(value: datetime, where: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{where}: the time needs a time zone (e.g. 2026-01-31T18:00:00Z)")
    return value.astimezone(UTC)


@dataclass(slots=True)
class Evidence:
    """Decaying evidence for one risk (or grooming stage) in one direction."""

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
class PairStats:
    """Counts and model scores for one direction (features of the conversation model)."""

    messages: int = 0
    first_at: float | None = None
    last_at: float | None = None
    peak: dict[str, float] = field(default_factory=dict)  # risk -> highest message probability
    total: dict[str, float] = field(default_factory=dict)  # risk -> sum of probabilities

    def add(self, now: float, probabilities: Mapping[str, float]) -> None:
        self.messages += 1
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        for risk, p in probabilities.items():
            self.peak[risk] = max(self.peak.get(risk, 0.0), p)
            self.total[risk] = self.total.get(risk, 0.0) + p

    def to_list(self) -> list[Any]:
        return [
            self.messages,
            self.first_at,
            self.last_at,
            {k: round(v, 6) for k, v in self.peak.items()},
            {k: round(v, 6) for k, v in self.total.items()},
        ]

    @classmethod
    def from_list(cls, raw: Any, where: str = "stats") -> PairStats:
        messages, first_at, last_at, peak, total = raw
        return cls(
            state_count(messages, f"{where}.0"),
            None if first_at is None else state_time(first_at, f"{where}.1"),
            None if last_at is None else state_time(last_at, f"{where}.2"),
            {str(k): state_number(v, f"{where}.3.{k}", high=1.0) for k, v in dict(peak).items()},
            {str(k): state_number(v, f"{where}.4.{k}") for k, v in dict(total).items()},
        )


@dataclass(slots=True)
class ConversationState:
    """Everything the tracker remembers. Holds ids, age bands, scores, times and offsets only."""

    participants: dict[str, AgeBand] = field(default_factory=dict)
    ages: dict[str, int] = field(default_factory=dict)  # when the platform gave an age
    # ages participants stated in their messages ("im 13"), when the platform gave none
    stated: dict[str, int] = field(default_factory=dict)
    # "sender>recipient" -> risk -> evidence; grooming per stage as "grooming:<stage>"
    pairs: dict[str, dict[str, Evidence]] = field(default_factory=dict)
    evidence: dict[str, list[list[Any]]] = field(default_factory=dict)  # risk -> refs
    stats: dict[str, PairStats] = field(default_factory=dict)  # "sender>recipient" -> stats
    first_flagged: dict[str, dict[str, int]] = field(default_factory=dict)  # risk -> level -> msg
    message_count: int = 0
    last_at: float | None = None
    gaming_until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "participants": {pid: band.value for pid, band in self.participants.items()},
            "ages": dict(self.ages),
            "stated": dict(self.stated),
            "pairs": {
                pair: {key: [round(ev.score, 6), ev.at] for key, ev in entries.items()}
                for pair, entries in self.pairs.items()
            },
            "evidence": self.evidence,
            "stats": {pair: stats.to_list() for pair, stats in self.stats.items()},
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
                        str(key): _evidence(value, f"state.pairs.{pair}.{key}")
                        for key, value in dict(entries).items()
                    }
                    for pair, entries in dict(raw.get("pairs", {})).items()
                },
                ages={str(pid): _age(age, f"state.ages.{pid}")
                      for pid, age in dict(raw.get("ages", {})).items()},
                stated={str(pid): _age(age, f"state.stated.{pid}")
                        for pid, age in dict(raw.get("stated", {})).items()},
                stats={
                    str(pair): PairStats.from_list(value, f"state.stats.{pair}")
                    for pair, value in dict(raw.get("stats", {})).items()
                },
                evidence={
                    str(k): [_reference(ref, f"state.evidence.{k}.{i}") for i, ref in enumerate(v)]
                    for k, v in dict(raw.get("evidence", {})).items()
                },
                first_flagged={
                    str(k): {str(lv): state_count(i, f"state.first_flagged.{k}.{lv}")
                             for lv, i in dict(v).items()}
                    for k, v in dict(raw.get("first_flagged", {})).items()
                },
                message_count=state_count(raw.get("message_count", 0), "state.message_count"),
                last_at=None if raw.get("last_at") is None
                else state_time(raw["last_at"], "state.last_at"),
                gaming_until=None
                if raw.get("gaming_until") is None
                else state_time(raw["gaming_until"], "state.gaming_until"),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"state: not a valid conversation state ({exc})") from None


def _evidence(value: Any, where: str) -> Evidence:
    score, at = value
    return Evidence(state_number(score, f"{where}.0", high=1.0), state_time(at, f"{where}.1"))


def _age(value: Any, where: str) -> int:
    age = state_count(value, where)
    parse_band(age, where)  # the platform's range of ages
    return age


def _reference(value: Any, where: str) -> list[Any]:
    """Where a piece of evidence is: [message, start, end, cue label, direction]."""
    if not isinstance(value, list) or len(value) != 5:
        raise InputError(f"{where}: expected [message, start, end, label, direction]")
    message, start, end, label, pair = value
    if not isinstance(label, str) or not isinstance(pair, str):
        raise InputError(f"{where}: the label and direction must be strings")
    return [state_count(message, f"{where}.0"), state_count(start, f"{where}.1"),
            state_count(end, f"{where}.2"), label, pair]
