"""The conversation-level grooming model: a small logistic regression over what the tracker
keeps for one direction of a conversation (``sender>recipient``), never over text.

Features: decayed evidence per grooming stage, how many stages (and serious ones) are present,
the message model's peak and mean probabilities, how many messages and over how many hours,
the sender's and recipient's age bands and the age gap. The weights, the standardisation, the
calibration and the thresholds are a few hundred numbers in the model manifest, which names the
features it uses (any of ``FEATURES``), so a model trained on fewer of them still loads.

``TRAINED`` is what training uses: the cue evidence, and the context (ages, age gap, time) only
multiplied by it. Context alone is not evidence: with the ages and the length as features of
their own, a long chat between an adult and a child they know (a coach, an aunt) scored as
grooming with no grooming move in it, and how much so swung with a handful of training
conversations. The message model's probabilities are left out too: training runs that model
over the very conversations it was fitted on, where it is surer than on anyone else's, and a
conversation model trained on those scores flagged a sixth of another writer's benign chats
(teens, adults in chat rooms) with no grooming move in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kidshield.safety.text.model import AgeBand, RiskLevel
from kidshield.safety.text.signals.grooming import STAGES

if TYPE_CHECKING:  # state imports the assessment code, which loads this module
    from kidshield.safety.text.state import ConversationState, PairStats

SERIOUS_STAGES = frozenset(
    {"secrecy", "risk_assessment", "sexual", "image_request", "meeting", "off_platform"}
)
# moves that are grooming on their own when a known minor reads them; every other stage (a
# lift, a meeting time, a gift, "don't tell mum, it's a surprise") is what parents, coaches
# and relatives write to children every day, and counts once a second stage joins it
ALONE_STAGES = frozenset({"desensitisation", "sexual", "image_request"})
STAGE_PRESENT = 0.15
HOUR = 3600.0
GROOMING_HALF_LIFE = 14 * 24 * HOUR  # as the tracker's grooming evidence

# the message model's scores: in training it scores conversations it was fitted on, so the
# trained model leaves them out (kept, weight 0, for manifests that name them)
MESSAGE_MODEL: tuple[str, ...] = (
    "p_grooming_peak",
    "p_grooming_mean",
    "p_sexual_peak",
    "p_sextortion_peak",
)
# context on its own says nothing of grooming: it enters training only as products with the
# cue evidence below
CONTEXT: tuple[str, ...] = (
    "log_messages",
    "log_hours",
    "sender_child",
    "sender_teen",
    "sender_adult",
    "sender_unknown",
    "recipient_minor",
    "recipient_unknown",
    "adult_to_minor",
    "age_gap",
)
FEATURES: tuple[str, ...] = (
    *(f"stage:{stage}" for stage in STAGES),
    "stages",
    "serious_stages",
    "strong_cues",
    *MESSAGE_MODEL,
    *CONTEXT,
    "evidence",
    "adult_to_minor*evidence",
    "age_gap*evidence",
    "log_hours*evidence",
)
NOT_TRAINED = frozenset(MESSAGE_MODEL + CONTEXT)
TRAINED: tuple[str, ...] = tuple(f for f in FEATURES if f not in NOT_TRAINED)
MAX_GAP = 30.0
_INDEX = {name: i for i, name in enumerate(FEATURES)}


def pair_features(
    stage_scores: Mapping[str, float],
    strong: float,
    stats: PairStats | None,
    sender: AgeBand,
    recipient: AgeBand,
    age_gap: float,
    now: float,
) -> list[float]:
    """The feature vector (in ``FEATURES`` order) for one direction as of ``now``."""
    present = [s for s in STAGES if stage_scores.get(s, 0.0) >= STAGE_PRESENT]
    messages = stats.messages if stats is not None else 0
    hours = 0.0
    peak: Mapping[str, float] = {}
    total: Mapping[str, float] = {}
    fade = 1.0
    if stats is not None:
        if stats.first_at is not None and stats.last_at is not None:
            hours = max(0.0, stats.last_at - stats.first_at) / HOUR
            # model scores fade like the cue evidence when the direction falls silent
            fade = math.pow(0.5, max(0.0, now - stats.last_at) / GROOMING_HALF_LIFE)
        peak = {k: v * fade for k, v in stats.peak.items()}
        total = {k: v * fade for k, v in stats.total.items()}
    # the direction's grooming evidence from the cues on [0, 1]: its strongest stage
    evidence = max([0.0, *(stage_scores.get(s, 0.0) for s in STAGES)])
    adult_to_minor = float(sender is AgeBand.ADULT and recipient.is_minor)
    return [
        *(stage_scores.get(stage, 0.0) for stage in STAGES),
        float(len(present)),
        float(len(SERIOUS_STAGES.intersection(present))),
        strong,
        peak.get("grooming", 0.0),
        total.get("grooming", 0.0) / messages if messages else 0.0,
        peak.get("sexual_content", 0.0),
        peak.get("sextortion", 0.0),
        math.log1p(messages),
        math.log1p(hours),
        float(sender is AgeBand.CHILD),
        float(sender is AgeBand.TEEN),
        float(sender is AgeBand.ADULT),
        float(sender is AgeBand.UNKNOWN),
        float(recipient.is_minor),
        float(recipient is AgeBand.UNKNOWN),
        adult_to_minor,
        age_gap,
        evidence,
        adult_to_minor * evidence,
        min(age_gap, MAX_GAP) / MAX_GAP * evidence,
        math.log1p(hours) * evidence,
    ]


def age_gap(state: ConversationState, sender: str, recipient: str) -> float:
    """Years the sender is older than the recipient (0 when unknown or younger), capped."""
    ages = {**state.stated, **state.ages}  # the platform's ages win over stated ones
    if sender in ages and recipient in ages:
        return float(min(MAX_GAP, max(0, ages[sender] - ages[recipient])))
    bands = (state.participants.get(sender), state.participants.get(recipient))
    if bands[0] is AgeBand.ADULT and bands[1] is not None and bands[1].is_minor:
        return 8.0  # an adult and a minor of unknown ages: a typical gap
    return 0.0


@dataclass(frozen=True, slots=True)
class ConversationModel:
    """Weights over ``features`` (names from ``FEATURES``); ``probability`` takes the full
    ``FEATURES`` vector and reads the ones this model was trained on."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    slope: float
    intercept: float
    low: float
    medium: float
    high: float

    def __post_init__(self) -> None:
        unknown = [name for name in self.features if name not in _INDEX]
        if unknown:
            raise ValueError(f"conversation model feature {unknown[0]!r} unknown to this kidshield")
        if not len(self.features) == len(self.weights) == len(self.mean) == len(self.scale):
            raise ValueError("conversation model has the wrong number of weights")

    def probability(self, features: Sequence[float]) -> float:
        if len(features) != len(FEATURES):
            raise ValueError(f"{len(features)} conversation features, expected {len(FEATURES)}")
        z = self.bias
        for name, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True):
            z += w * (features[_INDEX[name]] - m) / s
        z = self.slope * z + self.intercept
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def level(self, probability: float) -> RiskLevel:
        if probability >= self.high:
            return RiskLevel.HIGH
        if probability >= self.medium:
            return RiskLevel.MEDIUM
        if probability >= self.low:
            return RiskLevel.LOW
        return RiskLevel.NONE

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 8) for w in self.weights],
            "bias": round(self.bias, 8),
            "mean": [round(m, 8) for m in self.mean],
            "scale": [round(s, 8) for s in self.scale],
            "calibration": {
                "method": "platt",
                "slope": round(self.slope, 8),
                "intercept": round(self.intercept, 8),
            },
            "thresholds": {"low": self.low, "medium": self.medium, "high": self.high},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ConversationModel:
        th, cal = raw["thresholds"], raw["calibration"]
        weights = tuple(float(w) for w in raw["weights"])
        mean = tuple(float(m) for m in raw["mean"])
        scale = tuple(float(s) or 1.0 for s in raw["scale"])
        return cls(
            tuple(str(name) for name in raw["features"]),
            weights,
            float(raw["bias"]),
            mean,
            scale,
            float(cal["slope"]),
            float(cal["intercept"]),
            float(th["low"]),
            float(th["medium"]),
            float(th["high"]),
        )
