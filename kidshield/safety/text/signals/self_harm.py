"""Self-harm and suicide risk: ideation, self-harm acts, means, plans and timing."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import CueHit, Risk, RiskLevel
from kidshield.safety.text.signals.base import CueSignal, SignalContext

JOKING = 0.5  # "kms lol": still signposted, but not escalated
HYPERBOLE = 0.3  # "i want to die lol this test": a laugh and an everyday trouble


class SelfHarmSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.SELF_HARM

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        if ctx.laughing and "ideation" in cue.tags:
            if ctx.lexicon.mundane.search(view) is not None:
                return HYPERBOLE
            return JOKING
        return 1.0

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        level = RiskLevel.from_score(score)
        tags = frozenset().union(*(hit.tags for hit in hits))
        serious = [hit for hit in hits if hit.weight >= 0.5]
        serious_tags = frozenset().union(*(hit.tags for hit in serious))
        if ("plan" in serious_tags or "means" in serious_tags) and (
            "ideation" in tags or "plan" in tags
        ):
            return RiskLevel.IMMINENT
        return level

    def model_factor(self, ctx: SignalContext, hits: list[CueHit]) -> float:
        """"i want to die lol this test": a laugh (and an everyday trouble) tempers the model
        as it tempers the ideation cues."""
        if not ctx.laughing:
            return 1.0
        if ctx.lexicon.mundane.search(ctx.norm.text) is not None:
            return HYPERBOLE
        return JOKING
