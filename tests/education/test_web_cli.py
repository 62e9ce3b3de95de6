"""The learn / drill tabletop / assess commands (the web pages: test_web.py, test_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app as cli_app

FIXTURE = Path(__file__).parent / "fixtures_answers.toml"


runner = CliRunner()


def test_learn_command_lists_and_reads_lessons_with_a_scripted_quiz() -> None:
    listing = runner.invoke(cli_app, ["learn"])
    assert listing.exit_code == 0 and "getting-help" in listing.output
    assert listing.output.count("13-18") >= 4 and "educators" in listing.output
    lesson = runner.invoke(cli_app, ["learn", "under-9", "privacy", "--quiz"],
                           input="2\n2\n2\n")
    assert lesson.exit_code == 0, lesson.output
    assert "Some things are just for you" in lesson.output and "3 of 3 right" in lesson.output
    assert runner.invoke(cli_app, ["learn", "9-12", "nope"]).exit_code == 2


def test_learn_command_reads_lessons_in_the_childs_language() -> None:
    from kidshield.education.lessons import default_library

    spanish = default_library().translated("9-12", "privacy", "es")
    english = default_library().translated("9-12", "privacy", "en")
    assert spanish is not None and english is not None
    listing = runner.invoke(cli_app, ["learn", "9-12", "--lang", "es"],
                            env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    assert "Todas las lecciones" in listing.output and spanish.title in listing.output
    assert english.title not in listing.output
    answers = "".join(f"{q.answer + 1}\n" for q in spanish.header.quiz)
    lesson = runner.invoke(cli_app, ["learn", "9-12", "privacy", "--lang", "es", "--quiz"],
                           input=answers)
    assert lesson.exit_code == 0, lesson.output
    assert spanish.header.quiz[0].question in lesson.output
    n = len(spanish.header.quiz)
    assert f"{n} de {n}" in lesson.output and "¡Muy bien!" in lesson.output
    wrong = runner.invoke(cli_app, ["learn", "--lang", "de"])
    assert wrong.exit_code == 2 and "no language 'de'" in wrong.output


@pytest.mark.parametrize(("lang", "not_quite"), [
    ("en", "Not quite. The answer is: "), ("fr", "Pas tout à fait."), ("zh", "不太对。")])
def test_learn_quiz_tells_a_wrong_answer_it_is_wrong(lang: str, not_quite: str) -> None:
    # it once printed "✗ Correct. It is never too late to tell someone..."
    from kidshield.education.lessons import default_library

    lesson = default_library().translated("9-12", "strangers", lang)
    assert lesson is not None
    quiz = lesson.header.quiz
    wrong = "".join(f"{(q.answer + 1) % len(q.choices) + 1}\n" for q in quiz)
    result = runner.invoke(cli_app, ["learn", "9-12", "strangers", "--lang", lang, "--quiz"],
                           input=wrong, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    marked = [line for line in result.output.splitlines() if line.startswith(("✓", "✗"))]
    assert len(marked) == len(quiz) and all(line.startswith("✗") for line in marked)
    for q, line in zip(quiz, marked, strict=True):
        assert line.startswith(f"✗ {not_quite}"), line
        assert not line[2:].startswith(q.praise)
        assert q.choices[q.answer] in line and line.endswith(q.explain)
    right = "".join(f"{q.answer + 1}\n" for q in quiz)
    result = runner.invoke(cli_app, ["learn", "9-12", "strangers", "--lang", lang, "--quiz"],
                           input=right, env={"COLUMNS": "400"})
    marked = [line for line in result.output.splitlines() if line.startswith(("✓", "✗"))]
    assert marked == [f"✓ {q.said_right()}" for q in quiz]


def test_drill_tabletop_command_runs_a_scenario_from_stdin() -> None:
    result = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate"],
                           input="1\n1\n1\n")
    assert result.exit_code == 0, result.output
    assert "Alex felt supported" in result.output and "Debrief" in result.output
    stopped = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate"], input="1\n")
    assert stopped.exit_code == 1


def test_drill_command_prints_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kidshield.education import drill
    from tests.education.helpers import FakeUpstream, resolver_lookup

    with FakeUpstream() as fake:
        # the device's resolver is the plain fake one too (no lookups leave loopback)
        monkeypatch.setattr(drill, "system_lookup", resolver_lookup(fake.port))
        result = runner.invoke(cli_app, ["drill", "--server", "127.0.0.1", "--port",
                                         str(fake.port), "--json", "--timeout", "0.5",
                                         "--html", str(tmp_path / "card.html")])
    assert result.exit_code == 1  # a plain resolver fails the drill
    data = json.loads(result.output)
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["canary"]["status"] == "fail" and checks["canary"]["fix"]
    assert checks["this-device"]["status"] == "fail"
    assert data["summary"]["fail"] >= 1 and data["summary"]["score"] < 100
    assert data["summary"]["complete"] is False  # the egress checks were skipped
    assert "kidshield drill scorecard" in (tmp_path / "card.html").read_text(encoding="utf-8")


# "²" is a key of its own on a French keyboard; str.isdigit() took it for a number and int()
# then crashed the command with a traceback (found walking docs/learning.md, December 2026)
ODD_NUMBERS = ["²", "9" * 5000, "-1", " 99 "]


@pytest.mark.parametrize("typed", ODD_NUMBERS)
def test_learn_quiz_takes_any_typed_line_as_a_wrong_answer(typed: str) -> None:
    lesson = runner.invoke(cli_app, ["learn", "under-9", "privacy", "--quiz"],
                           input=f"{typed}\n2\n2\n")
    assert lesson.exit_code == 0, lesson.output
    assert lesson.exception is None
    assert "2 of 3 right" in lesson.output


@pytest.mark.parametrize("typed", ODD_NUMBERS)
def test_tabletop_asks_again_after_a_line_that_is_not_a_choice(typed: str) -> None:
    result = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate"],
                           input=f"{typed}\n1\n1\n1\n")
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    assert "Please answer with a number from 1 to" in result.output
    assert "Alex felt supported" in result.output


def test_tabletop_reads_arabic_indic_digits_as_numbers() -> None:
    result = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate", "--lang", "ar"],
                           input="\u0661\n\u0661\n\u0661\n")
    assert result.exit_code == 0, result.output


# found walking docs/learning.md as a school's IT admin (December 2026)
def test_interactive_assess_leaves_enter_unanswered_so_the_drill_can_confirm(
        tmp_path: Path) -> None:
    """Enter used to answer "no", so in `kidshield assess --drill` the drill could confirm
    nothing (learning.md: an unanswered item whose checks all passed counts as in place)."""
    from kidshield.education.assess import questionnaire

    schools = questionnaire().get("schools")
    checks = sorted({c for i in schools.item for c in i.evidence})
    drill = tmp_path / "drill.json"
    drill.write_text(json.dumps({"checks": [{"id": c, "status": "pass"} for c in checks]}))
    report = tmp_path / "report.md"
    result = runner.invoke(cli_app, ["assess", "--section", "schools", "--drill", str(drill),
                                     "--md", str(report)],
                           input="Hillside\n" + "\n" * len(schools.item))
    assert result.exit_code == 0, result.output
    text = report.read_text()
    in_place = text[text.index("### In place"):]
    confirmed = [i.id for i in schools.item if i.evidence]
    for cop in confirmed:
        assert f"**{cop}**" in in_place, cop
    assert "In place | Partly | Missing |\n|---|---|---|---|---|\n| Schools |" in text


def test_assess_names_a_misspelt_section_before_asking_anything() -> None:
    result = runner.invoke(cli_app, ["assess", "--section", "school"], input="Hillside\n")
    assert result.exit_code == 2, result.output
    assert "no section 'school'" in result.output and "schools" in result.output
    assert "Organisation" not in result.output


def test_assess_and_drill_refuse_an_html_file_in_a_missing_folder(tmp_path: Path) -> None:
    """Both ended in a FileNotFoundError traceback; the drill only after a minute's work."""
    target = tmp_path / "no" / "report.html"
    result = runner.invoke(cli_app, ["assess", "--answers", str(FIXTURE),
                                     "--html", str(target)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "does not exist" in result.output
    # port 9 on loopback: nothing answers, and the drill must not even start
    result = runner.invoke(cli_app, ["drill", "--server", "127.0.0.1", "--port", "9",
                                     "--html", str(target)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "does not exist" in result.output
