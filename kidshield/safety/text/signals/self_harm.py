"""Self-harm and suicide risk: ideation, self-harm acts, means, plans and timing."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import CueHit, Risk, RiskLevel
from kidshield.safety.text.signals.base import CueSignal, SignalContext, score_hits

PLAN_SAID = "intent_with_time"  # the cue of intent said with a time (data/en/self_harm.toml)
QUOTED = 0.5  # 0.85 x 0.5: under the weight of 0.5 a plan needs to be imminent
JOKING = 0.5  # "kms lol": still signposted, but not escalated
HYPERBOLE = 0.3  # "i want to die lol this test": a laugh and an everyday trouble


def _quoted(view: str, start: int) -> bool:
    """Whether ``start`` is inside double quotation marks opened on its line."""
    line = view[view.rfind("\n", 0, start) + 1 : start]
    return (line.count('"') + line.count("\u201c") - line.count("\u201d")) % 2 == 1


class SelfHarmSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.SELF_HARM

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        if cue.id == PLAN_SAID and _quoted(view, match.start()):
            return QUOTED  # a lyric or someone's words: the ideation counts, not the plan
        if ctx.laughing and "ideation" in cue.tags:
            if ctx.lexicon.mundane.search(view) is not None:
                return HYPERBOLE
            return JOKING
        return 1.0

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        # means made ready (tagged "ready", no support tag: they never flag alone, combine.py)
        # raise nothing but the imminent rule
        level = RiskLevel.from_score(score_hits([hit for hit in hits if "ready" not in hit.tags]))
        tags = frozenset().union(*(hit.tags for hit in hits))
        serious = [hit for hit in hits if hit.weight >= 0.5]
        serious_tags = frozenset().union(*(hit.tags for hit in serious))
        if serious_tags & {"plan", "means", "ready"} and (
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
