"""Lessons in other languages: every lesson is written in every language of the children's
pages; each keeps its English source's quiz (same questions, choices and right answers) and
story pictures, says who wrote it, and reads in short sentences for its age band (the grade
formula fits English only). A language added later shows a lesson it lacks in English."""

from __future__ import annotations

import re

import pytest

from kidshield.education.lessons import check_translation, default_library
from kidshield.education.linebreaks import join_lines
from kidshield.education.readability import SENTENCE_LIMITS, mean_sentence_length
from kidshield.web.i18n import available

LIB = default_library()
TRANSLATED = sorted((k for k in LIB.items if k[0] != "en"), key=str)


def test_lessons_are_written_in_the_shipped_languages_only() -> None:
    assert {lang for lang, _b, _t in LIB.items} <= set(available("child"))


@pytest.mark.parametrize("lang", available("child"))
def test_every_lesson_is_written_in_every_childrens_language(lang: str) -> None:
    """Nine topics for each of the three bands, in each of the six languages (guides for
    adults are English only)."""
    english = {(band, topic) for (source, band, topic) in LIB.items
               if source == "en" and band != "guide"}
    assert len(english) == 27
    written = {(band, topic) for (which, band, topic) in LIB.items if which == lang}
    assert sorted(english - written) == []


@pytest.mark.parametrize(("lang", "band", "topic"), TRANSLATED, ids="/".join)
def test_translation_keeps_the_quiz_and_story_and_reads_simply(lang: str, band: str,
                                                               topic: str) -> None:
    lesson = LIB.items[(lang, band, topic)]
    source = LIB.translated(band, topic, "en")
    assert source is not None
    assert check_translation(source, lesson) == []
    assert "translated" in lesson.header.written_by
    length = mean_sentence_length(lesson.reading_text(), lang)
    assert 2 < length <= SENTENCE_LIMITS[band], (lesson.path, length)


def test_english_lessons_meet_the_same_sentence_limits() -> None:
    for (lang, band, _topic), lesson in LIB.items.items():
        if lang == "en":
            assert mean_sentence_length(lesson.reading_text(), "en") <= SENTENCE_LIMITS[band]


def test_a_page_falls_back_to_english_for_a_missing_translation() -> None:
    assert LIB.translated("13-18", "scams", "xx") is None
    lesson = LIB.get("13-18", "scams", "xx")
    assert lesson is not None and lesson.lang == "en"


def test_wrapped_lines_join_without_a_space_between_chinese_characters() -> None:
    assert join_lines("很多应用想要你的时间。\n当心这些花招：") == \
        "很多应用想要你的时间。当心这些花招："
    assert join_lines("Take It\nDown") == "Take It Down"
    assert join_lines("求助热线\nTake It Down") == "求助热线 Take It Down"
    assert join_lines("안녕\n하세요") == "안녕 하세요"  # Korean keeps its spaces
    assert join_lines("«Hola»\n¿qué tal?") == "«Hola» ¿qué tal?"


def test_a_chinese_lesson_page_has_no_stray_spaces_between_sentences() -> None:
    from kidshield.education.web import _markdown

    lesson = LIB.items[("zh", "9-12", "wellbeing")]
    html = _markdown().render(lesson.body)
    assert "很多应用想要你尽可能多的时间。当心这些花招：" in html
    assert not re.search(r"[\u4e00-\u9fff。，：？！]\n[\u4e00-\u9fff]", html)
    english = _markdown().render(LIB.items[("en", "9-12", "wellbeing")].body)
    assert "as they can get.\nWatch out" in english  # other languages keep the line break
