"""Joining the lines a data file wraps for editing, the way CSS Text 3 says a browser should
(and Chromium does not): a line break between two East Asian wide characters disappears, any
other becomes a space. Without this a Chinese lesson shows a stray space after every wrapped
sentence ("时间。 当心")."""

from __future__ import annotations

import unicodedata


def is_wide(ch: str) -> bool:
    """Fullwidth, wide or halfwidth, and not Hangul (Korean keeps its spaces)."""
    if not ch:
        return False
    if unicodedata.east_asian_width(ch) not in ("F", "W", "H"):
        return False
    return not unicodedata.name(ch, "").startswith("HANGUL")


def break_between(before: str, after: str) -> str:
    """What a line break between the two texts becomes: nothing or a space."""
    return "" if is_wide(before[-1:]) and is_wide(after[:1]) else " "


def join_lines(text: str) -> str:
    """The lines of one paragraph as one line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    out = lines[0] if lines else ""
    for line in lines[1:]:
        out += break_between(out, line) + line
    return out
