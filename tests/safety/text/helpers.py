"""What the text tests ask of the engine, said once."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.classifier import TextClassifier, shipped_classifier
from kidshield.safety.text.combine import Combiner


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
