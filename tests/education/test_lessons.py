"""Every lesson and guide validates: schema, band, topic, quiz, licence, reading level."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.education.lessons import (
    BANDS,
    PICTURES,
    TOPICS,
    LessonError,
    check_reading_level,
    default_library,
    lesson_files,
    load_lesson,
    parse_lesson,
)
from kidshield.education.readability import BAND_LIMITS, grade, measure, syllables

FILES = lesson_files()


def test_every_band_has_every_topic_in_english_and_both_guides_exist() -> None:
    lib = default_library()
    for band in BANDS:
        assert [lesson.topic for lesson in lib.band(band)] == list(TOPICS)
        assert {lesson.lang for lesson in lib.band(band)} == {"en"}
    assert {g.topic for g in lib.guides()} == {"parents", "educators"}


def test_under_9_lessons_are_illustrated_stories() -> None:
    for lesson in default_library().band("under-9"):
        scenes = lesson.header.scene
        assert 3 <= len(scenes) <= 8, lesson.path
        for scene in scenes:
            assert (PICTURES / f"{scene.picture}.svg").read_text().startswith("<svg")


def test_a_story_scene_must_name_a_shipped_picture(tmp_path: Path) -> None:
    src = default_library().get("under-9", "privacy")
    assert src is not None
    text = src.path.read_text(encoding="utf-8").replace('picture = "tablet"',
                                                       'picture = "no-such-picture"', 1)
    with pytest.raises(LessonError, match="no-such-picture"):
        parse_lesson(text, tmp_path / "privacy.md")


def _label(p: Path) -> str:
    return "/".join(p.parts[-3:]).removesuffix(".md")


@pytest.mark.parametrize("path", FILES, ids=_label)
def test_lesson_file_validates_and_reads_at_its_band_level(path: Path) -> None:
    lesson = load_lesson(path)  # schema, band matches folder, topic matches file name
    assert path.read_text(encoding="utf-8").splitlines()[1] == (
        "# Apache-2.0, written by kidshield contributors")
    if lesson.lang == "en":
        score = grade(lesson.reading_text())  # the test computes the score itself
        assert score <= BAND_LIMITS[lesson.band], check_reading_level(lesson)
    if lesson.band != "guide":
        assert len(lesson.header.quiz) >= 2
        # every lesson says where to get help (translations: see test_translations.py)
        if lesson.lang == "en":
            assert any(w in lesson.body.lower() for w in ("tell", "helpline", "adult", "grown-up"))


def test_reading_levels_rise_with_the_bands() -> None:
    lib = default_library()

    def mean(band: str) -> float:
        items = lib.band(band)
        return sum(i.reading_grade() for i in items) / len(items)

    assert mean("under-9") < mean("9-12") < mean("13-18") < mean("guide")


def test_syllable_heuristic_on_common_words() -> None:
    cases = {"cat": 1, "make": 1, "little": 2, "people": 2, "online": 2, "password": 2,
             "computer": 3, "information": 4, "helpline": 2, "liked": 1, "wanted": 2}
    assert {w: syllables(w) for w in cases} == cases


def test_flesch_kincaid_grade_separates_easy_from_hard_text() -> None:
    easy = "The cat sat on the mat. It was a good cat. We like the cat."
    hard = ("Notwithstanding considerable organisational heterogeneity, comprehensive "
            "safeguarding frameworks necessitate interdisciplinary collaboration, systematic "
            "documentation and proportionate escalation procedures.")
    assert grade(easy) < 2 < BAND_LIMITS["guide"] < grade(hard)
    assert measure(easy).sentences == 3


def test_broken_lesson_names_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "privacy.md"
    text = ('+++\nlicence = "Apache-2.0, written by kidshield contributors"\n'
            'topic = "privacy"\nband = "9-12"\ntitle = "T t"\nsummary = "S s"\n'
            '[[quiz]]\nquestion = "Why?"\nchoices = ["a", "b"]\nanswer = 5\nexplain = "x x"\n'
            '+++\nBody.\n')
    with pytest.raises(LessonError, match=r"privacy\.md.*answer 5"):
        parse_lesson(text, bad)
    with pytest.raises(LessonError, match="header"):
        parse_lesson("no header", bad)


def test_block_reasons_link_to_the_fitting_lesson() -> None:
    lib = default_library()
    chat = lib.lesson_for_block("9-12", "chat")
    assert chat is not None and chat.url == "/learn/9-12/strangers"
    teen = lib.lesson_for_block("16-17", None, "self_harm")
    assert teen is not None and teen.url == "/learn/13-18/getting-help"
    spent = lib.lesson_for_block("13-15", None, None, "budget")
    assert spent is not None and spent.url == "/learn/13-18/wellbeing"
    gambling = lib.lesson_for_block("9-12", "gambling")
    assert gambling is not None and gambling.topic == "scams"
    assert lib.lesson_for_block("adult", "chat") is None
