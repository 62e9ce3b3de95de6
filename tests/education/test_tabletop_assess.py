"""Tabletop scenarios run to the end from scripted input; the COP self-assessment lists the
missing items for a fixture answer set."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.education.assess import (
    AssessmentError,
    assess,
    load_answers,
    parse_answers,
    questionnaire,
    to_html,
    to_markdown,
)
from kidshield.education.tabletop import (
    Scenario,
    ScenarioError,
    load_scenario,
    run,
    scenario,
    scenarios,
)

FIXTURE = Path(__file__).parent / "fixtures_answers.toml"
REPO = Path(__file__).resolve().parents[2]


def scripted(lines: list[str]) -> tuple[list[str], object]:
    shown: list[str] = []
    feed = iter(lines)
    return shown, lambda: next(feed, None)


def test_three_scenarios_ship_with_debriefs() -> None:
    assert set(scenarios()) == {"grooming-message", "bullied-classmate", "student-vpn"}
    for sc in scenarios().values():
        assert sc.debrief.points and all(c.startswith("COP-") for c in sc.debrief.cop)
        assert {s.outcome for s in sc.step if s.end} >= {"good"}


def test_grooming_scenario_runs_to_the_good_ending_from_scripted_input() -> None:
    shown: list[str] = []
    answers = iter(["1", "1", "1"])
    walk = run(scenario("grooming-message"), lambda: next(answers, None), shown.append)
    assert walk.ending is not None and walk.ending.id == "end-good"
    assert [sid for sid, _ in walk.path] == ["start", "listen", "evidence", "end-good"]
    text = "\n".join(shown)
    assert "== Debrief ==" in text and "Save evidence" in text


def test_wrong_answers_are_asked_again_and_other_branches_end_too() -> None:
    shown: list[str] = []
    answers = iter(["9", "two", "2", "2"])
    walk = run(scenario("student-vpn"), lambda: next(answers, None), shown.append)
    assert walk.ending is not None and walk.ending.outcome == "poor"
    assert sum("Please answer with a number" in s for s in shown) == 2


@pytest.mark.parametrize("name", ["grooming-message", "bullied-classmate", "student-vpn"])
def test_every_choice_sequence_ends(name: str) -> None:
    sc = scenario(name)
    # depth-first over every path (the loader already rejects dead ends; this walks them)
    todo: list[tuple[str, int]] = [(sc.start, 0)]
    endings = set()
    while todo:
        sid, depth = todo.pop()
        assert depth < 20
        step = sc.get(sid)
        if step.end:
            endings.add(sid)
        todo += [(c.next, depth + 1) for c in step.choice]
    assert len(endings) >= 2


def test_running_out_of_input_stops_cleanly() -> None:
    walk = run(scenario("bullied-classmate"), lambda: None, lambda _t: None)
    assert walk.ending is None and walk.path == []


def test_broken_scenario_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "loop.toml"
    bad.write_text(
        'licence = "x"\nid = "loop"\ntitle = "t"\naudience = "a"\nsummary = "s"\n'
        'start = "a"\n[[step]]\nid = "a"\ntext = "aaa"\n'
        '[[step.choice]]\nlabel = "go"\nnext = "b"\n[[step.choice]]\nlabel = "stay"\nnext = "a"\n'
        '[[step]]\nid = "b"\ntext = "bbb"\n'
        '[[step.choice]]\nlabel = "back"\nnext = "a"\n[[step.choice]]\nlabel = "again"\n'
        'next = "b"\n'
        '[debrief]\npoints = ["p"]\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="can never reach an ending"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no scenario named"):
        scenario("nope")
    assert Scenario  # the model is public for other front ends


def test_questionnaire_keeps_cop_ids_and_links_to_real_docs() -> None:
    q = questionnaire()
    assert [s.id for s in q.section] == ["families-schools", "isps", "app-makers"]
    checklist_ids = {f"COP-{n}" for n in range(1, 31)}
    for s in q.section:
        for item in s.item:
            assert item.id in checklist_ids
            if item.link:
                assert (REPO / item.link.split("#")[0]).exists(), item.link


def test_assessment_report_lists_the_missing_items_for_a_fixture_answer_set() -> None:
    organisation, answers = load_answers(FIXTURE)
    report = assess(answers, organisation)
    assert report.missing_ids == {"families-schools": ["COP-14", "COP-7"]}
    section = report.sections[0]
    assert [r.item.id for r in section.partly] == ["COP-10"]
    # 5 yes + half of 1 partly, over 8 applicable (COP-12 is not applicable)
    assert section.score == round(100 * 5.5 / 8)
    md = to_markdown(report)
    assert "# COP self-assessment: Hillside Primary School" in md
    missing = md.split("### Missing")[1].split("###")[0]
    assert "**COP-14**" in missing and "**COP-7**" in missing and "COP-9" not in missing
    assert "tabletop scenarios" in missing  # the kidshield feature that covers COP-14
    assert "docs/learning.md#tabletop" in missing
    html = to_html(report)
    assert 'id="families-schools-COP-14"' in html and "69%" in html


def test_unanswered_items_count_as_missing_and_bad_answers_are_refused() -> None:
    report = assess(parse_answers({"isps": {"COP-2": "yes"}}))
    assert "COP-17" in report.missing_ids["isps"]
    with pytest.raises(AssessmentError, match="answer with"):
        parse_answers({"isps": {"COP-2": "maybe"}})
    with pytest.raises(AssessmentError, match="not a question"):
        parse_answers({"isps": {"COP-99": "yes"}})


def test_vpn_scenario_teaches_that_closing_dns_ports_does_not_stop_a_hardcoded_vpn() -> None:
    """Regression: the scenario used to lead 'close ports 53 and 853' to the good ending."""
    vpn = scenario("student-vpn")
    steps = {s.id: s for s in vpn.step}
    port_choices = [c for s in vpn.step for c in s.choice if "53 and 853" in c.label]
    assert port_choices and all(c.next == "ports" for c in port_choices)
    assert "does not stop a tunnel" in " ".join(steps["ports"].text.split())
    debrief = " ".join(vpn.debrief.points)
    assert "closing ports 53 and 853 does not stop it" in debrief
    assert "firewall" in debrief and "managed devices" in debrief
    shown: list[str] = []
    answers = iter(["1", "1", "1", "1"])  # drill -> close ports -> layers -> talk with Riley
    walk = run(vpn, lambda: next(answers, None), shown.append)
    assert [sid for sid, _ in walk.path] == ["start", "drill", "ports", "layers", "end-good"]
