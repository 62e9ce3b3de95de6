"""Message and conversation safety engine (pure: no I/O, time is passed in)."""

from __future__ import annotations

from kidshield.safety.text.assess import assess_message
from kidshield.safety.text.model import (
    AgeBand,
    Assessment,
    Finding,
    RecommendedAction,
    Risk,
    RiskLevel,
    Span,
)

__all__ = [
    "AgeBand",
    "Assessment",
    "Finding",
    "RecommendedAction",
    "Risk",
    "RiskLevel",
    "Span",
    "assess_message",
]
