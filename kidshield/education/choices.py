"""Reading a child's or a group's choice by number, from a terminal line or a form field."""

from __future__ import annotations

# Decimal digits of any script (an Arabic keyboard types "٣"; int() reads it), and few of
# them: str.isdigit() also accepts "²" (a key of its own on a French keyboard), which int()
# refuses, and int() refuses numbers over 4,300 digits
_MAX_DIGITS = 4


def choice_number(text: object, first: int, last: int) -> int | None:
    """``text`` as a whole number from ``first`` to ``last``, or None for anything else."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text.isdecimal() or len(text) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if first <= number <= last else None
