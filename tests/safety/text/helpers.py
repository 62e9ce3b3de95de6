"""What the text tests ask of the engine, said once."""

from __future__ import annotations

from functools import partial
from typing import Any

from kidshield.safety.text import Risk, RiskLevel, assess_message


def level(text: str, risk: Risk, **kwargs: Any) -> RiskLevel:
    """The level ``assess_message(text, **kwargs)`` gives ``risk``: NONE without a finding."""
    finding = assess_message(text, **kwargs).finding(risk)
    return RiskLevel.NONE if finding is None else finding.level


bullying = partial(level, risk=Risk.BULLYING)
self_harm = partial(level, risk=Risk.SELF_HARM)
