"""The parts of a long text that the message model scores beside the whole.

The features are length-normalised (:mod:`features`), so one suicidal sentence in a 300-word
post, or one insult in a long comment, is diluted by everything around it. A text longer than
``window`` tokens is therefore also scored in overlapping windows of ``window`` tokens (each
starting ``stride`` tokens after the previous one, the last one ending at the text's end), and
a risk's margin is the largest of the whole text's and its windows'. Platt scaling is monotone,
so that is the largest calibrated probability; it is fitted, and the thresholds chosen, on
these same scores of the validation split (:mod:`train`), so the levels mean the same for short
and long texts.

At most ``max_parts`` windows are scored: a longer text gets longer windows (still overlapping
by half and covering the whole text), so the cost of a text grows at most linearly with its
length and is bounded. Texts of ``window`` tokens or fewer are scored whole, exactly as before.

This is the one definition of the parts: training, the run-time classifier and the
explanations all call :func:`part_spans`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kidshield.safety.text.features import TOKEN_RE


@dataclass(frozen=True, slots=True)
class PartSettings:
    window: int = 32  # tokens; texts up to this many are scored whole only
    stride: int = 16
    max_parts: int = 24

    def __post_init__(self) -> None:
        if self.window < 2 or not 1 <= self.stride <= self.window or self.max_parts < 3:
            raise ValueError("parts: need window >= 2, 1 <= stride <= window, max_parts >= 3")

    def to_dict(self) -> dict[str, int]:
        return {"window": self.window, "stride": self.stride, "max_parts": self.max_parts}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PartSettings:
        return cls(int(raw["window"]), int(raw["stride"]), int(raw["max_parts"]))


def part_spans(normalised: str, settings: PartSettings | None) -> list[tuple[int, int]]:
    """``[start, end)`` character spans of the windows of ``normalised`` (empty when the text
    is scored whole only: no settings, or no more than ``window`` tokens)."""
    if settings is None or len(normalised) <= settings.window:  # a token is >= 1 character
        return []
    bounds = [m.span() for m in TOKEN_RE.finditer(normalised)]
    count = len(bounds)
    window, stride = settings.window, settings.stride
    if count <= window:
        return []
    needed = -(-(count - window) // stride) + 1
    if needed <= settings.max_parts:
        starts = [min(i * stride, count - window) for i in range(needed)]
    else:
        # too many windows: widen them so that max_parts of them, still overlapping by about
        # half, cover the whole text
        n = settings.max_parts
        window = min(count, max(window, math.ceil(2 * (count - window) / (n - 1))))
        starts = sorted({round(i * (count - window) / (n - 1)) for i in range(n)})
    return [(bounds[s][0], bounds[s + window - 1][1]) for s in starts]
