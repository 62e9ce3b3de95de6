"""Numbers in a message that identify a person: phone numbers, payment cards, IBANs, national ids.

One pass finds each run of digits (with the separators, brackets, ``+`` and extension people
write around them); each run is then given to the first thing it provably is. Checked
identifiers (IBAN, card, national id) come first because their check digits make them certain;
then what a run is *not* (a date, a year range, a thousands-grouped amount, a version or an IP
address, a quantity, an order or ticket number); what is left is a phone if its shape, its
validity or a phone word next to it says so.

Messages with fewer than six digits, the great majority, cost ten ``str.count`` calls (and a
few substring tests for numbers read out in words, :mod:`.spoken`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kidshield.safety.text.pii import phones
from kidshield.safety.text.pii.checks import ID_SHAPES, card_brand, is_iban
from kidshield.safety.text.pii.phones import PhoneEvidence
from kidshield.safety.text.pii.spoken import spoken_numbers
from kidshield.safety.text.pii.words import SOFT_PHONE, NumberWords

MIN_DIGITS = 6  # no phone, card, IBAN or national id has fewer (a UK NI number has 6)
MIN_PHONE_DIGITS = 7
MAX_VALIDATED_RUNS = 2  # per message; see _Budget
NAMED_ID = 0.8  # an id named right before it whose check digit fails

# A run: digits joined by up to three separator characters, maybe a leading + and a trailing
# extension. Possessive, so a run followed by a letter or ":" is dropped whole, not shortened
# ("14:30", "12am", "2x").
_RUN_RE = re.compile(
    r"(?<![a-z0-9_@#$£€¥₹.,:/\\-])"
    r"(?P<num>(?:\+ ?)?\(?\d(?:\d|[ .\-/()]{1,3}+(?=\(?\d))*+\)?)"
    r"(?P<ext> ?(?:ext\.?|extn\.?|extension|x|\#) ?\d{1,6})?+"
    r"(?![a-z0-9_%:°]|[.,]\d)"
)
# a token of figures with letters typed for some of them ("9oo", "o1l8"): a digit and three
# characters at least, so "lol", "oo" and "1o" stay words
_LOOKALIKE_TOKEN_RE = re.compile(r"(?<![a-z0-9])(?=[ol]*\d)(?=[0-9]*[ol])[0-9ol]{3,}(?![a-z0-9])")
_LOOKALIKES = str.maketrans("ol", "01")
# emoji, their joiners and variation selectors, and line breaks: spacers between a number's groups
_SPACERS_RE = re.compile("[\n\u200d\ufe0f\u20e3\u2190-\u2bff\U0001f000-\U0001faff]")
_MIN_TYPED_DIGITS = 3  # with letters for the rest, the fewest digits a disguised number shows
_GROUP_RE = re.compile(r"\d+")
_SEPARATORS_RE = re.compile(r"[^\d]+")
_IBAN_RE = re.compile(r"(?<![a-z0-9])[a-z]{2}\d{2}(?:[ -]?[a-z0-9]){11,32}+")
_IBAN_MIN = 15  # Norway's 15 characters are the shortest
_CARD_SEPARATORS = frozenset(" -")
# the gap an emoji (or its joiners) left between a number's groups: read as one space
_WIDE_GAP_RE = re.compile(r" {2,}")


@dataclass(frozen=True, slots=True)
class NumberFind:
    """One identifying number, with offsets into the text it was found in."""

    kind: str  # the cue it belongs to: phone, card, iban, national_id
    label: str  # the span label: phone, card_visa, iban, national_id_ssn, ...
    start: int
    end: int
    strength: float  # multiplier for the cue's weight


def typed_figures(light: str) -> str:
    """``light`` with a number's disguises undone, character for character (so offsets hold):
    a letter o or l typed for 0 or 1 inside a token of figures ("07700 9oo 214", "O77OO"),
    emoji between its groups ("077 💜 00 💜 900") and the line breaks of a number sent one
    chat bubble at a time ("+44 7700\n900 871") become what they stand for."""
    figures = _LOOKALIKE_TOKEN_RE.sub(lambda m: m.group(0).translate(_LOOKALIKES), light)
    if not figures.isascii() or "\n" in figures:
        figures = _SPACERS_RE.sub(" ", figures)
    return light if figures == light else figures


def digit_count(text: str) -> int:
    return sum(text.count(digit) for digit in "0123456789")  # ten C-level scans: cheapest


def find_numbers(light: str, words: NumberWords) -> list[NumberFind]:
    """Every phone, card, IBAN and national id in the light view of a message, in figures or
    read out in words."""
    found: list[NumberFind] = []
    count = digit_count(light)
    if count >= _MIN_TYPED_DIGITS:
        figures = typed_figures(light)
        if figures is not light:
            count = digit_count(figures)
        if count >= MIN_DIGITS:
            found.extend(_ibans(figures))
            found.extend(_national_ids(figures, words, found))
            found.extend(_runs(figures, words, found))
    for kind, label, start, end, strength in spoken_numbers(light, words, count):
        if not _overlaps(start, end, found):
            found.append(NumberFind(kind, label, start, end, strength))
    return found


def _overlaps(start: int, end: int, found: list[NumberFind]) -> bool:
    return any(start < f.end and f.start < end for f in found)


def _ibans(light: str) -> list[NumberFind]:
    out: list[NumberFind] = []
    for match in _IBAN_RE.finditer(light):
        chunk = match.group(0)
        # the run may have swallowed a word after it ("nl91abna0417164300 please" -> "...plea"):
        # try it shorter, one character at a time, down to the shortest IBAN
        positions = [i for i, c in enumerate(chunk) if c.isalnum()]
        compact = "".join(chunk[i] for i in positions)
        for length in range(len(compact), _IBAN_MIN - 1, -1):
            if is_iban(compact[:length]):
                end = match.start() + positions[length - 1] + 1
                out.append(NumberFind("iban", "iban", match.start(), end, 1.0))
                break
    return out


def _national_ids(light: str, words: NumberWords, taken: list[NumberFind]) -> list[NumberFind]:
    out: list[NumberFind] = []
    for shape in ID_SHAPES:
        for match in shape.shape.finditer(light):
            start, end = match.span()
            if _overlaps(start, end, taken) or _overlaps(start, end, out):
                continue
            if shape.needs_context and words.context(light, start) != shape.name:
                continue
            if shape.valid(match.group(0)):
                strength = 1.0
            elif words.context(light, start) == shape.name:
                strength = NAMED_ID  # "my aadhaar is ..." with a typo in it is still one
            else:
                continue
            out.append(NumberFind("national_id", f"national_id_{shape.name}", start, end, strength))
    return out


def _runs(light: str, words: NumberWords, taken: list[NumberFind]) -> list[NumberFind]:
    out: list[NumberFind] = []
    budget = _Budget()
    for match in _RUN_RE.finditer(light):
        start, end = match.span()
        if _overlaps(start, end, taken):
            continue
        run = match.group("num")
        if "  " in run:
            run = _WIDE_GAP_RE.sub(" ", run)  # "077   00   900" was "077 💜 00 💜 900"
        digits = "".join(_GROUP_RE.findall(run))
        if len(digits) < MIN_PHONE_DIGITS:
            continue
        brand = card_brand(digits) if match.group("ext") is None else None
        if brand is not None and set(_SEPARATORS_RE.findall(run)) <= _CARD_SEPARATORS:
            out.append(NumberFind("card", f"card_{brand}", start, end, 1.0))
            continue
        strength = _phone_strength(light, match, run, digits, words, budget)
        if strength > 0.0:
            out.append(NumberFind("phone", "phone", start, end, strength))
    return out


@dataclass(slots=True)
class _Budget:
    """How many unformatted runs one message may check against every region: each check
    parses the number once per region (~1 ms in all), so a message full of long numbers (a
    log, a table) must not cost a second."""

    left: int = MAX_VALIDATED_RUNS

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _phone_strength(
    light: str, match: re.Match[str], run: str, digits: str, words: NumberWords, budget: _Budget
) -> float:
    context = words.context(light, match.start())
    if context is not None and context not in ("phone", SOFT_PHONE):
        return 0.0  # an order, ticket, version, ... or an id whose check failed
    said_phone = context == "phone"
    if run.startswith(("+", "00")):
        if not 8 <= len(digits) <= 15:
            return 0.0
        evidence = phones.international(run.replace(" ", "", 1) if run[:2] == "+ " else run)
    else:
        if not MIN_PHONE_DIGITS <= len(digits) <= 12:
            return 0.0
        if _a_date(run):
            return 0.0  # even after "no": "no dia 14/01/2027" is Portuguese for "on the day"
        if not said_phone and (_not_a_phone_shape(run) or words.quantity_after(light, match.end())):
            return 0.0
        if phones.shaped(run, digits):
            evidence = PhoneEvidence.SHAPE
        elif phones.local(run) and words.area_code_near(light, match.start(), match.end()):
            evidence = PhoneEvidence.SHAPE  # "555-0177, 646 area": the whole number, told in two
        elif phones.local(run) and context == SOFT_PHONE:
            evidence = PhoneEvidence.CONTEXT  # "I'm on 555-0148": only for a local number's shape
        elif phones.worth_validating(digits) and budget.take():
            valid = phones.valid_in_a_region(run, digits, words.regions)
            evidence = PhoneEvidence.VALID if valid else PhoneEvidence.NONE
        else:
            evidence = PhoneEvidence.NONE
    return phones.strength(evidence, said_phone)


def _plausible_date(day: str, month: str) -> bool:
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _a_date(run: str) -> bool:
    """2026-05-12, 12/05/2026, 14.01.2027: no phone number is written like a full date."""
    groups = _GROUP_RE.findall(run)
    if len(groups) != 3 or not all(s in ("-", ".", "/") for s in _SEPARATORS_RE.findall(run)):
        return False
    lengths = [len(g) for g in groups]
    if lengths[0] == 4:
        return _plausible_date(groups[2], groups[1])
    if lengths[2] != 4 or max(lengths[:2]) > 2:
        return False
    return _plausible_date(groups[0], groups[1]) or _plausible_date(groups[1], groups[0])


def _not_a_phone_shape(run: str) -> bool:
    """Dates, year ranges, amounts in thousands, versions and IP addresses, digit lists."""
    groups = _GROUP_RE.findall(run)
    seps = _SEPARATORS_RE.findall(run)
    lengths = [len(g) for g in groups]
    if len(groups) == 3 and all(s in ("-", ".", "/") for s in seps):
        if lengths[0] == 4 and _plausible_date(groups[2], groups[1]):
            return True  # 2026-05-12
        if lengths[2] in (2, 4) and lengths[0] <= 2 and lengths[1] <= 2:
            return True  # 12/05/2026, 5.1.26
    if (
        lengths[0] == 8
        and groups[0][:2] in ("19", "20")
        and _plausible_date(groups[0][6:], groups[0][4:6])
    ):
        return True  # 20261129-0042: a date-stamped reference
    if lengths == [4, 4] and all("1500" <= g <= "2099" for g in groups):
        return True  # 2019-2023, 1789-1799
    if (
        len(groups) >= 3
        and lengths[0] <= 3
        and groups[0][0] != "0"
        and all(n == 3 for n in lengths[1:])
        and len(set(seps)) == 1
    ):
        return True  # 1 234 567, 12.345.678
    if len(groups) >= 3 and set(seps) == {"."} and len(set(lengths)) > 1:
        return lengths != [3, 3, 4]  # 10.0.19045.3803, 192.168.1.1 (but 415.555.0132 is)
    return sum(1 for n in lengths if n == 1) > 1  # 3 4 5 6 7 8 9
