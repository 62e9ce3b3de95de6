"""Grooming: an older person building trust, secrecy and access to a child, by stage."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import REPORT_THRESHOLD, AgeBand, CueHit, Risk
from kidshield.safety.text.signals.base import CueSignal, SignalContext, score_hits

WEAK_TOGETHER = 0.55  # weak cues in one message flag together from this score
PEERS = 0.5  # model probability kept between two known minors

# Stages in the order they usually appear; the conversation tracker rewards progression.
STAGES = (
    "rapport",
    "gifts",
    "exclusivity",
    "secrecy",
    "risk_assessment",
    "off_platform",
    "desensitisation",
    "sexual",
    "image_request",
    "meeting",
)


class GroomingSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.GROOMING

    def flags_alone(self, hits: list[CueHit], score: float) -> bool:
        """Cues tagged ``weak`` ("asl", "where are you from", "what time do you get home",
        "you can tell me anything") are ordinary chat on their own: on real chat segments,
        flagging them was 8 % precise. They count through the model, add up in the
        conversation tracker, or flag together (score from ``WEAK_TOGETHER``)."""
        strong = [hit for hit in hits if "weak" not in hit.tags]
        return score_hits(strong) >= REPORT_THRESHOLD or score >= WEAK_TOGETHER

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        # a child asking an adult these things is not the adult grooming them
        if ctx.sender.is_minor and ctx.recipient is AgeBand.ADULT:
            return 0.4
        if ctx.sender is AgeBand.ADULT and ctx.recipient is AgeBand.ADULT:
            return 0.2
        return 1.0

    def model_factor(self, ctx: SignalContext, hits: list[CueHit]) -> float:
        return direction_factor(ctx.sender, ctx.recipient)


def direction_factor(sender: AgeBand, recipient: AgeBand) -> float:
    """Grooming is about who writes to whom: a child writing to an adult, two adults, or two
    minors (teens flirting with teens) count for less than an adult or a stranger writing to
    a child. Applied to the message model and to the conversation model."""
    if sender.is_minor and recipient is AgeBand.ADULT:
        return 0.4
    if sender is AgeBand.ADULT and recipient is AgeBand.ADULT:
        return 0.2
    if sender.is_minor and recipient.is_minor:
        return PEERS
    return 1.0
