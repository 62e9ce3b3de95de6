"""Risk signals, one small module per risk, registered in one list (order = report order)."""

from __future__ import annotations

from kidshield.safety.text.signals.base import Signal, SignalContext, combine, score_hits
from kidshield.safety.text.signals.bullying import BullyingSignal
from kidshield.safety.text.signals.grooming import GroomingSignal
from kidshield.safety.text.signals.personal_info import PersonalInfoSignal
from kidshield.safety.text.signals.self_harm import SelfHarmSignal
from kidshield.safety.text.signals.sextortion import SextortionSignal
from kidshield.safety.text.signals.sexual_content import SexualContentSignal

SIGNALS: tuple[Signal, ...] = (
    SelfHarmSignal(),
    SextortionSignal(),
    GroomingSignal(),
    SexualContentSignal(),
    BullyingSignal(),
    PersonalInfoSignal(),
)

__all__ = ["SIGNALS", "Signal", "SignalContext", "combine", "score_hits"]
