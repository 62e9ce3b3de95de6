"""Workshop scenarios in other languages: the ones children work through in class ship in every
language of the children's pages, each keeping its English source's graph (steps, choices,
endings, COP items) in short sentences; the others fall back to English, marked as English.
On the served app (tests/e2e harness) and in the terminal (`kidshield drill tabletop --lang`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kidshield.cli import app as cli_app
from kidshield.education.readability import SENTENCE_LIMITS, mean_sentence_length
from kidshield.education.tabletop import (
    DATA_DIR,
    ScenarioError,
    all_scenarios,
    check_translation,
    load_scenario,
    paragraphs,
    run,
    scenario,
    scenarios,
)
from kidshield.web.i18n import available, translator
from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served

EVERY = all_scenarios()
FOR_CHILDREN = sorted(sid for (lang, sid), sc in EVERY.items()
                      if lang == "en" and sc.for_children)
TRANSLATED = sorted(k for k in EVERY if k[0] != "en")


def test_scenarios_children_read_ship_in_every_childrens_language() -> None:
    assert "bullied-classmate" in FOR_CHILDREN
    for sid in FOR_CHILDREN:
        for lang in available("child"):
            assert (lang, sid) in EVERY, f"{sid} has no {lang} translation"
    assert {lang for lang, _sid in EVERY} <= set(available("child"))


@pytest.mark.parametrize(("lang", "sid"), TRANSLATED, ids="/".join)
def test_translation_keeps_the_graph_says_who_wrote_it_and_reads_simply(lang: str,
                                                                        sid: str) -> None:
    source, translation = EVERY[("en", sid)], EVERY[(lang, sid)]
    assert check_translation(source, translation) == []
    assert "translated" in translation.written_by
    assert translation.title != source.title
    length = mean_sentence_length(translation.reading_text(), lang)
    assert 2 < length <= SENTENCE_LIMITS["9-12"], (lang, sid, length)


def test_english_scenarios_children_read_meet_the_same_limit() -> None:
    for sid in FOR_CHILDREN:
        assert mean_sentence_length(EVERY[("en", sid)].reading_text(), "en") <= \
            SENTENCE_LIMITS["9-12"]


def test_a_translation_that_changes_the_story_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "fr"
    folder.mkdir()
    text = (DATA_DIR / "fr" / "bullied-classmate.toml").read_text(encoding="utf-8")
    # the first two choices of the first step swapped where they lead
    broken = (text.replace('next = "support"', 'next = "@"', 1)
              .replace('next = "join"', 'next = "support"', 1).replace('"@"', '"join"', 1))
    (folder / "bullied-classmate.toml").write_text(broken, encoding="utf-8")
    problems = check_translation(EVERY[("en", "bullied-classmate")],
                                 load_scenario(folder / "bullied-classmate.toml"))
    assert problems == ["fr/bullied-classmate: the choices of step 'start' must lead to "
                        "['support', 'join', 'callout'], in that order"]


def test_scenario_files_take_their_language_from_the_folder(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    shutil.copy(DATA_DIR / "en" / "student-vpn.toml", tmp_path / "en" / "student-vpn.toml")
    (tmp_path / "french").mkdir()
    shutil.copy(DATA_DIR / "en" / "student-vpn.toml", tmp_path / "french" / "student-vpn.toml")
    with pytest.raises(ScenarioError, match="must be a language code"):
        load_scenario(tmp_path / "french" / "student-vpn.toml")
    assert load_scenario(tmp_path / "en" / "student-vpn.toml").lang == "en"


def test_missing_translations_fall_back_to_english() -> None:
    in_french = scenarios("fr")
    assert list(in_french) == list(scenarios("en"))  # same scenarios, same order
    assert in_french["bullied-classmate"].lang == "fr"
    assert in_french["grooming-message"].lang == "en"
    assert scenario("bullied-classmate", "xx").lang == "en"


def test_walkthrough_in_chinese_uses_the_chinese_words_around_the_scenario() -> None:
    shown: list[str] = []
    answers = iter(["9", "1", "1", "1"])
    walk = run(scenario("bullied-classmate", "zh"), lambda: next(answers, None), shown.append,
               translator("zh"))
    assert walk.ending is not None and walk.ending.id == "end-good"
    text = "\n".join(shown)
    assert "请用1到3之间的数字回答。" in text  # "answer with a number from 1 to 3"
    assert "阿力克斯感到被支持" in text and "== 复盘 ==" in text
    assert "大笑的表情。阿力克斯也在群里" in text  # a wrapped line, joined without a space


runner = CliRunner()


def test_tabletop_command_takes_a_language() -> None:
    result = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate", "--lang", "ru"],
                           input="1\n1\n1\n")
    assert result.exit_code == 0, result.output
    assert "Алекс почувствовал поддержку" in result.output and "Твой выбор:" in result.output
    listing = runner.invoke(cli_app, ["drill", "tabletop", "--lang", "es"])
    assert "Acoso a un compañero" in listing.output
    assert "A child receives a grooming message" in listing.output  # not translated yet
    wrong = runner.invoke(cli_app, ["drill", "tabletop", "--lang", "de"])
    assert wrong.exit_code != 0 and "no language 'de'" in wrong.output


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # on the household's fixed Wednesday afternoon, not the real clock: nothing here may
    # depend on the hour a run starts (quiz results are dated, Mia has a bedtime)
    with served_household(tmp_path_factory.mktemp("workshops")) as served:
        yield served


@pytest.mark.parametrize("lang", ["ar", "es", "fr", "ru", "zh"])
def test_served_workshop_is_in_the_pages_language(live: Served, lang: str) -> None:
    sc = scenario("bullied-classmate", lang)
    with httpx.Client(base_url=live.url) as client:
        page = client.get("/workshop/bullied-classmate", params={"lang": lang})
        index = client.get("/workshop", headers={"accept-language": lang})
    assert page.status_code == 200
    assert f'<div class="scenario" lang="{lang}">' in page.text
    assert f"<h1>{sc.title}</h1>" in page.text
    assert sc.debrief.points[0] in page.text
    assert "Your class group chat" not in page.text
    first = paragraphs(sc.get("start").text)[0]
    assert f"<p>{first}</p>" in page.text  # wrapped lines joined (no space in Chinese)
    assert sc.title in index.text


def test_served_workshop_not_yet_translated_is_marked_english(live: Served) -> None:
    with httpx.Client(base_url=live.url) as client:
        page = client.get("/workshop/grooming-message", params={"lang": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert '<div class="scenario" lang="en" dir="ltr">' in page.text
    assert "A child receives a grooming message" in page.text
    assert "<h2 lang=\"ar\">" in page.text  # the words around it are still Arabic
