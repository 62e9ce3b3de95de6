"""The child page never claims a block that does not exist (issue 16 item 1): a category the
age band blocks but no list provides is not listed as blocked."""

from __future__ import annotations

from pathlib import Path

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def test_only_categories_a_list_provides_are_shown(serve_config: ServeConfig,
                                                   upstream: FakeUpstream,
                                                   tmp_path: Path) -> None:
    write_lists(tmp_path)
    text = config_text(upstream.port).replace('[server]\n', '[server]\nbuiltin_lists = false\n')
    served = serve_config(text, FixedClock(AFTERNOON))
    page = served.client().get("/me").text
    tags = page[page.index('<ul class="tags">'):]
    tags = tags[:tags.index("</ul>")]
    assert "gambling" in tags  # the household's own list
    assert "weapons" not in tags and "adult" not in tags  # blocked by age, but no list


def test_the_lists_page_shows_built_in_lists_and_warns_of_empty_categories(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/lists").text
    assert "No lists are configured" not in page
    assert 'id="l-builtin-adult"' in page and "built in" in page
    assert 'id="gaps"' not in page  # the shipped lists cover what the bands block
    text = config_text(upstream.port).replace('[server]\n', '[server]\nbuiltin_lists = false\n')
    served = serve_config(text, FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/lists").text
    assert "builtin-adult" not in page
    gaps = page[page.index('id="gaps"'):page.index("</div>", page.index('id="gaps"'))]
    assert "<strong>adult content</strong> (Mia" in gaps and "gambling" not in gaps


def test_the_child_page_never_promises_deletion_when_the_log_is_kept(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    """`retention_days = 0` keeps the query log (the retention job deletes nothing), yet the
    child page told the child "The list is deleted automatically after 0 days." (found
    walking docs/storage.md as a school's IT admin, December 2026)."""
    write_lists(tmp_path)
    text = config_text(upstream.port).replace("retention_days = 7", "retention_days = 0")
    served = serve_config(text, FixedClock(AFTERNOON))
    assert served.app.writer.run_retention() == 0  # what 0 does: nothing is deleted
    for lang in ("en", "fr", "ar"):
        page = served.client().get(f"/me?lang={lang}").text
        assert "0 days" not in page and "0 jours" not in page and "بعد 0" not in page, lang
    page = served.client().get("/me?lang=en").text
    assert "The list is kept: it is not deleted automatically." in page
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    assert "deleted automatically after 7 days" in served.client().get("/me").text


def test_the_retention_sentence_has_the_languages_plural_forms(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    """With `retention_days = 1` the child page said "deleted automatically after 1 days"
    (found walking the educator docs, session 15): the sentence is an ngettext now."""
    write_lists(tmp_path)
    expected = {
        1: {"en": "after 1 day.", "fr": "après 1 jour.", "es": "después de 1 día.",
            "ru": "через 1 день.", "ar": "بعد يوم واحد.", "zh": "清单1天后"},
        2: {"en": "after 2 days.", "ru": "через 2 дня.", "ar": "بعد يومين."},
        5: {"ru": "через 5 дней.", "ar": "بعد 5 أيام.", "fr": "après 5 jours."},
    }
    for days, by_lang in expected.items():
        text = config_text(upstream.port).replace("retention_days = 7", f"retention_days = {days}")
        served = serve_config(text, FixedClock(AFTERNOON))
        for lang, words in by_lang.items():
            page = served.client().get(f"/me?lang={lang}").text
            assert words in page, (days, lang)


def test_every_blocked_group_on_the_child_page_is_in_the_childs_language(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    """The "reported" group (sites a moderator blocked after a report) was listed in English
    on the French, Arabic... child page: the word was missing from the children's catalog
    (found walking the pages in every language, December 2026)."""
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    for lang, word in (("fr", "signalé"), ("es", "denunciado"), ("ru", "по жалобам"),
                       ("ar", "مُبلَّغ عنه"), ("zh", "被举报")):
        page = served.client().get(f"/me?lang={lang}").text
        tags = page[page.index('<ul class="tags">'):]
        tags = tags[:tags.index("</ul>")]
        assert "<li>reported</li>" not in tags, lang
        assert f"<li>{word}</li>" in tags, (lang, tags)


def test_the_dashboards_retention_setting_says_what_0_does(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    """The settings form took 0 (min 0) without saying that 0 keeps the log for ever
    (found walking the educator docs, session 15)."""
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/settings").text
    field = page[page.index('<input id="retention_days"'):]
    assert 'aria-describedby="retention-hint"' in field[:field.index(">")]
    hint = page[page.index('id="retention-hint"'):]
    assert "0 keeps the log for ever: nothing is deleted." in hint[:hint.index("</p>")]
    assert "القيمة 0 تحتفظ بالسجل" in client.get("/settings?lang=ar").text
