"""Tabletop exercises: scenarios with branching steps and debrief notes, for a group to walk
through together (in the terminal with ``kidshield drill tabletop``, or on /workshop).

A scenario is a TOML file in ``data/tabletop/<lang>/``: ``[[step]]`` tables, each with text
and ``[[step.choice]]`` options that lead to another step (``next``) with a short ``note`` on
what that choice means; a step with ``end = true`` closes the scenario, and ``[debrief]`` holds
the points to discuss afterwards. Loading checks that every ``next`` exists, that every step can
be reached and that an ending can be reached from every step.

English (``en/``) is the source. A translation is a file with the same name under another
language folder; it keeps the English graph (the same steps in the same order, the same
choices leading to the same steps, the same endings and COP items: ``check_translation``).
Scenarios that children work through in class say ``for_children = true`` and ship in every
language of the children's pages; the others fall back to English.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kidshield.education.choices import choice_number
from kidshield.education.linebreaks import join_lines
from kidshield.errors import KidshieldError

DATA_DIR = Path(__file__).parent / "data" / "tabletop"
SOURCE_LANG = "en"
MAX_STEPS = 100


class ScenarioError(KidshieldError):
    """A scenario file is broken, or a scenario name is unknown."""


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str = Field(min_length=2)
    next: str
    note: str = ""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    text: str = Field(min_length=3)
    end: bool = False
    outcome: str = ""  # for endings: "good", "mixed" or "poor"
    choice: list[Choice] = []

    @model_validator(mode="after")
    def _end_or_choices(self) -> Step:
        if self.end and self.choice:
            raise ValueError(f"step {self.id!r} is an ending and has choices")
        if not self.end and len(self.choice) < 2:
            raise ValueError(f"step {self.id!r} needs at least 2 choices (or end = true)")
        return self


class Debrief(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    points: list[str] = Field(min_length=1)
    questions: list[str] = []
    cop: list[str] = []  # COP checklist ids the scenario exercises


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    licence: str
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    audience: str
    summary: str
    start: str
    # children work through it in class: it ships in every language of the children's pages
    for_children: bool = False
    written_by: str = Field("kidshield contributors", min_length=3, max_length=200)
    lang: str = Field(SOURCE_LANG, pattern=r"^[a-z]{2,3}$")  # set from the folder
    step: list[Step] = Field(min_length=2)
    debrief: Debrief

    @model_validator(mode="after")
    def _graph(self) -> Scenario:
        steps = {s.id: s for s in self.step}
        if len(steps) != len(self.step):
            raise ValueError("two steps share an id")
        if self.start not in steps:
            raise ValueError(f"start {self.start!r} is not a step")
        for s in self.step:
            for c in s.choice:
                if c.next not in steps:
                    raise ValueError(f"step {s.id!r}: choice leads to unknown step {c.next!r}")
        reached = _reachable(steps, [self.start])
        if missing := sorted(set(steps) - reached):
            raise ValueError(f"steps nobody can reach: {', '.join(missing)}")
        for s in self.step:
            if not any(steps[x].end for x in _reachable(steps, [s.id])):
                raise ValueError(f"step {s.id!r} can never reach an ending")
        return self

    def get(self, step_id: str) -> Step:
        return next(s for s in self.step if s.id == step_id)

    def reading_text(self) -> str:
        """Everything the group reads: title, summary, steps, choices, notes, debrief."""
        parts = [self.title + ".", self.summary]
        for step in self.step:
            parts.append(step.text)
            for c in step.choice:
                parts += [c.label.rstrip(".") + ".", c.note]
        parts += [*self.debrief.points, *self.debrief.questions]
        return "\n\n".join(p for p in parts if p)


def _reachable(steps: dict[str, Step], todo: list[str]) -> set[str]:
    seen: set[str] = set()
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo += [c.next for c in steps[sid].choice]
    return seen


def load_scenario(path: Path) -> Scenario:
    """A scenario file; its language is the name of its folder (``tabletop/<lang>/<id>.toml``)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc}") from None
    if "lang" in data:
        raise ScenarioError(f"{path}: 'lang' comes from the folder the file is in; remove it")
    lang = path.parent.name
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise ScenarioError(f"{path}: the folder must be a language code (en, fr, ...), "
                            f"not {lang!r}")
    try:
        scenario = Scenario.model_validate({**data, "lang": lang})
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from None
    if scenario.id != path.stem:
        raise ScenarioError(f"{path}: id {scenario.id!r} does not match the file name")
    return scenario


@cache
def all_scenarios(data_dir: Path = DATA_DIR) -> dict[tuple[str, str], Scenario]:
    """Every scenario file, by (language, id)."""
    found = {}
    for path in sorted(data_dir.glob("*/*.toml")):
        sc = load_scenario(path)
        found[(sc.lang, sc.id)] = sc
    return found


def scenarios(lang: str = SOURCE_LANG, data_dir: Path = DATA_DIR) -> dict[str, Scenario]:
    """Every scenario (in the English order), in ``lang`` where it is translated, else in
    English."""
    every = all_scenarios(data_dir)
    return {sid: every.get((lang, sid), sc) for (source, sid), sc in every.items()
            if source == SOURCE_LANG}


def scenario(name: str, lang: str = SOURCE_LANG) -> Scenario:
    found = scenarios(lang).get(name)
    if found is None:
        raise ScenarioError(f"no scenario named {name!r} (there are: "
                            f"{', '.join(scenarios())})")
    return found


def check_translation(source: Scenario, translation: Scenario) -> list[str]:
    """Where a translation does not keep its English source's graph: the same steps in the
    same order, each with as many choices leading to the same steps, the same endings and
    outcomes, the same COP items and as many debrief points and questions."""
    where = f"{translation.lang}/{translation.id}"
    problems: list[str] = []
    if translation.id != source.id or translation.start != source.start:
        problems.append(f"{where}: id and start must be {source.id!r} and {source.start!r}")
    if translation.for_children != source.for_children:
        problems.append(f"{where}: for_children must be {source.for_children}, like the English")
    ids = [s.id for s in source.step]
    if [s.id for s in translation.step] != ids:
        problems.append(f"{where}: the steps must be {ids}, in that order, like the English")
    for a, b in zip(source.step, translation.step, strict=False):
        if a.id != b.id:
            continue
        if (a.end, a.outcome) != (b.end, b.outcome):
            problems.append(f"{where}: step {a.id!r} must have end = {str(a.end).lower()} "
                            f"and outcome {a.outcome!r}")
        if [c.next for c in a.choice] != [c.next for c in b.choice]:
            problems.append(f"{where}: the choices of step {a.id!r} must lead to "
                            f"{[c.next for c in a.choice]}, in that order")
    sd, td = source.debrief, translation.debrief
    if td.cop != sd.cop:
        problems.append(f"{where}: the debrief must name the COP items {sd.cop}")
    if (len(td.points), len(td.questions)) != (len(sd.points), len(sd.questions)):
        problems.append(f"{where}: the debrief needs {len(sd.points)} points and "
                        f"{len(sd.questions)} questions, like the English")
    return problems


@dataclass(frozen=True, slots=True)
class Walkthrough:
    path: list[tuple[str, str | None]]  # (step id, chosen label or None at the end)
    ending: Step | None  # None when the input ran out first


def _english(message: str, **values: object) -> str:
    return message.format(**values) if values else message


def run(sc: Scenario, read: Callable[[], str | None], write: Callable[[str], None],
        t: Callable[..., str] = _english) -> Walkthrough:
    """Walk ``sc`` from its start: ``read`` returns the next line of input (None at the end
    of input), ``write`` shows text, ``t`` translates the words around the scenario (a
    ``kidshield.web.i18n.Translator``; English by default). Unknown answers are asked
    again."""
    write(f"== {sc.title} ==\n{sc.summary}\n")
    step = sc.get(sc.start)
    path: list[tuple[str, str | None]] = []
    for _ in range(MAX_STEPS):
        write(reflow(step.text) + "\n")
        if step.end:
            path.append((step.id, None))
            write(_debrief(sc, t))
            return Walkthrough(path, step)
        for i, c in enumerate(step.choice, start=1):
            write(f"  {i}. {c.label}")
        chosen = None
        while chosen is None:
            line = read()
            if line is None:
                write("\n" + t("(no more input: stopping here)"))
                return Walkthrough(path, None)
            number = choice_number(line, 1, len(step.choice))
            if number is not None:
                chosen = step.choice[number - 1]
            else:
                write(t("Please answer with a number from 1 to {n}.", n=len(step.choice)))
        path.append((step.id, chosen.label))
        if chosen.note:
            write(f"\n> {chosen.note.strip()}\n")
        step = sc.get(chosen.next)
    raise ScenarioError(f"{sc.id}: more than {MAX_STEPS} steps; is there a loop?")


def prompt(t: Callable[..., str] = _english) -> str:
    """What a terminal asks before each answer."""
    return t("Your choice:")


def paragraphs(text: str) -> list[str]:
    """A step's paragraphs, each on one line (the files wrap them for editing)."""
    return [join_lines(p) for p in text.strip().split("\n\n") if p.strip()]


def reflow(text: str) -> str:
    """Paragraphs joined into single lines, separated by a blank line."""
    return "\n\n".join(paragraphs(text))


def _debrief(sc: Scenario, t: Callable[..., str]) -> str:
    lines = ["", f"== {t('Debrief')} =="]
    lines += [f"- {p}" for p in sc.debrief.points]
    if sc.debrief.questions:
        lines += ["", t("To discuss") + ":"] + [f"- {q}" for q in sc.debrief.questions]
    return "\n".join(lines) + "\n"
