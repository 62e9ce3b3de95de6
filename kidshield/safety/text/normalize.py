"""Evasion-robust normalisation with an offset map back to the original text.

Two views are produced from one message:

* ``light``: lower case, homoglyphs and accents folded to ASCII, invisible characters and
  apostrophes removed. Personal-information patterns (emails, phones, handles) read this view.
* ``text`` (full): ``light`` plus emoji turned into ``:name:`` codes, leetspeak undone inside words,
  spaced-out words joined ("k y s", "n.u.d.e.s") and runs of 3+ repeated letters collapsed.

Every length-changing step records its edits, so any span found in either view maps back to
``[start, end)`` in the original string with :meth:`NormalizedText.to_original`.
ASCII messages without leetspeak or spacing tricks take a fast path that is little more than
``str.lower()``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# character tables (built once at import)

_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ʏ": "y", "ь": "b", "п": "n", "г": "r",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "μ": "u", "ς": "s", "σ": "o",
    # look-alike punctuation
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u2010": "-", "\u2011": "-", "\u2013": "-",
    "\u2014": "-", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ", "\u2002": " ",
    "\u2003": " ", "\u2009": " ", "\uff0e": ".", "\uff20": "@", "ı": "i", "ł": "l", "ø": "o",
    "đ": "d", "ħ": "h", "ŧ": "t", "ß": "s", "æ": "a", "œ": "o",
}  # fmt: skip

_FOLD_RANGES = (
    (0x00C0, 0x0250),  # Latin-1 supplement and Latin extended (accents)
    (0x1E00, 0x1F00),  # Latin extended additional
    (0x2460, 0x2500),  # enclosed alphanumerics (circled letters)
    (0xFF01, 0xFF5F),  # full-width forms
    (0x1D400, 0x1D800),  # mathematical alphanumerics (bold, script, fraktur, ...)
    (0x1F130, 0x1F18A),  # squared / negative squared letters
)


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for low, high in _FOLD_RANGES:
        for cp in range(low, high):
            char = chr(cp)
            decomposed = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if len(base) == 1 and base.isascii() and base.isprintable():
                table[cp] = base.lower()
    for src, dst in _CONFUSABLES.items():
        table[ord(src)] = dst
        upper = src.upper()
        if len(upper) == 1 and upper != src:
            table.setdefault(ord(upper), dst)
    return table


_FOLD = _build_fold_table()

# characters deleted from both views: invisibles, joiners, variation selectors, skin tones,
# combining marks, and apostrophes (so "don't" and "dont" read the same)
_DELETE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufe00-\ufe0f\ufeff\U0001f3fb-\U0001f3ff\U000e0000-\U000e007f"
    "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f']+"
)
_APOSTROPHE_ONLY_RE = re.compile("'+")

# leetspeak inside words: same length, so offsets do not move
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "l", "€": "e", "£": "l"})  # fmt: skip
_LEET_PAIR = r"(?:[a-z][013457@$|€£]|[013457@$|€£][a-z]|[a-z]![a-z])"
# a token (letters, digits, leet symbols) with at least one leet character next to a letter
# A match is always a whole run of these characters (its leading part is greedy and a pair
# lies inside the run), so the look-behind only stops the engine from retrying the same failed
# run from each of its later positions, which cost more than the rest of normalisation
_LEET_TOKEN_RE = re.compile(
    rf"(?<![a-z0-9@$!|€£])[a-z0-9@$!|€£]*{_LEET_PAIR}[a-z0-9@$!|€£]*"
)
# a text without any of these cannot hold a pair: most messages skip the pass
_LEET_ANY_RE = re.compile(r"[013457@$|€£!]")
# numbers with a unit ("14yo", "5pm", "3rd", "2nd", "10k", "1v1") are not leetspeak
_NUMBER_UNIT_RE = re.compile(
    r"\d+(?:yo|y|yrs?|am|pm|st|nd|rd|th|k|m|f|s|x|v\d+|mins?|hrs?|h|gb|mb|cm|mm|kg|lbs?|p|fps)?"
)

_WIDE_GAP_RE = re.compile(r"\s{2,}|\s*[,/]\s*")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")
_SPACED_RE = re.compile(r"(?<![a-z0-9])[a-z0-9$@!](?:[ .\-_*,+~]{1,2}[a-z0-9$@!]){2,}(?![a-z0-9])")


# ---------------------------------------------------------------------------------------------
# offset bookkeeping


@dataclass(frozen=True, slots=True)
class _Step:
    """The edits one length-changing step made: parallel lists, sorted by position.

    Edit i replaced ``old[old_starts[i]:old_ends[i]]`` by ``new[new_starts[i]:new_ends[i]]``.
    """

    new_starts: list[int]
    new_ends: list[int]
    old_starts: list[int]
    old_ends: list[int]

    def back_start(self, pos: int) -> int:
        i = bisect_right(self.new_starts, pos) - 1
        if i < 0:
            return pos
        if pos < self.new_ends[i]:
            return self.old_starts[i]
        return self.old_ends[i] + (pos - self.new_ends[i])

    def back_end(self, pos: int) -> int:
        """Map an exclusive end offset."""
        if pos <= 0:
            return 0
        last = pos - 1
        i = bisect_right(self.new_starts, last) - 1
        if i < 0:
            return pos
        if last < self.new_ends[i]:
            return self.old_ends[i]
        return self.old_ends[i] + (last - self.new_ends[i]) + 1


def _substitute(
    pattern: re.Pattern[str], text: str, repl: Callable[[re.Match[str]], str]
) -> tuple[str, _Step | None]:
    """``pattern.sub`` that records its edits (only those that changed the length)."""
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    old_starts: list[int] = []
    old_ends: list[int] = []
    last = 0
    new_len = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        replacement = repl(match)
        if replacement == match.group(0):
            continue
        parts.append(text[last:start])
        new_len += start - last
        parts.append(replacement)
        if len(replacement) != end - start:
            new_starts.append(new_len)
            new_ends.append(new_len + len(replacement))
            old_starts.append(start)
            old_ends.append(end)
        new_len += len(replacement)
        last = end
    if not parts:
        return text, None
    parts.append(text[last:])
    step = _Step(new_starts, new_ends, old_starts, old_ends) if new_starts else None
    return "".join(parts), step


@dataclass(frozen=True, slots=True)
class NormalizedText:
    original: str
    light: str
    text: str
    _light_steps: tuple[_Step, ...]
    _full_steps: tuple[_Step, ...]  # applied after the light steps

    def to_original(self, start: int, end: int, *, view: str = "text") -> tuple[int, int]:
        """Map ``[start, end)`` in ``view`` ("text" or "light") back to the original string."""
        steps = self._light_steps + self._full_steps if view == "text" else self._light_steps
        for step in reversed(steps):
            start, end = step.back_start(start), step.back_end(end)
        return start, end


def _fold(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two (e.g. "İ")
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered.translate(_FOLD)


def _deleted(_match: re.Match[str]) -> str:
    return ""


def _unleet(match: re.Match[str]) -> str:
    token = match.group(0)
    if _NUMBER_UNIT_RE.fullmatch(token) or not any(c.isalpha() for c in token):
        return token
    # keep a leading @ (mentions) and trailing ! (exclamations) as they are
    head = "@" if token.startswith("@") else ""
    tail_len = len(token) - len(token.rstrip("!"))
    body = token[len(head) : len(token) - tail_len]
    return head + body.translate(_LEET) + token[len(token) - tail_len :]


class Normalizer:
    """Normalises messages for one language's data (emoji names, words worth un-spacing)."""

    def __init__(self, emoji: Mapping[str, str], spaced_words: frozenset[str]) -> None:
        self._emoji = {key: f" :{name}: " for key, name in emoji.items()}
        keys = sorted(self._emoji, key=len, reverse=True)
        self._emoji_re = re.compile("|".join(re.escape(key) for key in keys)) if keys else None
        # ":name:" codes typed as text are kept as they are; make sure they are not leet-mangled
        self._spaced_words = spaced_words

    def _emoji_name(self, match: re.Match[str]) -> str:
        return self._emoji[match.group(0)]

    def _unspace(self, match: re.Match[str]) -> str:
        chunk = match.group(0)
        pieces = _WIDE_GAP_RE.split(chunk)  # "s e n d  n u d e s": two words
        out = []
        for piece in pieces:
            out.append(self._join_piece(piece))
        return " ".join(out)

    def _join_piece(self, piece: str) -> str:
        chars = [c for c in piece if c.isalnum() or c in "$@!"]
        joined = "".join(chars).translate(_LEET)
        if joined in self._spaced_words:
            return joined
        # "a l o s e r", "u r u g l y": a word glued to a one-letter word at either end
        if joined[1:] in self._spaced_words:
            return f"{chars[0]} {joined[1:]}"
        if joined[:-1] in self._spaced_words:
            return f"{joined[:-1]} {chars[-1]}"
        return piece

    def normalize(self, original: str) -> NormalizedText:
        light_steps: list[_Step] = []
        full_steps: list[_Step] = []
        if original.isascii():
            light = original.lower()
            if "'" in light or "`" in light:
                light = light.replace("`", "'")
                light, step = _substitute(_APOSTROPHE_ONLY_RE, light, _deleted)
                if step:
                    light_steps.append(step)
            text = light
        else:
            light, step = _substitute(_DELETE_RE, _fold(original), _deleted)
            if step:
                light_steps.append(step)
            text = light
            if self._emoji_re is not None:
                text, step = _substitute(self._emoji_re, text, self._emoji_name)
                if step:
                    full_steps.append(step)
        if _LEET_ANY_RE.search(text) is not None:
            text = _LEET_TOKEN_RE.sub(_unleet, text)  # same length: no step to record
        for pattern, repl in ((_SPACED_RE, self._unspace), (_REPEAT_RE, _repeat_once)):
            text, step = _substitute(pattern, text, repl)  # no match: text comes back as is
            if step:
                full_steps.append(step)
        return NormalizedText(original, light, text, tuple(light_steps), tuple(full_steps))


def _repeat_once(match: re.Match[str]) -> str:
    return match.group(1)
