"""COP self-assessment: a questionnaire per stakeholder (families, schools, ISPs and network
operators, app makers and platforms, hotlines), organised by the five key areas of the ITU
Guidelines for industry on Child Online Protection (2020), scored into a report of what is in
place, what is missing (worst risk first) and what in kidshield covers each gap.

Answers are "yes", "partly", "no" or "na" (not applicable). A drill scorecard (``kidshield
drill --json``) is evidence: an item whose drill checks failed counts as missing whatever the
answer says, and an unanswered item whose checks all passed counts as in place. Score per
section: (yes + half of partly) / applicable items. Pure apart from reading the shipped
questionnaire and the files named.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kidshield.errors import KidshieldError

DATA = Path(__file__).parent / "data" / "assessment.toml"
ANSWERS = ("yes", "partly", "no", "na")
Answer = Literal["yes", "partly", "no", "na"]
RISKS = ("critical", "high", "medium", "low")
Risk = Literal["critical", "high", "medium", "low"]
# documentation pointers are paths in the kidshield source tree (docs/...), shown as written
DOCS_BASE = ""


class AssessmentError(KidshieldError):
    """The questionnaire, an answers file or a drill file is broken."""


class Area(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int = Field(ge=1, le=5)
    title: str


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^COP-\d+(-[a-z-]+)?$")
    area: int = Field(ge=1, le=5)
    risk: Risk
    question: str
    recommendation: str
    feature: str = ""
    pointers: list[str] = []
    evidence: list[str] = []  # drill check ids

    @property
    def cop(self) -> str:
        """The COP checklist number (COP-10-review -> COP-10)."""
        return "-".join(self.id.split("-")[:2])


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    intro: str = ""
    item: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self) -> Section:
        ids = [i.id for i in self.item]
        if len(ids) != len(set(ids)):
            raise ValueError(f"section {self.id}: an item id is used twice")
        return self


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    licence: str
    area: list[Area] = Field(min_length=5, max_length=5)
    section: list[Section] = Field(min_length=1)

    def get(self, section_id: str) -> Section:
        for s in self.section:
            if s.id == section_id:
                return s
        raise AssessmentError(f"no section {section_id!r} (there are: "
                              f"{', '.join(s.id for s in self.section)})")

    def area_title(self, area: int) -> str:
        return next(a.title for a in self.area if a.id == area)


@cache
def questionnaire(path: Path = DATA) -> Questionnaire:
    try:
        with path.open("rb") as fh:
            return Questionnaire.model_validate(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise AssessmentError(f"{path}: {exc}") from None


Answers = dict[str, dict[str, str]]  # section id -> item id -> answer


def parse_answers(data: dict[str, Any], source: str = "answers") -> Answers:
    """``{section: {item id: answer}}`` checked against the questionnaire."""
    q = questionnaire()
    out: Answers = {}
    for sid, items in data.items():
        if sid in ("organisation", "name"):
            continue
        section = q.get(sid)
        if not isinstance(items, dict):
            raise AssessmentError(f"{source}: [{sid}] must be a table of COP-n = answer")
        known = {i.id for i in section.item}
        for cop, value in items.items():
            if cop not in known:
                raise AssessmentError(f"{source}: {sid}.{cop} is not a question in this "
                                      f"section ({', '.join(sorted(known))})")
            if value not in ANSWERS:
                raise AssessmentError(f"{source}: {sid}.{cop} = {value!r}: answer with "
                                      f"{', '.join(ANSWERS)}")
        out[sid] = {str(k): str(v) for k, v in items.items()}
    if not out:
        raise AssessmentError(f"{source}: no answers (add a table like [schools])")
    return out


def load_answers(path: Path) -> tuple[str, Answers]:
    """An answers file: TOML (``organisation = "..."`` and one table per section) or JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise AssessmentError(f"{path}: cannot be read: {exc}") from None
    return str(data.get("organisation", "")), parse_answers(data, str(path))


@dataclass(frozen=True, slots=True)
class DrillEvidence:
    """A drill scorecard's results: check id -> status, and where it came from."""

    statuses: dict[str, str]
    source: str = "drill"
    profile: str | None = None


def parse_drill(data: dict[str, Any], source: str = "drill") -> DrillEvidence:
    """The JSON that ``kidshield drill --json`` prints."""
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list) or not checks:
        raise AssessmentError(f"{source}: not a drill scorecard (run 'kidshield drill --json "
                              "> drill.json')")
    statuses: dict[str, str] = {}
    for n, c in enumerate(checks):
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or c.get(
                "status") not in ("pass", "fail", "warn", "skip"):
            raise AssessmentError(f"{source}: check {n + 1} has no id or status")
        statuses[c["id"]] = c["status"]
    summary = data.get("summary", {})
    profile = summary.get("profile") if isinstance(summary, dict) else None
    return DrillEvidence(statuses, source, profile if isinstance(profile, str) else None)


def load_drill(path: Path) -> DrillEvidence:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssessmentError(f"{path}: cannot be read: {exc}") from None
    return parse_drill(data, str(path))


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: Item
    answer: str  # one of ANSWERS, or "unanswered": what the organisation said
    counted: str  # what is counted, after the drill evidence
    evidence: tuple[tuple[str, str], ...] = ()  # (drill check, status)

    @property
    def drill_note(self) -> str:
        if not self.evidence:
            return ""
        failed = [c for c, s in self.evidence if s == "fail"]
        if failed:
            return f"the drill found gaps: {', '.join(failed)} failed"
        if all(s == "pass" for _c, s in self.evidence):
            passed = ", ".join(c for c, _s in self.evidence)
            if self.answer in ("yes", "unanswered"):
                return f"confirmed by the drill ({passed} passed)"
            # the drill tests only part of an item: a school's own "missing" or "partly"
            # stands, and the report must not call such an item confirmed
            return (f"the drill's checks passed ({passed}); your answer "
                    f"({ANSWER_LABELS[self.answer]}) is kept: the drill tests only part of this")
        return "the drill did not run every check: " + ", ".join(
            f"{c} {s}" for c, s in self.evidence if s != "pass")


@dataclass(frozen=True, slots=True)
class SectionResult:
    section: Section
    items: list[ItemResult]

    def with_answer(self, *answers: str) -> list[ItemResult]:
        return [r for r in self.items if r.counted in answers]

    @property
    def in_place(self) -> list[ItemResult]:
        return self.with_answer("yes")

    @property
    def partly(self) -> list[ItemResult]:
        return _by_risk(self.with_answer("partly"))

    @property
    def missing(self) -> list[ItemResult]:
        """The gaps, worst risk first (then by ITU area)."""
        return _by_risk(self.with_answer("no", "unanswered"))

    @property
    def score(self) -> int:
        applicable = [r for r in self.items if r.counted != "na"]
        if not applicable:
            return 100
        points = len(self.in_place) + 0.5 * len(self.partly)
        return round(100 * points / len(applicable))

    def area_scores(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for area in sorted({r.item.area for r in self.items}):
            rows = [r for r in self.items if r.item.area == area and r.counted != "na"]
            if rows:
                got = sum(1.0 if r.counted == "yes" else 0.5 if r.counted == "partly" else 0
                          for r in rows)
                out[area] = round(100 * got / len(rows))
        return out


def _by_risk(rows: list[ItemResult]) -> list[ItemResult]:
    return sorted(rows, key=lambda r: (RISKS.index(r.item.risk), r.item.area))


@dataclass(frozen=True, slots=True)
class Report:
    organisation: str
    sections: list[SectionResult]
    drill: DrillEvidence | None = None
    areas: dict[int, str] = field(default_factory=dict)

    @property
    def missing_ids(self) -> dict[str, list[str]]:
        return {s.section.id: [r.item.id for r in s.missing] for s in self.sections}


def _counted(item: Item, answer: str, drill: DrillEvidence | None
             ) -> tuple[str, tuple[tuple[str, str], ...]]:
    if drill is None or not item.evidence:
        return answer, ()
    evidence = tuple((c, drill.statuses[c]) for c in item.evidence if c in drill.statuses)
    if not evidence or answer == "na":
        return answer, evidence
    if any(s == "fail" for _c, s in evidence):
        return "no", evidence  # the network says otherwise
    if answer == "unanswered" and all(s == "pass" for _c, s in evidence):
        return "yes", evidence
    return answer, evidence


def assess(answers: Answers, organisation: str = "",
           drill: DrillEvidence | None = None) -> Report:
    q = questionnaire()
    sections = []
    for s in q.section:
        if s.id not in answers:
            continue
        given = answers[s.id]
        rows = []
        for i in s.item:
            answer = given.get(i.id, "unanswered")
            counted, evidence = _counted(i, answer, drill)
            rows.append(ItemResult(i, answer, counted, evidence))
        sections.append(SectionResult(s, rows))
    return Report(organisation, sections, drill, {a.id: a.title for a in q.area})


ANSWER_LABELS = {"yes": "in place", "partly": "partly", "no": "missing", "na": "not applicable",
                 "unanswered": "not answered"}


def pointer_kind(pointer: str) -> Literal["doc", "page", "command"]:
    if pointer.startswith("kidshield "):
        return "command"
    if pointer.startswith("/"):
        return "page"
    return "doc"


def _pointer_md(pointer: str) -> str:
    kind = pointer_kind(pointer)
    if kind == "doc":
        return f"[{pointer}]({DOCS_BASE}{pointer})"
    return f"`{pointer}`"


def to_markdown(report: Report) -> str:
    title = "COP self-assessment" + (f": {report.organisation}" if report.organisation else "")
    lines = [f"# {title}", "",
             "Organised by the five key areas of the ITU Guidelines for industry on Child "
             "Online Protection (2020); items keep the kidshield COP checklist numbers.", ""]
    if report.drill is not None:
        tested = f", as profile {report.drill.profile}" if report.drill.profile else ""
        lines += [f"Drill evidence: {report.drill.source}{tested}.", ""]
    lines += ["| Section | Score | In place | Partly | Missing |", "|---|---|---|---|---|"]
    for s in report.sections:
        lines.append(f"| {s.section.title} | {s.score}% | {len(s.in_place)} | "
                     f"{len(s.partly)} | {len(s.missing)} |")
    for s in report.sections:
        lines += ["", f"## {s.section.title}: {s.score}%", ""]
        lines += [f"- Area {a} ({report.areas.get(a, '')}): {v}%"
                  for a, v in s.area_scores().items()]
        lines.append("")
        for heading, rows in (("Missing, worst risk first", s.missing),
                              ("Partly in place", s.partly)):
            if not rows:
                continue
            lines += [f"### {heading}", ""]
            for r in rows:
                lines.append(f"- **{r.item.id}** ({r.item.risk} risk, area {r.item.area}) "
                             f"{r.item.question}")
                lines.append(f"  - Recommendation: {r.item.recommendation}")
                if r.item.feature:
                    where = ", ".join(_pointer_md(p) for p in r.item.pointers)
                    lines.append(f"  - kidshield: {r.item.feature}"
                                 + (f" (see {where})" if where else ""))
                else:
                    lines.append("  - kidshield: no software feature; an organisational step")
                if r.drill_note:
                    lines.append(f"  - Drill: {r.drill_note}")
            lines.append("")
        if s.in_place:
            lines += ["### In place", ""]
            lines += [f"- **{r.item.id}** {r.item.question}"
                      + (f" ({r.drill_note})" if r.drill_note else "") for r in s.in_place]
        na = s.with_answer("na")
        if na:
            lines += ["", "### Not applicable", ""]
            lines += [f"- **{r.item.id}** {r.item.question}" for r in na]
    return "\n".join(lines).rstrip() + "\n"


def to_html(report: Report) -> str:
    """A standalone page (styles inline: it is a file, not served with our CSP)."""
    from kidshield.education.web import STATIC, templates

    return templates().get_template("assess_report.html").render(
        report=report, labels=ANSWER_LABELS, standalone=True, lang="en", dir="ltr",
        pointer_kind=pointer_kind,
        _=lambda text, **values: text.format(**values) if values else text,
        inline_css=(STATIC / "learn.css").read_text(encoding="utf-8"))
