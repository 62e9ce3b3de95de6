"""Bullying and harassment aimed at a person, told apart from banter and from game talk."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import CueHit, Risk
from kidshield.safety.text.signals.base import CueSignal, SignalContext

BANTER = 0.35  # a mild insult with a laugh or "jk"
GAME_TALK = 0.15  # "I'll kill you" in a message or conversation about a game
REAL_LIFE = re.compile(
    r"(?<![a-z])(?:irl|in real life|for real|after school|at school|tomorrow at|your house|ur house"
    r"|where (?:you|u) live|outside|bus stop|i mean it|not joking|not kidding|deadass)(?![a-z])"
)


class BullyingSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.BULLYING

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        if "severe" in cue.tags:
            return 1.0
        factor = 1.0
        if "violent" in cue.tags and ctx.gaming and REAL_LIFE.search(view) is None:
            factor *= GAME_TALK
        if ctx.laughing and ("mild" in cue.tags or "violent" in cue.tags):
            factor *= BANTER
        return factor

    def model_factor(self, ctx: SignalContext, hits: list[CueHit]) -> float:
        """Game talk and banter soften the model as they soften the cues; a severe cue
        ("kys", slurs) is never softened."""
        if any("severe" in hit.tags for hit in hits):
            return 1.0
        factor = 1.0
        if ctx.gaming and REAL_LIFE.search(ctx.norm.text) is None:
            factor *= GAME_TALK
        if ctx.laughing:
            factor *= BANTER
        return factor
