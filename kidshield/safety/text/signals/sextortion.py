"""Sextortion: threats to share intimate images, demands, and leverage over a child."""

from __future__ import annotations

from typing import ClassVar

from kidshield.safety.text.model import CueHit, Risk, RiskLevel
from kidshield.safety.text.signals.base import CueSignal


class SextortionSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.SEXTORTION

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        tags = frozenset().union(*(hit.tags for hit in hits))
        level = RiskLevel.from_score(score)
        if "threat" in tags and ("demand" in tags or "leverage" in tags):
            return RiskLevel.IMMINENT  # an extortion in progress
        if "images" in tags:
            return max(level, RiskLevel.HIGH)
        return level
