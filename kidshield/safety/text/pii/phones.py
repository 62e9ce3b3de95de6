"""Is a run of digits a phone number? Shape first (cheap), libphonenumber second.

Shapes that people use only for phones count on their own: a country code (``+44``, ``0044``),
an area code in brackets, the North American 3-3-4 grouping, a national number with its trunk
``0``. Made-up and fictional numbers (``555-0147``, ``07700 900123``) have those shapes but fail
libphonenumber's validity check, and chat and synthetic data are full of them, so validity is a
bonus, not a gate. A run of digits with none of those shapes is a phone only when
libphonenumber says it is valid in one of the configured regions (and, if it is grouped, grouped
the way that region writes it) or a phone word is next to it.
"""

from __future__ import annotations

import re
from enum import IntEnum
from functools import cache
from itertools import pairwise

import phonenumbers

_NANP_RE = re.compile(r"(?:1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]\d{4}")
_BRACKETED_RE = re.compile(r"\(\+?\d{1,5}\)|\(0\)")
_TRUNK_RE = re.compile(r"0[1-9]\d{1,4}(?:[ ./-]?\d{2,4}){1,4}")
_DIGITS_RE = re.compile(r"\d+")
_GROUPED_MOBILE_RE = re.compile(r"[6-9]\d{4} \d{5}")  # India: 98765 43210
# a North American local number without its area code: "555-0148", "555 0196"
_LOCAL_RE = re.compile(r"[2-9]\d{2}[ .\-]\d{4}")


class PhoneEvidence(IntEnum):
    NONE = 0
    CONTEXT = 1  # only a phone word next to it says so
    SHAPE = 2  # written the way phone numbers are written
    VALID = 3  # a valid number for its country (libphonenumber)


# how much each kind of evidence makes a number a phone (a multiplier of the cue's weight):
# a phone word alone is a little less sure than a phone's shape or validity
_STRENGTH = {
    PhoneEvidence.NONE: 0.0,
    PhoneEvidence.CONTEXT: 0.8,
    PhoneEvidence.SHAPE: 1.0,
    PhoneEvidence.VALID: 1.0,
}


def strength(evidence: PhoneEvidence, said_phone: bool) -> float:
    """How strongly a number is a phone, written in figures or read out in words: by its
    shape or validity, else by a phone word before it (``said_phone``)."""
    if evidence is PhoneEvidence.NONE and said_phone:
        evidence = PhoneEvidence.CONTEXT
    return _STRENGTH[evidence]


def _valid_in(number: str, region: str | None) -> bool | None:
    """True: valid there; False: possible but not valid; None: not a number there at all."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(parsed):
        return True
    return False if phonenumbers.is_possible_number(parsed) else None


def international(run: str) -> PhoneEvidence:
    """A number written with ``+`` or ``00`` and a country code."""
    number = "+" + run[2:] if run.startswith("00") else run
    found = _valid_in(number, None)
    if found is None:
        return PhoneEvidence.NONE
    return PhoneEvidence.VALID if found else PhoneEvidence.SHAPE


def shaped(run: str, digits: str) -> bool:
    """Written the way only phone numbers are written (no parsing needed)."""
    return (
        _NANP_RE.fullmatch(run) is not None
        or _BRACKETED_RE.search(run) is not None
        or (_TRUNK_RE.fullmatch(run) is not None and 9 <= len(digits) <= 12)
        or _GROUPED_MOBILE_RE.fullmatch(run) is not None
    )


def local(run: str) -> bool:
    """Seven digits grouped 3-4 the way a local number is told ("555-0148"): a phone only with
    its area code beside it or a word that says so, never on its shape alone."""
    return _LOCAL_RE.fullmatch(run) is not None


NINE_DIGITS = 9  # Spain's numbers, dialled at home with no trunk prefix: "644555201"


def worth_validating(digits: str) -> bool:
    # short unformatted numbers are valid somewhere for most digit strings, and 10 digits
    # from a 1 are Unix timestamps (no national number starts with its country's 1); nine
    # digits only where they are the whole national number (valid_in_a_region), and not a
    # made-up row of digits ("987654321", "600000000")
    if len(digits) == NINE_DIGITS:
        return digits[0] not in "01" and len(set(digits)) >= 4 and not counting(digits)
    return len(digits) >= 10 and digits[0] != "1"


def counting(digits: str) -> bool:
    """Digits counted up or down ("123456", "987654321", "7890123"): nobody's number."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps in ({1}, {9})


def valid_in_a_region(run: str, digits: str, regions: tuple[str, ...]) -> bool:
    """Valid in one of ``regions`` and, if grouped, grouped the way that region writes it.

    Nine digits count only where the region dials them as written: in France or the
    Netherlands "644555201" lacks the trunk 0 everyone there writes, so almost any nine
    digits would pass somewhere."""
    grouping = [len(g) for g in _DIGITS_RE.findall(run)]
    nine = len(digits) == NINE_DIGITS
    for region in regions:
        if nine and not _dialled_as_written(region):
            continue  # and no parse: most regions are skipped for nine digits
        if not _valid_in(digits, region):
            continue
        if len(grouping) == 1 and not nine:
            return True
        national = _grouping(digits, region)  # formatting costs: only when it is needed
        if nine and sum(national) != NINE_DIGITS:
            continue
        if len(grouping) == 1 or grouping == national:
            return True
    return False


@cache
def _dialled_as_written(region: str) -> bool:
    """A region with no trunk prefix: its national numbers are dialled as they are written."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and not metadata.national_prefix


def warm_up(regions: tuple[str, ...]) -> None:
    """Load libphonenumber's metadata for ``regions`` now, not inside the first message."""
    for region in regions:
        code = phonenumbers.country_code_for_region(region)
        for sibling in phonenumbers.region_codes_for_country_code(code):  # e.g. all of NANP
            phonenumbers.PhoneMetadata.metadata_for_region(sibling)
        _valid_in("2345678901", region)
        _grouping("2345678901", region)


def _grouping(digits: str, region: str) -> list[int]:
    """How the region writes this number nationally ("612 34 56 78" -> [3, 2, 2, 2]): digits
    grouped some other way are probably not a phone number from there."""
    national = phonenumbers.format_number(
        phonenumbers.parse(digits, region), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    return [len(g) for g in _DIGITS_RE.findall(national)]
