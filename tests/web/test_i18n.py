"""Languages: gettext-style catalogs, English complete plus Arabic, right-to-left layout."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from kidshield.web.i18n import negotiate, parse_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_string_is_translated_in_every_catalog() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from web_i18n import extract, missing
    finally:
        sys.path.pop(0)
    found = extract()
    assert len(found) > 200
    assert missing("ar", found) == []
    assert missing("en", found) == []


def test_po_parser_handles_continuations_escapes_and_fuzzy() -> None:
    text = '''msgid ""
msgstr "Language: x\\n"

msgid "Hello "
"world"
msgstr "Bonjour "
"le \\"monde\\""

#, fuzzy
msgid "Skip"
msgstr "Sauter"
'''
    assert parse_po(text) == {"Hello world": 'Bonjour le "monde"'}


def test_language_negotiation() -> None:
    assert negotiate("ar-EG,ar;q=0.9,en;q=0.5").lang == "ar"
    assert negotiate("de-DE,de;q=0.9").lang == "en"
    assert negotiate("ar", choice="en").lang == "en"
    assert negotiate("", choice="ar").rtl


def test_block_page_in_arabic_is_right_to_left(client: httpx.Client) -> None:
    r = client.get("/", headers={"host": "casino.example", "accept-language": "ar"})
    assert '<html lang="ar" dir="rtl">' in r.text
    assert "محجوب لحمايتك" in r.text
    assert "قمار" in r.text  # the category, translated
    assert "<bdi>casino.example</bdi>" in r.text  # names keep their own direction


def test_language_choice_is_remembered(parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _ = parent
    r = client.get("/profiles/mia?lang=ar")
    assert 'dir="rtl"' in r.text and "وقت النوم" in r.text
    assert 'dir="rtl"' in client.get("/requests").text
    client.get("/?lang=en")
    assert 'dir="ltr"' in client.get("/requests").text


def test_css_uses_logical_properties() -> None:
    css = (ROOT / "kidshield" / "web" / "static" / "kidshield.css").read_text()
    for physical in ("margin-left", "margin-right", "padding-left", "padding-right",
                     "text-align: left", "text-align: right", "border-left", "border-right"):
        assert physical not in css, physical
