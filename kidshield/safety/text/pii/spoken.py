"""Numbers read out or typed to get past a filter: "oh seven seven double oh nine ...",
"zero8three five55 0one47", "0 7 7 0 0 9 0 0 2 3 4".

Voice-to-text writes a phone number the way it was said, and children split or spell one out
so that a chat filter misses it. A run of digit words ("zero", "oh", "one" ... "nine"), digits,
"double"/"triple" and "plus" is turned back into its digits, and the digits are then judged like
any other number: a card if Luhn and a brand's range hold; a phone if it has a country code, a
national trunk ``0`` and a phone's length, or a phone word before it. Words such as "one two
three four five six seven eight nine ten" count to nothing: no ``0`` in front, no phone word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kidshield.safety.text.pii import phones
from kidshield.safety.text.pii.checks import card_brand
from kidshield.safety.text.pii.phones import PhoneEvidence
from kidshield.safety.text.pii.words import SOFT_PHONE, NumberWords

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3, "treble": 3}
# longest first, so "oh" and "one" are not read as "o" and a stray letter
_TOKEN = (
    "|".join(sorted(set(_WORD_DIGITS) - {"o"} | set(_REPEAT), key=len, reverse=True))
    + r"|o(?![a-z])|\d+"  # "o" only as a word of its own: "ooooh" is not 0000
)
_TOKEN_RE = re.compile(_TOKEN)
# at least five tokens, joined by nothing or by up to two spaces, dashes, dots or commas
_RUN_RE = re.compile(
    rf"(?<![a-z0-9])(?P<plus>(?:plus|\+) ?)?"
    rf"(?:{_TOKEN})(?:[ \-.,]{{0,2}}(?:{_TOKEN})){{4,}}(?![a-z0-9])"
)
_WORD_RE = re.compile(
    r"(?<![a-z])(?:" + "|".join(sorted([*_WORD_DIGITS, *_REPEAT], key=len, reverse=True))
    + r")(?![a-z])"
)
MIN_WORDS = 2  # "077 double 0 900 triple 4 5" has two
_SINGLE_DIGITS_RE = re.compile(r"(?<![0-9])[0-9](?:[ \-.,]{1,2}[0-9](?![0-9])){8,}")
MIN_DIGITS = 7
MAX_DIGITS = 19  # a card's longest
MIN_DISTINCT = 3
SINGLE_DIGIT_RUN = 9  # "0 7 7 0 0 9 0 0 2 3 4": one digit at a time, typed to dodge a filter


def spoken_numbers(
    light: str, words: NumberWords, digit_count: int
) -> Iterator[tuple[str, str, int, int, float]]:
    """(kind, label, start, end, strength) for each phone or card number spelt out in words
    (or digit by digit) in the light view of a message that has ``digit_count`` digits."""
    if len(_WORD_RE.findall(light)) < MIN_WORDS and (
        digit_count < SINGLE_DIGIT_RUN or _SINGLE_DIGITS_RE.search(light) is None
    ):
        return  # most messages: too few digit words and no digits typed one at a time
    for match in _RUN_RE.finditer(light):
        tokens = _TOKEN_RE.findall(match.group(0))
        said = [t for t in tokens if not t.isdigit()]
        if not said and not (
            len(tokens) >= SINGLE_DIGIT_RUN and all(len(t) == 1 for t in tokens)
        ):
            continue  # digits alone: the ordinary number scanner has judged them
        digits = _digits(tokens)
        if digits is None or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            continue
        start, end = match.span()
        brand = card_brand(digits)
        if brand is not None:
            yield "card", f"card_{brand}", start, end, 1.0
            continue
        if len(set(digits)) < MIN_DISTINCT or phones.counting(digits):
            continue  # "oh oh oh oh oh oh oh oh", "no, one two three four ...": not a number
        strength = _phone_strength(light, start, digits, match.group("plus") is not None, words)
        if strength > 0.0:
            yield "phone", "phone", start, end, strength


def _digits(tokens: list[str]) -> str | None:
    out: list[str] = []
    repeat = 1
    for token in tokens:
        if token in _REPEAT:
            repeat = _REPEAT[token]
            continue
        value = _WORD_DIGITS.get(token, token)
        if repeat > 1 and len(value) > 1:
            return None  # "double 45" is not how anyone reads a number
        out.append(value * repeat)
        repeat = 1
    return "".join(out)


def _phone_strength(light: str, start: int, digits: str, plus: bool, words: NumberWords) -> float:
    context = words.context(light, start)
    if context is not None and context not in ("phone", SOFT_PHONE):
        return 0.0
    evidence = PhoneEvidence.NONE
    if plus or digits.startswith("00"):
        number = "+" + (digits[2:] if digits.startswith("00") and not plus else digits)
        if 8 <= len(number) - 1 <= 15:
            evidence = phones.international(number)
    if evidence is PhoneEvidence.NONE and digits[0] == "0" and 9 <= len(digits) <= 12:
        evidence = PhoneEvidence.SHAPE  # a national number from its trunk 0, said aloud
    return phones.strength(evidence, context == "phone" and len(digits) <= 12)
