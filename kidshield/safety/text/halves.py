"""DEV and TEST halves of a real source that the project learns rules or data from.

When a source is used both to find what the engine gets wrong and to report how it does, the
errors may be read on one half only and the figure that counts is the other half's: a rule
written after reading a row can't then be credited with getting that row right. The half is a
stable hash of the row's text (lower case, spaces collapsed), so it never depends on file
order, ids or the label: SHA-256 of the UTF-8 text, first byte even → DEV, odd → TEST.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Half = Literal["dev", "test"]
DEV: Half = "dev"
TEST: Half = "test"


def half_of(text: str) -> Half:
    """The row's half: reading DEV rows is allowed, TEST rows are only ever counted."""
    key = " ".join(text.lower().split()).encode("utf-8")
    return DEV if hashlib.sha256(key).digest()[0] % 2 == 0 else TEST
