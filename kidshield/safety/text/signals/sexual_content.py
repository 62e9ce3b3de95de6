"""Sexual content: explicit sexual talk, requests and sexual emoji codes."""

from __future__ import annotations

from typing import ClassVar

from kidshield.safety.text.model import Risk
from kidshield.safety.text.signals.base import CueSignal


class SexualContentSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.SEXUAL_CONTENT
