"""The COP self-assessment: the ITU (2020) five key areas, sections for families, schools,
ISPs, app makers and hotlines, every pointer resolving to a real documentation section or
command (pages: test_web.py, on the served app), drill results as evidence, gaps ordered by
risk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app as cli_app
from kidshield.education.assess import (
    RISKS,
    AssessmentError,
    assess,
    load_answers,
    parse_answers,
    parse_drill,
    pointer_kind,
    questionnaire,
    to_html,
    to_markdown,
)
from kidshield.education.drill import all_checks

FIXTURE = Path(__file__).parent / "fixtures_answers.toml"
REPO = Path(__file__).resolve().parents[2]
POINTERS = sorted({p for s in questionnaire().section for i in s.item for p in i.pointers})


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_questionnaire_has_the_five_itu_areas_and_the_stakeholder_sections() -> None:
    q = questionnaire()
    assert [a.id for a in q.area] == [1, 2, 3, 4, 5]
    assert "sexual abuse material" in q.area_title(2)
    assert [s.id for s in q.section] == ["families", "schools", "isps", "app-makers",
                                         "hotlines"]
    for s in q.section:  # every section covers more than one area, with its risks
        assert len({i.area for i in s.item}) >= 4, s.id
        for item in s.item:
            assert 1 <= int(item.cop.split("-")[1]) <= 30  # a COP checklist number
    ids = {s.id: {i.id for i in s.item} for s in q.section}
    # school essentials, ISP essentials, hotline practice and participation are asked
    assert {"COP-15-lead", "COP-10-review", "COP-24-incidents"} <= ids["schools"]
    assert {"COP-21-csam-list", "COP-15-law-enforcement", "COP-18-abuse-desk"} <= ids["isps"]
    assert {"COP-27", "COP-28", "COP-29", "COP-21"} <= ids["hotlines"]
    assert all(any(i.area == 5 for i in s.item) for s in q.section)
    assert any("over-blocking" in i.question.lower() for i in q.get("schools").item)


@pytest.mark.parametrize("pointer", [p for p in POINTERS if pointer_kind(p) == "doc"])
def test_documentation_pointer_names_a_real_file_and_section(pointer: str) -> None:
    path, _, anchor = pointer.partition("#")
    text = (REPO / path).read_text(encoding="utf-8")
    headings = [slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)]
    assert not anchor or anchor in headings, f"{pointer}: no such section in {path}"


@pytest.mark.parametrize("pointer", [p for p in POINTERS if pointer_kind(p) == "command"])
def test_command_pointer_names_a_real_command(pointer: str) -> None:
    args = pointer.split()[1:]
    result = CliRunner().invoke(cli_app, [*args, "--help"])
    assert result.exit_code == 0, f"{pointer}: {result.output}"


def test_evidence_names_real_drill_checks() -> None:
    checks = {c.id for c in all_checks()}
    for s in questionnaire().section:
        for item in s.item:
            assert set(item.evidence) <= checks, (s.id, item.id)


def test_report_lists_gaps_worst_risk_first() -> None:
    organisation, answers = load_answers(FIXTURE)
    report = assess(answers, organisation)
    section = report.sections[0]
    missing = section.missing
    assert [r.item.id for r in missing] == ["COP-10-review", "COP-10-firewall", "COP-7",
                                            "COP-14"]  # all high; then by ITU area
    assert [RISKS.index(r.item.risk) for r in missing] == sorted(
        RISKS.index(r.item.risk) for r in missing)
    # 7 yes + half of 1 partly, over 12 applicable (COP-5-voice is not applicable)
    assert section.score == round(100 * 7.5 / 12)
    md = to_markdown(report)
    assert "# COP self-assessment: Hillside Primary School" in md
    gaps = md.split("### Missing, worst risk first")[1].split("###")[0]
    assert gaps.index("COP-10-firewall") < gaps.index("COP-14")
    assert "(high risk, area 4)" in gaps and "`/workshop`" in gaps  # pointers for COP-14
    html = to_html(report)
    assert 'id="schools-COP-14"' in html and f"{section.score}%" in html
    assert "<style>" in html and "<header>" not in html  # a standalone file


def drill_json(**statuses: str) -> dict[str, object]:
    checks = [{"id": c.id, "status": statuses.get(c.id, "pass")} for c in all_checks()]
    return {"server": "x", "summary": {"profile": "kid"}, "checks": checks}


def test_drill_results_confirm_or_contradict_the_answers() -> None:
    answers = parse_answers({"schools": {"COP-10": "yes"}, "isps": {"COP-10": "yes"}})
    # the school says its filter holds, but the drill found DoH open: counted as missing
    failing = parse_drill(drill_json(**{"encrypted-dns": "fail"}), "drill.json")
    report = assess(answers, drill=failing)
    school = report.sections[0]
    assert "COP-10" in [r.item.id for r in school.missing]
    row = next(r for r in school.items if r.item.id == "COP-10")
    assert row.answer == "yes" and row.counted == "no"
    assert "encrypted-dns failed" in row.drill_note
    # an unanswered item whose checks all passed counts as in place, with the drill as proof
    passing = parse_drill(drill_json(), "drill.json")
    report = assess({"isps": {}}, drill=passing)
    isp = report.sections[0]
    row = next(r for r in isp.items if r.item.id == "COP-10")
    assert row.counted == "yes" and "confirmed by the drill" in row.drill_note
    # skipped egress checks prove nothing: the answer stands
    skipped = parse_drill(drill_json(**{"egress-53": "skip", "egress-853": "skip"}))
    row = next(r for r in assess({"schools": {"COP-10-firewall": "no"}},
                                 drill=skipped).sections[0].items
               if r.item.id == "COP-10-firewall")
    assert row.counted == "no" and "did not run every check" in row.drill_note
    assert "Drill evidence: drill.json, as profile kid" in to_markdown(
        assess(answers, drill=failing))
    with pytest.raises(AssessmentError, match="not a drill scorecard"):
        parse_drill({"checks": []})


def test_unanswered_items_count_as_missing_and_bad_answers_are_refused() -> None:
    report = assess(parse_answers({"isps": {"COP-2": "yes"}}))
    assert "COP-17" in report.missing_ids["isps"]
    assert report.missing_ids["isps"][0] in {"COP-21-csam-list", "COP-18-abuse-desk",
                                             "COP-21", "COP-10"}  # critical first
    with pytest.raises(AssessmentError, match="answer with"):
        parse_answers({"isps": {"COP-2": "maybe"}})
    with pytest.raises(AssessmentError, match="not a question"):
        parse_answers({"isps": {"COP-99": "yes"}})
    with pytest.raises(AssessmentError, match="no section 'families-schools'"):
        parse_answers({"families-schools": {"COP-9": "yes"}})


runner = CliRunner()


def test_assess_command_writes_markdown_and_html_with_drill_evidence(tmp_path: Path) -> None:
    md, html, drill = tmp_path / "r.md", tmp_path / "r.html", tmp_path / "drill.json"
    drill.write_text(json.dumps(drill_json(**{"vpn": "fail"})), encoding="utf-8")
    result = runner.invoke(cli_app, ["assess", "--answers", str(FIXTURE), "--md", str(md),
                                     "--html", str(html), "--drill", str(drill)])
    assert result.exit_code == 0, result.output
    assert "5 missing" in result.output  # COP-10 is contradicted by the failed VPN check
    text = md.read_text(encoding="utf-8")
    assert "**COP-14**" in text and "vpn failed" in text
    assert "<header>" not in html.read_text(encoding="utf-8")  # standalone page
    bad = runner.invoke(cli_app, ["assess", "--answers", str(FIXTURE), "--drill",
                                  str(FIXTURE)])
    # main() prints a KidshieldError as "error: ..." with exit code 2
    assert isinstance(bad.exception, AssessmentError) and "cannot be read" in str(bad.exception)


def test_assess_command_asks_each_question_when_no_file_is_given() -> None:
    count = len(questionnaire().get("isps").item)
    result = runner.invoke(cli_app, ["assess", "--section", "isps"],
                           input="ISP Ltd\n" + "yes\n" * count)
    assert result.exit_code == 0, result.output
    assert "100%" in result.output
