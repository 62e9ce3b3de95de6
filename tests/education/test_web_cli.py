"""Learning web pages (lessons, quiz progress per profile, workshops, assessment form) and the
learn / drill tabletop / assess commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from kidshield.cli import app as cli_app
from kidshield.education.progress import ProgressStore
from tests.e2e.fixtures import Parent
from tests.e2e.harness import Served

FIXTURE = Path(__file__).parent / "fixtures_answers.toml"


def _progress(served: Served) -> ProgressStore:
    assert served.app.features is not None and served.app.features.education is not None
    store = served.app.features.education.progress
    assert store is not None
    return store


def _quiz_token(client: httpx.Client, url: str) -> dict[str, str]:
    """The CSRF header the lesson page gives its quiz script."""
    match = re.search(r'data-csrf="([0-9a-f]+)"', client.get(url).text)
    assert match, "the quiz carries no CSRF token"
    return {"X-CSRF-Token": match.group(1)}


def test_lesson_pages_for_each_band_render_markdown_quiz_and_local_helplines(
    client: httpx.Client,
) -> None:
    for band in ("under-9", "9-12", "13-18"):
        page = client.get(f"/learn/{band}/getting-help")
        assert page.status_code == 200
        assert "<h2>" in page.text and 'name="q0"' in page.text
        assert "Childline" in page.text  # the server's country is GB
        # style and script are our own files (the CSP allows no inline ones), no CDN
        assert "<style" not in page.text and "<script>" not in page.text
        assert 'href="/learn/assets/learn.css"' in page.text
        assert 'src="/learn/assets/learn.js"' in page.text
    css = client.get("/learn/assets/learn.css")
    assert css.status_code == 200 and "https://" not in css.text
    assert client.get("/learn/assets/learn.js").status_code == 200
    assert client.get("/learn/guide/parents").status_code == 200
    assert client.get("/learn/9-12/nope").status_code == 404
    index = client.get("/learn")
    assert index.status_code == 200 and "/learn/13-18/strangers" in index.text


def test_quiz_progress_is_stored_for_the_devices_own_profile_only(
    served: Served, client: httpx.Client,
) -> None:
    store = _progress(served)
    token = _quiz_token(client, "/learn/9-12/privacy")
    r = client.post("/learn/9-12/privacy/progress", json={"score": 3, "total": 4},
                    headers=token)
    assert r.json() == {"saved": True}
    client.post("/learn/9-12/privacy/progress", json={"score": 2, "total": 4}, headers=token)
    # the device is Mia's tablet (127.0.0.1 in the configuration)
    [p] = store.for_profile("mia")
    assert (p.band, p.topic, p.best_score, p.total, p.attempts) == ("9-12", "privacy", 3, 4, 2)
    assert "✓ done" in client.get("/learn").text
    assert client.post("/learn/9-12/privacy/progress", json={"score": 9, "total": 4},
                       headers=token).status_code == 400
    # the page cannot choose a profile: an extra field is ignored
    client.post("/learn/13-18/privacy/progress",
                json={"score": 1, "total": 4, "profile": "other"}, headers=token)
    assert store.for_profile("other") == []


def test_quiz_progress_needs_the_pages_csrf_token(served: Served, client: httpx.Client) -> None:
    store = _progress(served)
    body = {"score": 3, "total": 4}
    assert client.post("/learn/9-12/privacy/progress", json=body).status_code == 403
    with served.client() as other_site:  # another browser's token is no good here
        stolen = _quiz_token(other_site, "/learn/9-12/privacy")
    client.get("/learn")  # this browser has its own cookie
    assert client.post("/learn/9-12/privacy/progress", json=body,
                       headers=stolen).status_code == 403
    assert store.for_profile("mia") == []


def test_progress_overview_needs_a_parent(served: Served, client: httpx.Client,
                                          parent: Parent) -> None:
    anonymous = client.get("/learn/progress", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    moderator, _ = served.account("Morgan", "moderator")
    assert moderator.get("/learn/progress").status_code == 403
    client.post("/learn/under-9/kindness/progress", json={"score": 3, "total": 3},
                headers=_quiz_token(client, "/learn/under-9/kindness"))
    signed_in, _ = parent
    page = signed_in.get("/learn/progress")
    assert page.status_code == 200 and "under-9 / kindness" in page.text


def test_workshop_pages_show_every_step_and_the_debrief(client: httpx.Client) -> None:
    assert "student-vpn" in client.get("/workshop").text
    page = client.get("/workshop/grooming-message")
    assert page.status_code == 200
    assert 'id="step-start"' in page.text and 'href="#step-listen"' in page.text
    assert "Debrief" in page.text and "<script>" not in page.text
    assert client.get("/workshop/nope").status_code == 404


def test_assessment_form_produces_a_report_with_missing_items(client: httpx.Client) -> None:
    form_page = client.get("/assess")
    assert "COP-14" in form_page.text and 'style="' not in form_page.text
    form = {"organisation": "Hillside", "sections": "families-schools",
            "families-schools.COP-9": "yes", "families-schools.COP-14": "no"}
    page = client.post("/assess", data=form)
    assert page.status_code == 200
    assert 'id="families-schools-COP-14"' in page.text and "Hillside" in page.text
    md = client.post("/assess?format=md", data=form)
    assert md.headers["content-type"].startswith("text/markdown")
    assert "- **COP-14**" in md.text
    assert client.post("/assess", data={"x": "y"}).status_code == 400


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


def test_drill_tabletop_command_runs_a_scenario_from_stdin() -> None:
    result = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate"],
                           input="1\n1\n1\n")
    assert result.exit_code == 0, result.output
    assert "Alex felt supported" in result.output and "Debrief" in result.output
    stopped = runner.invoke(cli_app, ["drill", "tabletop", "bullied-classmate"], input="1\n")
    assert stopped.exit_code == 1


def test_assess_command_writes_markdown_and_html(tmp_path: Path) -> None:
    md, html = tmp_path / "r.md", tmp_path / "r.html"
    result = runner.invoke(cli_app, ["assess", "--answers", str(FIXTURE), "--md", str(md),
                                     "--html", str(html)])
    assert result.exit_code == 0, result.output
    assert "2 missing" in result.output
    assert "**COP-14**" in md.read_text(encoding="utf-8")
    assert "<header>" not in html.read_text(encoding="utf-8")  # standalone page


def test_assess_command_asks_each_question_when_no_file_is_given() -> None:
    result = runner.invoke(cli_app, ["assess", "--section", "isps"],
                           input="ISP Ltd\n" + "yes\n" * 8)
    assert result.exit_code == 0, result.output
    assert "100%" in result.output


def test_drill_command_prints_json(tmp_path: Path) -> None:
    from tests.education.helpers import FakeUpstream

    with FakeUpstream() as fake:
        result = runner.invoke(cli_app, ["drill", "--server", "127.0.0.1", "--port",
                                         str(fake.port), "--json", "--timeout", "0.5",
                                         "--html", str(tmp_path / "card.html")])
    assert result.exit_code == 1  # a plain resolver fails the drill
    data = json.loads(result.output)
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["canary"]["status"] == "fail" and checks["canary"]["fix"]
    assert data["summary"]["fail"] >= 1
    assert "kidshield drill scorecard" in (tmp_path / "card.html").read_text(encoding="utf-8")
