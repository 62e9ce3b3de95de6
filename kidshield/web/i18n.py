"""Languages: gettext-style ``.po`` catalogs under ``web/locale/<lang>/LC_MESSAGES/kidshield.po``.

English is the source language (the msgids). Catalogs are read directly (a small ``.po``
parser; no compile step); ``scripts/web_i18n.py`` extracts the msgids and checks that every
catalog is complete. Right-to-left languages get ``dir="rtl"``.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kidshield"
RTL = frozenset({"ar", "he", "fa", "ur"})
NAMES = {"en": "English", "ar": "العربية"}


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    if not isinstance(value, str):
        raise ValueError(f"not a string: {text!r}")
    return value


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr for every translated entry (fuzzy and empty ones are skipped)."""
    out: dict[str, str] = {}
    msgid: list[str] = []
    msgstr: list[str] = []
    target: list[str] | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal fuzzy
        key, value = "".join(msgid), "".join(msgstr)
        if key and value and not fuzzy:
            out[key] = value
        msgid.clear()
        msgstr.clear()
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if msgstr:  # the entry before this comment or blank line is complete
                flush()
                target = None
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith("msgid "):
            if msgstr:
                flush()
            target = msgid
            target.append(_unquote(line[6:]))
        elif line.startswith("msgstr "):
            target = msgstr
            target.append(_unquote(line[7:]))
        elif line.startswith('"') and target is not None:
            target.append(_unquote(line))
    flush()
    return out


@dataclass(frozen=True)
class Translator:
    lang: str
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def rtl(self) -> bool:
        return self.lang in RTL

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def gettext(self, message: str, **values: object) -> str:
        text = self.messages.get(message, message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        text = singular if count == 1 else plural
        return self.gettext(text, **values)

    __call__ = gettext


@functools.cache
def available() -> tuple[str, ...]:
    """The shipped languages (read once: the catalogs do not change while running)."""
    langs = ["en"]
    if LOCALE_DIR.is_dir():
        langs += sorted(p.name for p in LOCALE_DIR.iterdir()
                        if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file() and p.name != "en")
    return tuple(langs)


@cache
def translator(lang: str) -> Translator:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.is_file():
        return Translator("en" if not path.is_file() else lang)
    return Translator(lang, parse_po(path.read_text(encoding="utf-8")))


_TAG = re.compile(r"^[a-zA-Z]{2,3}")


def negotiate(accept_language: str, choice: str | None = None) -> Translator:
    """The explicit choice (``?lang=`` or cookie) when we have it, else the best match from
    the browser's Accept-Language header, else English."""
    langs = available()
    if choice and choice in langs:
        return translator(choice)
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        match = _TAG.match(tag.strip())
        if match:
            ranked.append((q, match.group(0).lower()))
    for _q, lang in sorted(ranked, key=lambda item: -item[0]):
        if lang in langs:
            return translator(lang)
    return translator("en")
