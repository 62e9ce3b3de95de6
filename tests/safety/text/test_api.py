"""REST endpoints under /api/v1/assess on the application as ``kidshield serve`` composes it
(the household of tests/e2e/household.py, one server for the module), asked as a platform
asks them: with an API token of a moderator's account holding the "assess" scope. Every
answer is also checked against the server's OpenAPI document (``Served.client``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_household(tmp_path_factory.mktemp("assess")) as served:
        served.account("trust and safety", "moderator")
        yield served


@pytest.fixture(scope="module")
def client(live: Served) -> httpx.Client:
    """A platform's script: the token of a moderator's account, scope "assess" only."""
    return live.client(headers=live.bearer_for("trust and safety", ["assess"]))


def test_assess_message_returns_findings_actions_and_redacted_text(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/assess/message",
        json={"text": "my number is 07700 900123", "sender": 12, "recipient": "adult"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "en"
    assert body["language_source"] == "default"
    assert body["findings"][0]["risk"] == "personal_info"
    assert body["findings"][0]["spans"][0] == {"start": 13, "end": 25, "label": "phone"}
    assert body["redacted"] == "my number is [phone]"
    assert "warn_child" in body["actions"]


def test_assess_message_can_leave_out_the_redacted_text(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/assess/message",
        json={"text": "my number is 07700 900123", "include_redacted": False},
    )
    assert "redacted" not in response.json()
    assert "07700" not in response.text


def test_self_harm_response_carries_helplines(client: httpx.Client) -> None:
    body = client.post("/api/v1/assess/message", json={"text": "i want to die"}).json()
    assert "show_helpline" in body["actions"]
    assert body["helplines"]


def test_missing_field_is_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", json={"message": "hi"})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["fields"]}
    assert "text" in fields


def test_wrong_age_band_is_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", json={"text": "hi", "sender": "toddler"})
    assert response.status_code == 422
    assert any(f["field"].startswith("sender") for f in response.json()["fields"])


def test_body_that_is_not_json_is_400(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "the body must be JSON",
                               "field": "body"}


def test_unsupported_language_is_422_listing_available_ones(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", json={"text": "hi", "language": "xx"})
    assert response.status_code == 422
    assert response.json()["field"] == "language"
    assert "available: en" in response.json()["detail"]


def test_conversation_endpoint_tracks_state_between_calls(client: httpx.Client) -> None:
    first = client.post(
        "/api/v1/assess/conversation",
        json={
            "participants": {"m": "adult", "a": 12},
            "messages": [
                {"sender": "m", "text": "you're so mature for your age", "at": 1772388000},
                {"sender": "m", "text": "don't tell your parents we talk", "at": 1772388060},
            ],
        },
    ).json()
    assert first["findings"][0]["risk"] == "grooming"
    second = client.post(
        "/api/v1/assess/conversation",
        json={
            "state": first["state"],
            "messages": [
                {"sender": "m", "text": "come alone, don't bring anyone", "at": 1772388120}
            ],
        },
    )
    assert second.status_code == 200
    body = second.json()
    assert body["level"] == "imminent"
    assert body["state"]["message_count"] == 3


def test_a_conversation_stays_imminent_after_a_self_harm_plan(client: httpx.Client) -> None:
    # the conversation's self-harm finding came from decayed scores alone: "high" in the next
    # call, though the plan's message was imminent
    first = client.post("/api/v1/assess/conversation", json={"messages": [
        {"sender": "kim", "text": "i want to kill myself tonight", "at": 1772388000}]}).json()
    second = client.post("/api/v1/assess/conversation", json={"state": first["state"], "messages": [
        {"sender": "kim", "text": "ok see u", "at": 1772388000 + 6 * 3600}]})
    assert second.status_code == 200, second.text
    body = second.json()
    (finding,) = [f for f in body["findings"] if f["risk"] == "self_harm"]
    assert (body["level"], finding["level"]) == ("imminent", "imminent")
    assert [e["message"] for e in finding["evidence"]] == [0]


def test_a_high_risk_conversation_opens_a_case(live: Served, client: httpx.Client) -> None:
    # the served app files it in the reports queue; that step raised on a conversation's
    # findings (no "reason"), so the engine's answer was a 500 (a bare app has no queue)
    reports = live.app.features.reports
    assert reports is not None
    before = {c.id for c in reports.queue("test")}
    response = client.post("/api/v1/assess/conversation", json={
        "participants": {"m": "adult", "a": 12}, "conversation_id": "chat-78",
        "messages": [{"sender": "m", "text": "you're so mature for your age"},
                     {"sender": "m", "text": "don't tell your parents we talk"},
                     {"sender": "m", "text": "come alone, don't bring anyone"}]})
    assert response.status_code == 200, response.text
    assert response.json()["level"] == "imminent"
    (case,) = [c for c in reports.queue("test") if c.id not in before]
    assert (case.case_type, case.imminent_danger) == ("grooming", True)


AT = 1772388000


@pytest.mark.parametrize(("lines", "case_type"), [
    # a self-harm plan, then a reply 6 hours later: self-harm imminent, its score 0.91
    ([("kim", "i want to kill myself tonight", 0), ("kim", "ok see u", 6 * 3600)], "self_harm"),
    # a threat with a demand, then a day later: sextortion imminent, its score 0.90
    ([("m", "i'll send your nudes to all your friends unless you pay me $200", 0),
      ("m", "well?", 24 * 3600)], "grooming"),
])
def test_an_imminent_conversation_opens_an_imminent_case(
    live: Served, client: httpx.Client, lines: list[tuple[str, str, int]], case_type: str,
) -> None:
    # the queue marked imminent danger by score alone (0.95), so a conversation the engine
    # called imminent, its score the decayed evidence, opened a case without that priority
    reports = live.app.features.reports
    assert reports is not None
    before = {c.id for c in reports.queue("test")}
    response = client.post("/api/v1/assess/conversation", json={
        "conversation_id": f"chat-imminent-{case_type}",
        "messages": [{"sender": who, "text": text, "at": AT + dt} for who, text, dt in lines]})
    assert response.status_code == 200, response.text
    body = response.json()
    (top,) = [f for f in body["findings"] if f["level"] == "imminent"]
    assert body["level"] == "imminent" and top["score"] < 0.95
    (case,) = [c for c in reports.queue("test") if c.id not in before]
    assert (case.case_type, case.imminent_danger) == (case_type, True)


def test_api_takes_a_country_and_rejects_a_bad_one(client: httpx.Client) -> None:
    threat = "i'll send your nudes to all your friends unless you pay me $200"
    body = client.post("/api/v1/assess/message",
                       json={"text": threat, "recipient": 14, "country": "GB"}).json()
    assert [line["id"] for line in body["helplines"]][:2] == ["gb-ceop", "world-take-it-down"]
    first = body["helplines"][0]
    assert first["kind"] == "online" and first["region"] == "GB" and first["url"]
    bad = client.post("/api/v1/assess/message", json={"text": "hi", "country": "XX"})
    assert bad.status_code == 422  # invalid input, in the one error shape
    assert bad.json()["error"] == "validation" and "country" in bad.json()["detail"]


def test_conversation_with_no_messages_is_422(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/conversation", json={"messages": []})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "messages"


def test_get_is_not_allowed(client: httpx.Client) -> None:
    assert client.get("/api/v1/assess/message").status_code == 405


# What only the served application has: the sign-in, the server's headers and body limit,
# and the reports queue a high risk goes to.


def test_without_a_token_or_with_another_scope_the_engine_is_refused(live: Served) -> None:
    with live.client() as anonymous:
        assert anonymous.post("/api/v1/assess/message", json={"text": "hi"}).status_code == 401
    other = live.bearer_for("trust and safety", ["reports"])
    with live.client(headers=other) as narrow:
        refused = narrow.post("/api/v1/assess/message", json={"text": "hi"})
    assert refused.status_code == 403 and refused.json()["detail"].startswith("not allowed")


def test_answers_carry_the_servers_security_headers(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", json={"text": "hi"})
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"  # findings about a child's message


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: httpx.Client) -> None:
    response = client.post("/api/v1/assess/message", content=b"x" * 2_000_001,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_high_risk_message_opens_a_case_without_the_text(
    live: Served, client: httpx.Client
) -> None:
    reports = live.app.features.reports
    assert reports is not None
    before = {c.id for c in reports.queue("test")}
    text = "come alone tonight, don't tell your parents, i'll pick you up"
    body = client.post("/api/v1/assess/message", json={
        "text": text, "sender": "adult", "recipient": 12, "conversation_id": "chat-77"}).json()
    assert body["level"] in ("high", "imminent")
    (case,) = [c for c in reports.queue("test") if c.id not in before]
    assert case.case_type == "grooming"
    assert text not in repr(reports.view(case.id, "test"))  # findings and scores, not the text


def test_the_document_names_the_sign_in_the_engine_needs(live: Served) -> None:
    doc = live.contract.document
    op = doc["paths"]["/api/v1/assess/message"]["post"]
    assert op["security"] and "401" in op["responses"]
    assert "/api/v1/assess/conversation" in doc["paths"]
