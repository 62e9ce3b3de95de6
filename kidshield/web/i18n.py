"""Languages, with Babel: gettext catalogs (``.po``) with plural forms, language names and
text direction from the CLDR.

Two catalogs per language under ``web/locale/<lang>/LC_MESSAGES/``:

* ``children.po``: everything a child reads (block page, child page, helplines, lessons and
  workshop pages, the report form's child version). Shipped complete in the six UN
  languages: Arabic, Chinese, English, French, Russian and Spanish.
* ``kidshield.po``: the parents' dashboard. Complete in the languages that ship it.

English is the source language (the msgids). ``scripts/web_i18n.py`` extracts the msgids
with Babel and checks that every catalog is complete. A child page is offered in every
language with a children's catalog; a dashboard page only in those with both catalogs.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kidshield"  # the dashboard
CHILD_DOMAIN = "children"  # what children read
SOURCE = "en"
Audience = Literal["child", "parent"]


def catalog_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=path.stem)


def _compiled(catalog: Catalog) -> Translations:
    """A catalog as gettext translations (fuzzy and empty entries left out)."""
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=catalog.domain)


def parse_po(text: str, lang: str = SOURCE) -> dict[str, str]:
    """msgid -> msgstr for every translated singular entry (fuzzy and empty ones skipped)."""
    catalog = read_po(io.StringIO(text), locale=lang)
    return {str(m.id): str(m.string) for m in catalog
            if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


@dataclass(frozen=True)
class Translator:
    lang: str
    translations: NullTranslations = field(default_factory=NullTranslations)

    @property
    def rtl(self) -> bool:
        return is_rtl(self.lang)

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message) if message else message
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """The form for ``count`` under the language's plural rules (Arabic has six)."""
        text = self.translations.ngettext(singular, plural, count)
        return text.format(**values) if values else text

    __call__ = gettext


def is_rtl(lang: str) -> bool:
    try:
        return Locale.parse(lang).character_order == "right-to-left"
    except (ValueError, UnknownLocaleError):
        return False


@functools.cache
def language_name(lang: str) -> str:
    """The language's name in itself ("Français", "العربية", "中文")."""
    try:
        name = Locale.parse(lang).get_display_name(lang) or lang
    except (ValueError, UnknownLocaleError):
        return lang
    return name[:1].upper() + name[1:]


@functools.cache
def available(audience: Audience = "child") -> tuple[str, ...]:
    """The shipped languages for children's pages (a children's catalog) or for the
    dashboard (both catalogs), English first. Read once: catalogs do not change while
    running."""
    langs = []
    if LOCALE_DIR.is_dir():
        for folder in sorted(LOCALE_DIR.iterdir()):
            if folder.name == SOURCE or not catalog_path(folder.name, CHILD_DOMAIN).is_file():
                continue
            if audience == "parent" and not catalog_path(folder.name, DOMAIN).is_file():
                continue
            langs.append(folder.name)
    return (SOURCE, *langs)


@cache
def translator(lang: str) -> Translator:
    """The children's catalog first, then the dashboard's, then the English msgid."""
    if lang == SOURCE or lang not in available("child"):
        return Translator(SOURCE)
    found: Translations | None = None
    for domain in (CHILD_DOMAIN, DOMAIN):
        path = catalog_path(lang, domain)
        if not path.is_file():
            continue
        compiled = _compiled(read_catalog(path, lang))
        if found is None:
            found = compiled
        else:
            found.add_fallback(compiled)
    return Translator(lang, found or NullTranslations())


_TAG = re.compile(r"^[a-zA-Z]{2,3}")


def negotiate(accept_language: str, choice: str | None = None,
              audience: Audience = "child") -> Translator:
    """The explicit choice (``?lang=`` or cookie) when we have it, else the best match from
    the browser's Accept-Language header, else English."""
    langs = available(audience)
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
    return translator(SOURCE)
