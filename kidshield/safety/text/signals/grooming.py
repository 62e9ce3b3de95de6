"""Grooming: an older person building trust, secrecy and access to a child, by stage."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import AgeBand, Risk
from kidshield.safety.text.signals.base import CueSignal, SignalContext

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

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        # a child asking an adult these things is not the adult grooming them
        if ctx.sender.is_minor and ctx.recipient is AgeBand.ADULT:
            return 0.4
        if ctx.sender is AgeBand.ADULT and ctx.recipient is AgeBand.ADULT:
            return 0.2
        return 1.0
