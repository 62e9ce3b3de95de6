"""A child disclosing personal information: address, school, phone, email, name, handles,
age with location, live location. Hits carry the placeholder used in the redacted copy."""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import AgeBand, CueHit, Risk
from kidshield.safety.text.signals.base import CueSignal, SignalContext


class PersonalInfoSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.PERSONAL_INFO

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        if cue.min_digits:
            value = match.group(0)
            if sum(c.isdigit() for c in value) < cue.min_digits:
                return 0.0
        if ctx.sender is AgeBand.ADULT:
            return 0.5  # an adult's own details: not a child's disclosure
        if ctx.sender.is_minor and ctx.recipient is AgeBand.ADULT:
            return 1.4  # a child telling an adult
        return 1.0


def redact(text: str, hits: list[CueHit]) -> str:
    """Replace each redactable span with ``[kind]``; overlapping spans merge."""
    spans = sorted((h.start, h.end, h.redact) for h in hits if h.redact is not None)
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    out: list[str] = []
    last_end = 0
    for start, end, kind in merged:
        out.append(text[last_end:start])
        out.append(f"[{kind}]")
        last_end = end
    out.append(text[last_end:])
    return "".join(out)
