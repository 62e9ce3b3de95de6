"""The words around a number that say what it is, read from a language's personal_info.toml.

``[numbers]`` in that file lists the words that make a number a phone ("call me on"), the words
that make only a local number's shape one ("I'm on 555-0148"), the words that tell an area code
beside it ("646 area"), the words that make it something else ("order", "ticket", "version"),
the words after a number that make it a quantity ("views", "points"), the names of helplines
(whose number is nobody's personal information, whatever word sits between: "childline's
number is ..."), each national id's names ("ssn", "aadhaar") and the regions whose national
phone formats are tried. Words are data so a translation can carry its own.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kidshield.safety.text.lexicon import DATA_DIR, LexiconError
from kidshield.safety.text.pii.phones import warm_up

CONTEXT_WINDOW = 32  # characters before a number that may say what it is
AREA_CODE_REACH = 32  # characters either side of a local number where its area code may be
# the context of a number after a word that makes only a local number's shape a phone
SOFT_PHONE = "soft_phone"


@dataclass(frozen=True, slots=True)
class NumberWords:
    before: re.Pattern[str]  # groups: phone, soft_phone, other, or an id name (ssn, ...)
    after: re.Pattern[str]  # a quantity's unit right after the number
    area_code: re.Pattern[str]  # "area 415", "646 area", "area code (415)"
    regions: tuple[str, ...]  # phone regions to try for a number without a country code
    id_names: tuple[str, ...]

    def context(self, light: str, start: int) -> str | None:
        """What the nearest telling word before ``start`` says: "phone", "other", an id name,
        or None."""
        window = light[max(0, start - CONTEXT_WINDOW) : start]
        nearest: str | None = None
        for match in self.before.finditer(window):
            if match.lastgroup == "helpline":
                return "other"  # "childlines number is 0800 1111": the number is Childline's
            nearest = match.lastgroup
        return nearest

    def quantity_after(self, light: str, end: int) -> bool:
        return self.after.match(light, end) is not None

    def area_code_near(self, light: str, start: int, end: int) -> bool:
        """An area code told beside the number at ``start:end``, before it or after it."""
        return (
            self.area_code.search(light, max(0, start - AREA_CODE_REACH), start) is not None
            or self.area_code.search(light, end, end + AREA_CODE_REACH) is not None
        )


def _alternation(words: Any, where: str) -> str:
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise LexiconError(f"{where}: expected a list of words")
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\W+") for w in ordered)


def _words_regex(groups: dict[str, str]) -> re.Pattern[str]:
    body = "|".join(f"(?P<{name}>{alt})" for name, alt in groups.items())
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z])")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise LexiconError(f"{path}: lexicon file is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{path}: not valid TOML: {exc}") from None


@cache
def load_number_words(language: str) -> NumberWords:
    words = number_words_from(DATA_DIR / language / "personal_info.toml")
    warm_up(words.regions)
    return words


def number_words_from(path: Path) -> NumberWords:
    """Read and compile the ``[numbers]`` table of one personal_info.toml."""
    table = _read(path).get("numbers")
    where = f"{path}: [numbers]"
    if not isinstance(table, dict):
        raise LexiconError(f"{where}: missing")
    try:
        ids = table["id_names"]
        if not isinstance(ids, dict):
            raise LexiconError(f"{where} id_names: expected a table of id -> words")
        # "other" first: where an other word starts with a phone word ("call of duty"), the
        # longer one is what was meant
        groups = {
            "other": _alternation(table["other_words"], f"{where} other_words"),
            "phone": _alternation(table["phone_words"], f"{where} phone_words"),
            SOFT_PHONE: _alternation(table["soft_phone_words"], f"{where} soft_phone_words"),
            "helpline": _alternation(table["helpline_words"], f"{where} helpline_words"),
        }
        for name, words in ids.items():
            groups[str(name)] = _alternation(words, f"{where} id_names.{name}")
        units = _alternation(table["quantity_words"], f"{where} quantity_words")
        area = _alternation(table["area_code_words"], f"{where} area_code_words")
        regions = tuple(str(r).upper() for r in table["phone_regions"])
    except KeyError as exc:
        raise LexiconError(f"{where}: missing {exc.args[0]!r}") from None
    return NumberWords(
        before=_words_regex(groups),
        after=re.compile(rf"\W{{0,2}}(?:{units})(?![a-z])"),
        area_code=re.compile(
            rf"(?<![a-z0-9])(?:{area})\W{{0,3}}\(?[2-9]\d\d\)?(?!\d|[.,:/-]\d)"
            rf"|(?<!\d)(?<!\d[.,:/-])\(?[2-9]\d\d\)?\W{{0,3}}(?:{area})(?![a-z])"
        ),
        regions=regions,
        id_names=tuple(str(name) for name in ids),
    )
