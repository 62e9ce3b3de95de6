"""Check digits: what makes a run of digits a payment card, an IBAN or a national id.

A format alone is a guess; a check digit that holds turns the guess into a recognition (one
random number in ten passes Luhn or Verhoeff, one in 97 passes mod-97, one in 23 passes a DNI
letter). The checks themselves come from python-stdnum; this module only knows which check
belongs to which shape, and the card brands' number ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import iban as _iban
from stdnum import luhn
from stdnum.br import cpf as _cpf
from stdnum.ca import sin as _sin
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.exceptions import ValidationError
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.it import codicefiscale as _codicefiscale
from stdnum.us import ssn as _ssn

# Issuer ranges (first digits -> brand, allowed lengths), most specific first. From the card
# networks' published IIN ranges; a number outside every range is not called a card.
_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    ("amex", ((34, 34), (37, 37)), frozenset({15})),
    ("diners", ((300, 305), (36, 36), (38, 39)), frozenset({14, 15, 16, 17, 18, 19})),
    ("discover", ((6011, 6011), (644, 649), (65, 65)), frozenset({16, 17, 18, 19})),
    ("jcb", ((3528, 3589),), frozenset({16, 17, 18, 19})),
    ("unionpay", ((62, 62),), frozenset({16, 17, 18, 19})),
    ("mastercard", ((51, 55), (2221, 2720)), frozenset({16})),
    ("maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759),
                 (676770, 676774)), frozenset(range(12, 20))),
    ("rupay", ((60, 60), (652, 652), (81, 82), (508, 508)), frozenset({16})),
    ("visa", ((4, 4),), frozenset({13, 16, 19})),
)  # fmt: skip


def card_brand(digits: str) -> str | None:
    """The brand of a card number that passes Luhn, or None if it is not one."""
    if not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return None
    for brand, ranges, lengths in _BRANDS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return brand
    return None


def is_iban(compact: str) -> bool:
    """Country code, mod-97 check digits and the country's length and BBAN format.

    Not the national checks inside some BBANs (a registry of bank codes, for instance): an
    IBAN with the right shape and check digits is an IBAN whether or not its bank exists."""
    try:
        _iban.validate(compact.upper(), check_country=False)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class IdShape:
    """One national id: its name, the shape it is written in, and its check."""

    name: str
    shape: re.Pattern[str]  # over the light view (lower case)
    needs_context: bool  # the shape alone is too common: only with the id's name nearby

    def valid(self, value: str) -> bool:
        return _VALIDATORS[self.name](_SEPARATORS_RE.sub("", value))


_SEPARATORS_RE = re.compile(r"[\s.\-]")
_NINO_BAD_PREFIXES = frozenset({"bg", "gb", "kn", "nk", "nt", "tn", "zz"})


def _nino(value: str) -> bool:
    """UK National Insurance number: HMRC's letter rules (no check digit exists)."""
    compact = value.lower()
    return (
        len(compact) == 9
        and compact[0] not in "dfiquv"
        and compact[1] not in "dfioquv"
        and compact[:2] not in _NINO_BAD_PREFIXES
        and compact[2:8].isdigit()
        and compact[8] in "abcd"
    )


_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "ssn": lambda v: bool(_ssn.is_valid(v)),
    "nino": _nino,
    "aadhaar": lambda v: bool(_aadhaar.is_valid(v)),
    "cpf": lambda v: bool(_cpf.is_valid(v)),
    "sin": lambda v: bool(_sin.is_valid(v)),
    "dni": lambda v: bool(_dni.is_valid(v.upper())),
    "nie": lambda v: bool(_nie.is_valid(v.upper())),
    "codice_fiscale": lambda v: bool(_codicefiscale.is_valid(v.upper())),
}

_B = r"(?<![a-z0-9@#._/-])"
_E = r"(?![a-z0-9@]|[.,/-]\d)"

# Order matters: a value is given to the first id whose shape and check both hold.
ID_SHAPES: tuple[IdShape, ...] = (
    IdShape("cpf", re.compile(_B + r"\d{3}\.\d{3}\.\d{3}-\d{2}" + _E), False),
    IdShape("ssn", re.compile(_B + r"\d{3}-\d{2}-\d{4}" + _E), False),
    IdShape("aadhaar", re.compile(_B + r"[2-9]\d{3} \d{4} \d{4}" + _E), False),
    IdShape("nino", re.compile(_B + r"[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]" + _E), False),
    IdShape(
        "codice_fiscale", re.compile(_B + r"[a-z]{6}\d{2}[a-z]\d{2}[a-z]\d{3}[a-z]" + _E), False
    ),
    IdShape("dni", re.compile(_B + r"\d{8}-?[a-z]" + _E), False),
    IdShape("nie", re.compile(_B + r"[xyz]-?\d{7}-?[a-z]" + _E), False),
    # bare digits: as common as any number, so only next to the id's name
    IdShape("ssn", re.compile(_B + r"(?:\d{3} \d{2} \d{4}|\d{9})" + _E), True),
    IdShape("aadhaar", re.compile(_B + r"(?:[2-9]\d{11}|[2-9]\d{3}-\d{4}-\d{4})" + _E), True),
    IdShape("cpf", re.compile(_B + r"\d{11}" + _E), True),
    IdShape("sin", re.compile(_B + r"\d{3}[ -]?\d{3}[ -]?\d{3}" + _E), True),
)
