"""Lessons and guides: Markdown files with a TOML header, loaded and checked.

A lesson file looks like this (``data/lessons/<lang>/<band>/<topic>.md``; ``<lang>`` is a
language code: en, ar, es, fr, ru, zh; English is the source the others are written from)::

    +++
    # Apache-2.0, written by kidshield contributors
    licence = "Apache-2.0, written by kidshield contributors"
    topic = "privacy"
    band = "under-9"
    title = "Some things are just for you"
    summary = "..."
    minutes = 5
    written_by = "kidshield contributors"
    [[scene]]             # under-9 lessons are illustrated stories: 3 to 8 scenes
    picture = "tablet"    # static/pictures/<picture>.svg
    alt = "..."           # what the picture shows, for screen readers
    text = "..."          # one or two short sentences, read aloud by "Read to me"
    [[quiz]]
    question = "..."
    choices = ["...", "..."]
    answer = 0            # index into choices
    praise = "Right."     # said only to a child who picked the answer (optional)
    explain = "..."       # why: read whichever choice was picked, so no "Right." here
    +++
    Markdown body ...

Guides (``data/guides/*.md``, English) have the same header with ``band = "guide"`` and no quiz
needed. A translation keeps its English source's quiz (same number of questions and choices,
same answers) and scenes (same pictures): ``check_translation`` says where it differs.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kidshield.education.readability import grade, limit_for
from kidshield.errors import KidshieldError

DATA_DIR = Path(__file__).parent / "data"
PICTURES = Path(__file__).parent / "static" / "pictures"
LICENCE = "Apache-2.0, written by kidshield contributors"

SOURCE_LANG = "en"
Band = Literal["under-9", "9-12", "13-18"]
BANDS: tuple[Band, ...] = ("under-9", "9-12", "13-18")
# English labels are msgids: pages translate them
BAND_LABELS = {"under-9": "Under 9", "9-12": "Ages 9 to 12", "13-18": "Ages 13 to 18",
               "guide": "Guides for adults"}
# The ITU COP (2020) risk families: content, contact, conduct, contract; plus wellbeing,
# getting help and children's own rights and voice.
TOPICS = ("privacy", "strangers", "kindness", "getting-help", "scams", "wellbeing",
          "misinformation", "private-pictures", "rights")
TOPIC_LABELS = {
    "privacy": "Privacy and personal information",
    "strangers": "Strangers and grooming",
    "kindness": "Bullying and kindness",
    "getting-help": "When something upsets you",
    "scams": "Scams and spending money in apps",
    "wellbeing": "Feeling good and screen time",
    "misinformation": "Is it true? Fake news and tricks",
    "private-pictures": "Nude pictures and private parts",
    "rights": "Your rights and being heard",
}
# block reasons (categories and service groups) -> the lesson that fits (see lesson_for_block)
RELATED: dict[str, str] = {
    "chat": "strangers", "random_chat": "strangers", "dating": "strangers",
    "messaging": "strangers", "ai_chat": "strangers",
    "social": "privacy", "tracking": "privacy",
    "gaming": "kindness", "hate": "kindness",
    "self_harm": "getting-help", "violence": "getting-help",
    "drugs": "getting-help", "weapons": "getting-help", "cults": "getting-help",
    "adult": "private-pictures",
    "gambling": "scams", "phishing": "scams", "malware": "scams", "shopping": "scams",
    "piracy": "scams",
    "budget": "wellbeing", "bedtime": "wellbeing", "schedule": "wellbeing",
}


class LessonError(KidshieldError):
    """A lesson or guide file is broken: the message names the file and the problem."""


# Chinese full stops and the like end a sentence without a space after them
FULL_WIDTH_PUNCTUATION = "\u3002\uff01\uff1f\uff1a\uff1b\uff0c"


def join_sentences(*parts: str) -> str:
    """Sentences one after another as the language writes them: a space after a Latin,
    Arabic or Cyrillic stop, none after a full-width one."""
    out = ""
    for part in parts:
        if part:
            out += part if not out or out[-1] in FULL_WIDTH_PUNCTUATION else " " + part
    return out


class QuizQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str = Field(min_length=3)
    choices: list[str] = Field(min_length=2, max_length=5)
    answer: int = Field(ge=0)
    # apart from the explanation: a child who picked another choice read "Correct." above
    # why their answer was wrong
    praise: str = Field("", max_length=20)
    explain: str = Field(min_length=3)

    def said_right(self) -> str:
        """What a child who picked the answer reads."""
        return join_sentences(self.praise, self.explain)

    def said_wrong(self, not_quite: str) -> str:
        """What a child who picked another choice reads: ``not_quite`` (the page's words for
        "not quite", naming the answer) and the explanation."""
        return join_sentences(not_quite, self.explain)

    @model_validator(mode="after")
    def _answer_in_range(self) -> QuizQuestion:
        if self.answer >= len(self.choices):
            raise ValueError(f"answer {self.answer} is not one of the {len(self.choices)} "
                             "choices (count from 0)")
        return self


class Scene(BaseModel):
    """One page of an illustrated story: a picture and a sentence or two to read aloud."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    picture: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    alt: str = Field(min_length=3, max_length=160)
    text: str = Field(min_length=3, max_length=300)

    @model_validator(mode="after")
    def _picture_exists(self) -> Scene:
        if not (PICTURES / f"{self.picture}.svg").is_file():
            raise ValueError(f"picture {self.picture!r} is not in {PICTURES}")
        return self


class LessonHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    licence: Literal["Apache-2.0, written by kidshield contributors"]
    topic: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    band: Literal["under-9", "9-12", "13-18", "guide"]
    title: str = Field(min_length=2, max_length=80)
    summary: str = Field(min_length=3, max_length=240)
    minutes: int = Field(5, ge=1, le=30)
    written_by: str = Field("kidshield contributors", min_length=3, max_length=200)
    scene: list[Scene] = []
    quiz: list[QuizQuestion] = []

    @model_validator(mode="after")
    def _lessons_have_quiz(self) -> LessonHeader:
        if self.band != "guide":
            if self.topic not in TOPICS:
                raise ValueError(f"topic {self.topic!r} is not one of {', '.join(TOPICS)}")
            if len(self.quiz) < 2:
                raise ValueError("a lesson needs at least 2 quiz questions")
        if self.band == "under-9" and not 3 <= len(self.scene) <= 8:
            raise ValueError("an under-9 lesson is an illustrated story: give it 3 to 8 "
                             "[[scene]] entries")
        return self


@dataclass(frozen=True, slots=True)
class Lesson:
    header: LessonHeader
    body: str  # Markdown
    path: Path
    lang: str = SOURCE_LANG

    @property
    def band(self) -> str:
        return self.header.band

    @property
    def topic(self) -> str:
        return self.header.topic

    @property
    def title(self) -> str:
        return self.header.title

    @property
    def url(self) -> str:
        if self.band == "guide":
            return f"/learn/guide/{self.topic}"
        return f"/learn/{self.band}/{self.topic}"

    def reading_text(self) -> str:
        """Everything a reader reads: title, summary, body, questions, choices, explanations."""
        parts = [self.title + ".", self.header.summary,
                 *[s.text for s in self.header.scene], self.body]
        for q in self.header.quiz:
            parts += [q.question, *[c.rstrip(".") + "." for c in q.choices], q.said_right()]
        return "\n\n".join(parts)

    def reading_grade(self) -> float:
        return grade(self.reading_text())


def parse_lesson(text: str, path: Path) -> Lesson:
    if not text.startswith("+++\n"):
        raise LessonError(f"{path}: a lesson starts with a '+++' TOML header")
    head, sep, body = text[4:].partition("\n+++\n")
    if not sep:
        raise LessonError(f"{path}: the '+++' header is not closed")
    try:
        data = tomllib.loads(head)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{path}: the header is not valid TOML: {exc}") from None
    try:
        header = LessonHeader.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'header'}: {e['msg']}" for e in exc.errors()
        )
        raise LessonError(f"{path}: {problems}") from None
    if not body.strip():
        raise LessonError(f"{path}: the lesson has no text after the header")
    return Lesson(header, body.strip() + "\n", path)


def load_lesson(path: Path) -> Lesson:
    """A lesson (``lessons/<lang>/<band>/<topic>.md``) or a guide (``guides/<topic>.md``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LessonError(f"{path}: cannot be read: {exc}") from None
    lesson = parse_lesson(text, path)
    if path.parent.name != "guides":
        lang = path.parent.parent.name
        if not re.fullmatch(r"[a-z]{2,3}", lang):
            raise LessonError(f"{path}: the folder above the band must be a language code "
                              f"(en, fr, ...), not {lang!r}")
        lesson = Lesson(lesson.header, lesson.body, lesson.path, lang)
    folder = path.parent.name
    expected_band = "guide" if folder == "guides" else folder
    if lesson.band != expected_band:
        raise LessonError(f"{path}: band {lesson.band!r} does not match its folder {folder!r}")
    if lesson.topic != path.stem:
        raise LessonError(f"{path}: topic {lesson.topic!r} does not match the file name")
    return lesson


def check_reading_level(lesson: Lesson) -> str | None:
    """A problem message when the lesson reads above its band's level, else None."""
    score = lesson.reading_grade()
    limit = limit_for(lesson.band)
    if score > limit:
        return (f"{lesson.path}: reading grade {score:.1f} is above {limit:.1f} for "
                f"{lesson.band}: use shorter sentences and simpler words")
    return None


def lesson_files(data_dir: Path = DATA_DIR) -> list[Path]:
    files = sorted((data_dir / "lessons").glob("*/*/*.md"))
    return files + sorted((data_dir / "guides").glob("*.md"))


def check_translation(source: Lesson, translation: Lesson) -> list[str]:
    """Where a translation does not keep its English source's quiz and story: the quiz must
    ask as many questions, with as many choices and the same right answers, and the story
    must show the same pictures in the same order."""
    where = f"{translation.path}"
    problems: list[str] = []
    sq, tq = source.header.quiz, translation.header.quiz
    if len(sq) != len(tq):
        problems.append(f"{where}: {len(tq)} quiz questions, the English has {len(sq)}")
    for n, (a, b) in enumerate(zip(sq, tq, strict=False), start=1):
        if len(a.choices) != len(b.choices) or a.answer != b.answer:
            problems.append(f"{where}: quiz question {n} must have {len(a.choices)} choices "
                            f"with answer {a.answer}, like the English")
    pictures = [s.picture for s in source.header.scene]
    if [s.picture for s in translation.header.scene] != pictures:
        problems.append(f"{where}: the story must show the pictures {pictures}, like the "
                        "English")
    if source.header.minutes != translation.header.minutes:
        problems.append(f"{where}: minutes must be {source.header.minutes}, like the English")
    return problems


class Library:
    """Every lesson and guide, by (language, band, topic); guides are English only."""

    def __init__(self, lessons: list[Lesson]) -> None:
        self.items = {(lesson.lang, lesson.band, lesson.topic): lesson for lesson in lessons}

    def languages(self) -> tuple[str, ...]:
        """The languages with at least one lesson, English first."""
        found = {lang for lang, _b, _t in self.items}
        return (SOURCE_LANG, *sorted(found - {SOURCE_LANG}))

    def get(self, band: str, topic: str, lang: str = SOURCE_LANG) -> Lesson | None:
        """The lesson in ``lang``, else in English."""
        return self.items.get((lang, band, topic)) or self.items.get((SOURCE_LANG, band, topic))

    def translated(self, band: str, topic: str, lang: str) -> Lesson | None:
        """The lesson in ``lang`` only (no English stand-in)."""
        return self.items.get((lang, band, topic))

    def band(self, band: str, lang: str = SOURCE_LANG) -> list[Lesson]:
        topics = {t for (_l, b, t) in self.items if b == band}
        order = {t: i for i, t in enumerate(TOPICS)}
        found = [self.get(band, t, lang) for t in topics]
        return sorted((x for x in found if x is not None),
                      key=lambda lesson: (order.get(lesson.topic, 99), lesson.topic))

    def guides(self) -> list[Lesson]:
        return self.band("guide")

    def lesson_for_block(self, band: str, *reasons: str | None,
                         lang: str = SOURCE_LANG) -> Lesson | None:
        """The lesson that fits a block: ``reasons`` are the block's reason, the blocked
        category and/or the service group (e.g. "chat" -> the lesson on strangers, "budget"
        -> the one on screen time). ``band`` is a lesson band or a profile age band ("13-15"
        and "16-17" read the 13-18 lessons)."""
        lesson_band = lesson_band_for(band)
        if lesson_band is None:
            return None
        for reason in reasons:
            topic = RELATED.get(reason or "")
            if topic:
                return self.get(lesson_band, topic, lang)
        return None


def lesson_band_for(age_band: str) -> str | None:
    if age_band in BANDS:
        return age_band
    return {"13-15": "13-18", "16-17": "13-18"}.get(age_band)


def load_library(data_dir: Path = DATA_DIR) -> Library:
    return Library([load_lesson(p) for p in lesson_files(data_dir)])


@cache
def default_library() -> Library:
    return load_library()
