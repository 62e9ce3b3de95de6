"""Languages (Babel catalogs): children's pages complete in the six UN languages, the dashboard
in English and Arabic; plural forms; right-to-left layout."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from kidshield.web.i18n import (
    available,
    catalog_path,
    language_name,
    negotiate,
    parse_po,
    read_catalog,
    translator,
)

ROOT = Path(__file__).resolve().parents[2]


def _script() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import web_i18n
    finally:
        sys.path.pop(0)
    return web_i18n


UN_LANGUAGES = ("ar", "en", "es", "fr", "ru", "zh")
PLACEHOLDER = re.compile(r"\{[a-z]+\}")


@pytest.fixture(scope="module")
def found() -> dict[str, Any]:
    return dict(_script().extract())


def test_children_pages_ship_in_the_six_un_languages() -> None:
    assert available("child") == ("en", "ar", "es", "fr", "ru", "zh")
    assert set(available("parent")) == {"en", "ar"}  # the dashboard: where it is complete
    assert [language_name(x) for x in ("ar", "zh", "fr", "ru", "es")] == [
        "العربية", "中文", "Français", "Русский", "Español"]


@pytest.mark.parametrize("lang", UN_LANGUAGES)
def test_childrens_catalog_is_complete(lang: str, found: dict[str, Any]) -> None:
    """Every string a child can read (block page, child page, helplines, lessons, workshops)
    is translated, no entry is fuzzy, and each keeps the {placeholders} of its English."""
    web_i18n = _script()
    assert len(found["children"]) > 150
    assert web_i18n.missing(lang, "children", found) == []
    catalog = read_catalog(catalog_path(lang, "children"), lang)
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) == (catalog.num_plurals if isinstance(message.id, tuple) else 1)
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) <= set(PLACEHOLDER.findall(source)), (
                lang, message.id, form)
            if isinstance(message.id, str):  # a singular keeps every value it is given
                assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(source))


def test_templates_list_every_string_in_use(found: dict[str, Any]) -> None:
    """children.pot and kidshield.pot are what a new translation starts from."""
    assert _script().stale_templates(found) == []


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_dashboard_catalog_is_complete(lang: str, found: dict[str, Any]) -> None:
    assert len(found["kidshield"]) > 100
    assert _script().missing(lang, "kidshield", found) == []


def test_lesson_labels_are_in_the_catalog() -> None:
    from kidshield.education.labels import WORDS
    from kidshield.education.lessons import BAND_LABELS, TOPIC_LABELS

    assert {*BAND_LABELS.values(), *TOPIC_LABELS.values()} <= set(WORDS)


def test_plural_forms_follow_each_languages_rules() -> None:
    ar, ru, zh, fr = (translator(x) for x in ("ar", "ru", "zh", "fr"))
    one, many = "about {n} minute", "about {n} minutes"
    assert ar.ngettext(one, many, 1, n=1) == "حوالي دقيقة واحدة"
    assert ar.ngettext(one, many, 2, n=2) == "حوالي دقيقتين"
    assert ar.ngettext(one, many, 5, n=5) == "حوالي 5 دقائق"
    assert ar.ngettext(one, many, 15, n=15) == "حوالي 15 دقيقة"
    assert ru.ngettext(one, many, 21, n=21) == "около 21 минуты"
    assert ru.ngettext(one, many, 5, n=5) == "около 5 минут"
    assert zh.ngettext(one, many, 3, n=3) == "大约3分钟"
    assert fr.ngettext(one, many, 0, n=0) == "environ 0 minute"  # French: 0 is singular
    assert translator("en").ngettext(one, many, 2, n=2) == "about 2 minutes"


def test_po_parser_handles_continuations_escapes_and_fuzzy() -> None:
    text = '''msgid ""
msgstr "Language: fr\\n"

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
    assert negotiate("zh-CN,zh;q=0.9").lang == "zh"
    assert negotiate("fr-CA,fr;q=0.9,en;q=0.8").lang == "fr"
    assert not negotiate("ru").rtl
    # a dashboard page in French falls back to English: its catalog is not shipped
    assert negotiate("fr", audience="parent").lang == "en"


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


@pytest.mark.parametrize("lang", UN_LANGUAGES)
def test_block_page_child_page_and_lessons_in_each_language(client: httpx.Client,
                                                            lang: str) -> None:
    t = translator(lang)
    block = client.get("/", headers={"host": "casino.example", "accept-language": lang})
    assert f'<html lang="{lang}" dir="{t.dir}">' in block.text
    assert t("Blocked to keep you safe") in block.text
    assert t("Need to talk to someone?") in block.text  # the helplines
    me = client.get(f"/me?lang={lang}")
    assert t("My protection") in me.text and t("What is written down") in me.text
    lesson = client.get(f"/learn/9-12/privacy?lang={lang}")
    assert f'<html lang="{lang}" dir="{t.dir}">' in lesson.text
    assert t("Check my answers") in lesson.text and t("Who can help") in lesson.text
    report = client.get(f"/report?for=child&lang={lang}")
    assert f'<html lang="{lang}" dir="{t.dir}">' in report.text
    assert t("Tell us what happened") in report.text
    assert t("Someone is being mean, threatening or bullying") in report.text
    assert "Report something harmful" in client.get(f"/report?lang={lang}").text  # adults: EN
    workshop = client.get(f"/workshop/student-vpn?lang={lang}")
    assert t("Facilitator notes (open after the group has chosen)") in workshop.text
    if lang != "en":
        assert t("Check my answers") != "Check my answers"
