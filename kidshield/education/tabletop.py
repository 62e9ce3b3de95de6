"""Tabletop exercises: scenarios with branching steps and debrief notes, for a group to walk
through together (in the terminal with ``kidshield drill tabletop``, or on /workshop).

A scenario is a TOML file in ``data/tabletop/``: ``[[step]]`` tables, each with text and
``[[step.choice]]`` options that lead to another step (``next``) with a short ``note`` on what
that choice means; a step with ``end = true`` closes the scenario, and ``[debrief]`` holds the
points to discuss afterwards. Loading checks that every ``next`` exists, that every step can be
reached and that an ending can be reached from every step.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kidshield.errors import KidshieldError

DATA_DIR = Path(__file__).parent / "data" / "tabletop"
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


def _reachable(steps: dict[str, Step], todo: list[str]) -> set[str]:
    seen: set[str] = set()
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo += [c.next for c in steps[sid].choice]
    return seen


def load_scenario(path: Path) -> Scenario:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from None
    if scenario.id != path.stem:
        raise ScenarioError(f"{path}: id {scenario.id!r} does not match the file name")
    return scenario


@cache
def scenarios(data_dir: Path = DATA_DIR) -> dict[str, Scenario]:
    return {p.stem: load_scenario(p) for p in sorted(data_dir.glob("*.toml"))}


def scenario(name: str) -> Scenario:
    found = scenarios().get(name)
    if found is None:
        raise ScenarioError(f"no scenario named {name!r} (there are: "
                            f"{', '.join(scenarios())})")
    return found


@dataclass(frozen=True, slots=True)
class Walkthrough:
    path: list[tuple[str, str | None]]  # (step id, chosen label or None at the end)
    ending: Step | None  # None when the input ran out first


def run(sc: Scenario, read: Callable[[], str | None], write: Callable[[str], None]) -> Walkthrough:
    """Walk ``sc`` from its start: ``read`` returns the next line of input (None at the end
    of input), ``write`` shows text. Unknown answers are asked again."""
    write(f"== {sc.title} ==\n{sc.summary}\n")
    step = sc.get(sc.start)
    path: list[tuple[str, str | None]] = []
    for _ in range(MAX_STEPS):
        write(reflow(step.text) + "\n")
        if step.end:
            path.append((step.id, None))
            write(_debrief(sc))
            return Walkthrough(path, step)
        for i, c in enumerate(step.choice, start=1):
            write(f"  {i}. {c.label}")
        chosen = None
        while chosen is None:
            line = read()
            if line is None:
                write("\n(no more input: stopping here)")
                return Walkthrough(path, None)
            text = line.strip()
            if text.isdigit() and 1 <= int(text) <= len(step.choice):
                chosen = step.choice[int(text) - 1]
            else:
                write(f"Please answer with a number from 1 to {len(step.choice)}.")
        path.append((step.id, chosen.label))
        if chosen.note:
            write(f"\n> {chosen.note.strip()}\n")
        step = sc.get(chosen.next)
    raise ScenarioError(f"{sc.id}: more than {MAX_STEPS} steps; is there a loop?")


def reflow(text: str) -> str:
    """Paragraphs joined into single lines (the files wrap them for editing)."""
    return "\n\n".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


def _debrief(sc: Scenario) -> str:
    lines = ["", "== Debrief =="]
    lines += [f"- {p}" for p in sc.debrief.points]
    if sc.debrief.questions:
        lines += ["", "To discuss:"] + [f"- {q}" for q in sc.debrief.questions]
    return "\n".join(lines) + "\n"
