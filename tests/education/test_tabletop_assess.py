"""Tabletop scenarios run to the end from scripted input (the self-assessment: test_assess.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.education.tabletop import (
    Scenario,
    ScenarioError,
    load_scenario,
    run,
    scenario,
    scenarios,
)


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
    (tmp_path / "en").mkdir()
    bad = tmp_path / "en" / "loop.toml"
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
