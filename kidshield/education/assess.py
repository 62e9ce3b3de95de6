"""COP self-assessment: a questionnaire per stakeholder (families and schools, ISPs and network
operators, app makers and platforms), derived from the COP checklist, scored into a report of
what is in place, what is missing and which kidshield feature covers each gap.

Answers are "yes", "partly", "no" or "na" (not applicable). Score per section:
(yes + half of partly) / applicable items. Pure apart from reading the shipped questionnaire.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kidshield.errors import KidshieldError

DATA = Path(__file__).parent / "data" / "assessment.toml"
ANSWERS = ("yes", "partly", "no", "na")
Answer = Literal["yes", "partly", "no", "na"]
# documentation links are paths in the kidshield source tree (docs/...), shown as written
DOCS_BASE = ""


class AssessmentError(KidshieldError):
    """The questionnaire or an answers file is broken."""


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^COP-\d+$")
    question: str
    recommendation: str
    feature: str = ""
    link: str = ""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    intro: str = ""
    item: list[Item] = Field(min_length=1)


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    licence: str
    section: list[Section] = Field(min_length=1)

    def get(self, section_id: str) -> Section:
        for s in self.section:
            if s.id == section_id:
                return s
        raise AssessmentError(f"no section {section_id!r} (there are: "
                              f"{', '.join(s.id for s in self.section)})")


@cache
def questionnaire(path: Path = DATA) -> Questionnaire:
    try:
        with path.open("rb") as fh:
            return Questionnaire.model_validate(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise AssessmentError(f"{path}: {exc}") from None


Answers = dict[str, dict[str, str]]  # section id -> COP id -> answer


def parse_answers(data: dict[str, Any], source: str = "answers") -> Answers:
    """``{section: {COP-n: answer}}`` checked against the questionnaire."""
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
        raise AssessmentError(f"{source}: no answers (add a table like [families-schools])")
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
class ItemResult:
    item: Item
    answer: str  # one of ANSWERS, or "unanswered"

    @property
    def doc_url(self) -> str:
        return DOCS_BASE + self.item.link if self.item.link else ""


@dataclass(frozen=True, slots=True)
class SectionResult:
    section: Section
    items: list[ItemResult]

    def with_answer(self, *answers: str) -> list[ItemResult]:
        return [r for r in self.items if r.answer in answers]

    @property
    def in_place(self) -> list[ItemResult]:
        return self.with_answer("yes")

    @property
    def partly(self) -> list[ItemResult]:
        return self.with_answer("partly")

    @property
    def missing(self) -> list[ItemResult]:
        return self.with_answer("no", "unanswered")

    @property
    def score(self) -> int:
        applicable = [r for r in self.items if r.answer != "na"]
        if not applicable:
            return 100
        points = len(self.in_place) + 0.5 * len(self.partly)
        return round(100 * points / len(applicable))


@dataclass(frozen=True, slots=True)
class Report:
    organisation: str
    sections: list[SectionResult]

    @property
    def missing_ids(self) -> dict[str, list[str]]:
        return {s.section.id: [r.item.id for r in s.missing] for s in self.sections}


def assess(answers: Answers, organisation: str = "") -> Report:
    q = questionnaire()
    sections = []
    for s in q.section:
        if s.id not in answers:
            continue
        given = answers[s.id]
        sections.append(SectionResult(s, [ItemResult(i, given.get(i.id, "unanswered"))
                                          for i in s.item]))
    return Report(organisation, sections)


ANSWER_LABELS = {"yes": "in place", "partly": "partly", "no": "missing", "na": "not applicable",
          "unanswered": "not answered"}


def to_markdown(report: Report) -> str:
    title = "COP self-assessment" + (f": {report.organisation}" if report.organisation else "")
    lines = [f"# {title}", "",
             "Derived from the ITU Guidelines for Child Online Protection (COP checklist).", ""]
    lines += ["| Section | Score | In place | Partly | Missing |", "|---|---|---|---|---|"]
    for s in report.sections:
        lines.append(f"| {s.section.title} | {s.score}% | {len(s.in_place)} | "
                     f"{len(s.partly)} | {len(s.missing)} |")
    for s in report.sections:
        lines += ["", f"## {s.section.title}: {s.score}%", ""]
        for heading, rows in (("Missing", s.missing), ("Partly in place", s.partly)):
            if not rows:
                continue
            lines += [f"### {heading}", ""]
            for r in rows:
                lines.append(f"- **{r.item.id}** {r.item.question}")
                lines.append(f"  - Recommendation: {r.item.recommendation}")
                if r.item.feature:
                    link = f" (see [{r.item.link}]({r.doc_url}))" if r.doc_url else ""
                    lines.append(f"  - kidshield: {r.item.feature}{link}")
                else:
                    lines.append("  - kidshield: no software feature; an organisational step")
            lines.append("")
        if s.in_place:
            lines += ["### In place", ""]
            lines += [f"- **{r.item.id}** {r.item.question}" for r in s.in_place]
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
        _=lambda text, **values: text.format(**values) if values else text,
        inline_css=(STATIC / "learn.css").read_text(encoding="utf-8"))
