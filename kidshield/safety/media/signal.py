"""Signal types: what a hash looks like, how it is parsed and compared.

Modelled on python-threatexchange's ``SignalType``: one small class of classmethods per hash type.
Only PDQ exists today; adding another type means one class here, a way to choose between them
and an index that can search it.
"""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.errors import InputError
from kidshield.safety.media.hashing import HEX_LENGTH


class SignalError(InputError):
    """A hash string is not valid for its signal type."""


_HEX64 = re.compile(r"[0-9a-f]{64}")


class PdqSignal:
    """PDQ: 256-bit perceptual image hash, compared by Hamming distance."""

    name: ClassVar[str] = "pdq"
    default_threshold: ClassVar[int] = 31  # Meta's recommended match threshold for PDQ
    max_distance: ClassVar[int] = 256

    @classmethod
    def validate(cls, signal: str) -> str:
        text = signal.strip().lower()
        if not _HEX64.fullmatch(text):
            shown = signal if len(signal) <= 80 else signal[:77] + "..."
            raise SignalError(
                f"{shown!r} is not a PDQ hash: expected {HEX_LENGTH} hexadecimal characters"
            )
        return text

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return (int(cls.validate(a), 16) ^ int(cls.validate(b), 16)).bit_count()
