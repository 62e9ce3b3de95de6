"""Signal types: what a hash looks like, how it is parsed and compared.

Modelled on python-threatexchange's ``SignalType``: one small class of classmethods per hash type,
registered in ``SIGNAL_TYPES``. Only PDQ exists today; adding another type means one class here
plus an index that can search it.
"""

from __future__ import annotations

import re
from typing import ClassVar, Protocol

from kidshield.errors import InputError
from kidshield.safety.media.hashing import HEX_LENGTH


class SignalError(InputError):
    """A hash string is not valid for its signal type."""


class SignalType(Protocol):
    name: ClassVar[str]
    default_threshold: ClassVar[int]
    max_distance: ClassVar[int]

    @classmethod
    def validate(cls, signal: str) -> str:
        """Return the canonical form of ``signal`` or raise ``SignalError``."""
        ...

    @classmethod
    def distance(cls, a: str, b: str) -> int: ...


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


SIGNAL_TYPES: dict[str, type[PdqSignal]] = {PdqSignal.name: PdqSignal}


def signal_type(name: str) -> type[PdqSignal]:
    try:
        return SIGNAL_TYPES[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise SignalError(f"unknown signal type {name!r}; known: {known}") from None
