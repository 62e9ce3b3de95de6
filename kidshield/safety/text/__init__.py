"""Message and conversation safety engine (pure: no I/O, time is passed in)."""

from __future__ import annotations

from kidshield.safety.text.assess import assess_message
from kidshield.safety.text.conversation import (
    ConversationAssessment,
    ConversationState,
    ConversationTracker,
    Message,
    assess_conversation,
)
from kidshield.safety.text.model import (
    AgeBand,
    Assessment,
    Finding,
    RecommendedAction,
    Risk,
    RiskLevel,
    Signpost,
    Span,
)

__all__ = [
    "AgeBand",
    "Assessment",
    "ConversationAssessment",
    "ConversationState",
    "ConversationTracker",
    "Finding",
    "Message",
    "RecommendedAction",
    "Risk",
    "RiskLevel",
    "Signpost",
    "Span",
    "assess_conversation",
    "assess_message",
]
