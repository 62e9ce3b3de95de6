"""An analyst merges two cases about one thing (the hotline walk's leftover: a report about an
account and one about its profile page stayed two cases), on the application as ``kidshield
serve`` composes it: over the API, and by keyboard in Chromium with the case page's form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import PASSWORD, Served, chromium

_n = count(1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_household(tmp_path_factory.mktemp("merge")) as served:
        served.account("ana", "analyst")
        yield served


@pytest.fixture(scope="module")
def api(live: Served) -> httpx.Client:
    return live.client(headers=live.bearer_for("ana", ["reports"]))


def _case(live: Served, api: httpx.Client, case_type: str = "grooming",
          **body: object) -> int:
    """A new case of its own (a fresh account), its id."""
    account = body.pop("account", f"@stranger{next(_n)}")
    answer = live.client().post("/api/v1/reports", json={
        "case_type": case_type, "account": account, **body})
    assert answer.status_code == 201, answer.text
    cases = api.get("/api/v1/cases", params={"limit": 500}).json()["cases"]
    return max(int(c["id"]) for c in cases if c["account"] == str(account).lower())


def _merge(api: httpx.Client, source: int, into: int) -> httpx.Response:
    return api.post(f"/api/v1/cases/{source}/merge", json={"into": into})


def test_merging_moves_the_reports_keeps_the_higher_priority_and_closes_b(
        live: Served, api: httpx.Client) -> None:
    a = _case(live, api, account="@grabber")
    b = _case(live, api, url="https://social.example/u/grabber", reporter_role="child",
              imminent_danger=True)
    before = {c: api.get(f"/api/v1/cases/{c}").json() for c in (a, b)}
    answer = _merge(api, b, a)
    assert answer.status_code == 200, answer.text
    assert answer.json()["into"] == a and answer.json()["merged"] == b
    case_a, case_b = (api.get(f"/api/v1/cases/{c}").json() for c in (a, b))
    assert case_a["reports"] == 2 and len(case_a["reports_detail"]) == 2
    assert case_a["priority"] == max(before[a]["priority"], before[b]["priority"]) == 100
    assert case_a["imminent_danger"] is True
    assert case_a["created_at"] == min(before[a]["created_at"], before[b]["created_at"])
    assert case_b["state"] == "closed" and case_b["merged_into"] == a
    assert case_b["reports_detail"] == []
    assert any(e["action"] == "merge" for e in case_a["audit"])
    assert any(e["action"] == "merged" and str(a) in e["detail"] for e in case_b["audit"])
    # a later report about B's address joins A (B's keys went with its reports)
    again = live.client().post("/api/v1/reports", json={
        "case_type": "grooming", "url": "https://social.example/u/grabber"})
    assert again.status_code == 201, again.text
    assert api.get(f"/api/v1/cases/{a}").json()["reports"] == 3


def test_the_evidence_of_both_stays_provable(live: Served, api: httpx.Client) -> None:
    a = _case(live, api)
    b = _case(live, api)
    b_evidence = api.get(f"/api/v1/cases/{b}").json()["evidence"]
    assert b_evidence, "grooming reports are preserved on intake"
    answer = _merge(api, b, a)
    assert answer.status_code == 200, answer.text
    record = answer.json()["evidence_record"]
    # B's records are where they were, unchanged; A's chain has one more, naming B's head
    assert api.get(f"/api/v1/cases/{b}").json()["evidence"] == b_evidence
    merged = api.get(f"/api/v1/cases/{a}/evidence/{record}")
    assert merged.status_code == 200, merged.text
    content = json.loads(merged.content)
    assert content["merged_case"] == b and content["into_case"] == a
    assert content["merged_case_head"] == b_evidence[-1]["record_hash"]
    check = api.get("/api/v1/evidence/verify").json()
    assert check["ok"] and check["signed"], check


def test_a_merged_case_is_only_read(live: Served, api: httpx.Client) -> None:
    a, b = _case(live, api), _case(live, api)
    assert _merge(api, b, a).status_code == 200
    for path, body in (("notes", {"text": "more"}), ("assign", {"assignee": "ana"}),
                       ("state", {"state": "triage"}), ("merge", {"into": a}),
                       ("legal-hold", {"on": True})):
        answer = api.post(f"/api/v1/cases/{b}/{path}", json=body)
        assert answer.status_code == 409, (path, answer.text)
        assert f"merged into case #{a}" in answer.json()["detail"], answer.text
    assert api.get(f"/api/v1/cases/{b}").status_code == 200
    # nor is anything merged into it
    assert _merge(api, _case(live, api), b).status_code == 409


def test_what_makes_no_sense_is_refused_and_nothing_moves(
        live: Served, api: httpx.Client) -> None:
    a = _case(live, api)
    itself = _merge(api, a, a)
    assert itself.status_code == 422 and itself.json()["field"] == "into", itself.text
    other_type = _merge(api, _case(live, api, "bullying"), a)
    assert other_type.status_code == 422 and "same type" in other_type.json()["detail"]
    closed = _case(live, api, "bullying")
    assert api.post(f"/api/v1/cases/{closed}/state", json={"state": "closed"}).status_code == 200
    bully = _case(live, api, "bullying")
    for source, into in ((closed, bully), (bully, closed)):
        answer = _merge(api, source, into)
        assert answer.status_code == 409 and "closed" in answer.json()["detail"], answer.text
    escalated = _case(live, api)
    assert api.post(f"/api/v1/cases/{escalated}/escalate",
                    json={"authority": "national hotline"}).status_code == 201
    for source, into in ((escalated, a), (a, escalated)):
        answer = _merge(api, source, into)
        assert answer.status_code == 409, answer.text
        assert "police" in answer.json()["detail"], answer.text
    assert _merge(api, a, 999_999).status_code == 404
    assert api.get(f"/api/v1/cases/{a}").json()["reports"] == 1
    assert api.get(f"/api/v1/cases/{a}").json()["state"] != "closed"


def test_transparency_counts_the_merged_reports_once(live: Served, api: httpx.Client) -> None:
    """Reports are counted where they are received, once; B is A's now, so it is no case
    of its own waiting for a first action (it was counted as one, untouched, before)."""
    def totals() -> tuple[int, int]:
        figures = api.get("/api/v1/cases/transparency").json()
        return sum(figures["reports_by_type"].values()), figures["not_yet_acted_on"]

    a, b = _case(live, api, "privacy"), _case(live, api, "privacy")
    reports, untouched = totals()
    assert _merge(api, b, a).status_code == 200
    assert totals() == (reports, untouched - 1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_an_analyst_merges_by_keyboard_and_b_links_to_a(
        live: Served, api: httpx.Client, browser: Any) -> None:
    a, b = _case(live, api), _case(live, api)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/login?next=/cases/{b}")
        page.focus("#name")
        page.keyboard.type("ana")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/cases/{b}")
        page.focus("#merge-into")
        page.keyboard.type(str(a))
        with page.expect_navigation(url=f"{live.url}/cases/{a}"):
            page.keyboard.press("Enter")  # the form's one field: Enter submits it
        assert page.evaluate("document.querySelector('.error') === null"), page.content()
        assert page.locator("article.report").count() == 2
        page.goto(f"{live.url}/cases/{b}")
        link = page.locator("#merged a")
        assert link.get_attribute("href") == f"/cases/{a}"
        assert page.locator("#merge-form, form[action$='/note']").count() == 0
    finally:
        context.close()
