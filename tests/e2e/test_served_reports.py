"""Reports against the served application, as a reporter and a moderator would use them:
anonymous reports and drafts through the JSON API (no account), and a moderator's block- or
allow-list decision that changes what the DNS server answers, undone when another moderator
reverses it on appeal."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.harness import Served

BLOCK_PAGE = "127.0.0.1"  # the household's block page address
UPSTREAM = "192.0.2.1"  # what the fake upstream answers for any name


def test_an_anonymous_reporter_files_a_report_and_keeps_a_draft_through_the_json_api(
    client: httpx.Client,
) -> None:
    token = "draft-" + "7" * 26
    saved = client.put(f"/api/v1/reports/drafts/{token}",
                       json={"url": "https://forum.test/t/9", "description": "mean posts"})
    assert saved.status_code == 200 and saved.json() == {"saved": True}
    assert client.get(f"/api/v1/reports/drafts/{token}").json()["description"] == "mean posts"
    filed = client.post("/api/v1/reports", json={
        "url": "https://forum.test/t/9", "case_type": "bullying",
        "description": "mean posts", "draft_token": token})
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    status = client.get(f"/api/v1/reports/{code}")
    assert status.status_code == 200 and status.json()["state"] == "new"
    assert client.get(filed.json()["status_url"]).status_code == 200


def _answers_become(served: Served, name: str, expected: list[str]) -> None:
    """The decision reloads the lists in the background: wait (bounded) for DNS to follow."""
    deadline = time.monotonic() + 10
    while served.addresses(name) != expected:
        assert time.monotonic() < deadline, f"{name} still answers {served.addresses(name)}"
        time.sleep(0.05)


@pytest.mark.parametrize(("case_type", "url", "action", "before", "after"), [
    ("under_blocking", "https://scam.example/win", "block_listed", UPSTREAM, BLOCK_PAGE),
    ("over_blocking", "https://casino.example/", "allow_listed", BLOCK_PAGE, UPSTREAM),
], ids=["block-list", "allow-list"])
def test_a_list_decision_changes_dns_and_its_reversal_on_appeal_undoes_it(
    served: Served, client: httpx.Client, case_type: str, url: str, action: str, before: str,
    after: str,
) -> None:
    name = url.split("/")[2]
    assert served.addresses(name) == [before]  # from Mia's tablet (127.0.0.1)
    code = client.post("/api/v1/reports", json={"url": url, "case_type": case_type}).json()[
        "code"]
    maria, maria_csrf = served.account("maria", "moderator")
    [case] = maria.get("/api/v1/cases").json()["cases"]
    decided = maria.post(f"/api/v1/cases/{case['id']}/decision", headers=maria_csrf, json={
        "facts": f"{name} was reported and checked.", "ground": "policy", "action": action})
    assert decided.status_code == 201, decided.text
    _answers_become(served, name, [after])
    detail = maria.get(f"/api/v1/cases/{case['id']}").json()
    assert [d["action"] for d in detail["decisions"]] == [action]  # the decision is stored

    appeal = client.post(f"/api/v1/reports/{code}/appeal", json={"reason": "please look again"})
    assert appeal.status_code == 201, appeal.text
    sam, sam_csrf = served.account("sam", "moderator")
    reversed_ = sam.post(f"/api/v1/cases/{case['id']}/decision", headers=sam_csrf, json={
        "facts": "On a second look the list was right.", "ground": "no_violation",
        "action": "no_action"})
    assert reversed_.status_code == 201, reversed_.text
    _answers_become(served, name, [before])
    detail = sam.get(f"/api/v1/cases/{case['id']}").json()
    assert [(d["action"], d["reverses"]) for d in detail["decisions"]] == [
        (action, False), ("no_action", True)]
