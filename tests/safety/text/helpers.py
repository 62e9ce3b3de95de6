"""What the text tests ask of the engine, said once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.classifier import TextClassifier, shipped_classifier
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import ConversationAssessment
from kidshield.safety.text.state import Message

CHAT_START = datetime(2026, 5, 9, 17, 0, tzinfo=UTC)


def chat(lines: list[tuple[str, str]], start: datetime = CHAT_START) -> list[Message]:
    """(sender, text) lines as a conversation, one message every 45 seconds."""
    return [Message(s, t, start + timedelta(seconds=45 * i)) for i, (s, t) in enumerate(lines)]


def conversation_bullying(result: ConversationAssessment) -> RiskLevel:
    """The highest bullying level anywhere in an assessed conversation."""
    levels = [f.level for f in result.findings if f.risk is Risk.BULLYING]
    levels += [f.level for m in result.messages for f in m.findings if f.risk is Risk.BULLYING]
    return max(levels, default=RiskLevel.NONE)


def level(text: str, risk: Risk, **kwargs: Any) -> RiskLevel:
    """The level ``assess_message(text, **kwargs)`` gives ``risk``: NONE without a finding."""
    finding = assess_message(text, **kwargs).finding(risk)
    return RiskLevel.NONE if finding is None else finding.level


bullying = partial(level, risk=Risk.BULLYING)
self_harm = partial(level, risk=Risk.SELF_HARM)


def eager_bullying(threshold: float) -> Combiner:
    """The shipped engine with the bullying head flagging from ``threshold`` (low and medium),
    as a model that never saw a kind of sentence may score it; everything else as shipped,
    the outside profanity gate included."""
    shipped = shipped_classifier()
    heads = dict(shipped.heads)
    heads[Risk.BULLYING] = replace(heads[Risk.BULLYING], low=threshold, medium=threshold)
    return Combiner(TextClassifier(
        shipped.vectorizer, shipped.weights, shipped.bias, heads, shipped.manifest,
        shipped.conversation, shipped.profanity,
    ))
