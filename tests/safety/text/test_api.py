"""REST endpoints under /api/v1/assess, usable standalone (starlette TestClient)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kidshield.web.api.assess import create_app


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())


def test_assess_message_returns_findings_actions_and_redacted_text(client: TestClient) -> None:
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


def test_assess_message_can_leave_out_the_redacted_text(client: TestClient) -> None:
    response = client.post(
        "/api/v1/assess/message",
        json={"text": "my number is 07700 900123", "include_redacted": False},
    )
    assert "redacted" not in response.json()
    assert "07700" not in response.text


def test_self_harm_response_carries_helplines(client: TestClient) -> None:
    body = client.post("/api/v1/assess/message", json={"text": "i want to die"}).json()
    assert "show_helpline" in body["actions"]
    assert body["helplines"]


def test_missing_field_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/assess/message", json={"message": "hi"})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["fields"]}
    assert "text" in fields


def test_wrong_age_band_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/assess/message", json={"text": "hi", "sender": "toddler"})
    assert response.status_code == 422
    assert any(f["field"].startswith("sender") for f in response.json()["fields"])


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post("/api/v1/assess/message", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "the body must be JSON",
                               "field": "body"}


def test_unsupported_language_is_422_listing_available_ones(client: TestClient) -> None:
    response = client.post("/api/v1/assess/message", json={"text": "hi", "language": "xx"})
    assert response.status_code == 422
    assert response.json()["field"] == "language"
    assert "available: en" in response.json()["detail"]


def test_conversation_endpoint_tracks_state_between_calls(client: TestClient) -> None:
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


def test_conversation_with_no_messages_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/assess/conversation", json={"messages": []})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "messages"


def test_get_is_not_allowed(client: TestClient) -> None:
    assert client.get("/api/v1/assess/message").status_code == 405


def test_the_standalone_app_describes_itself_without_accounts(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert set(doc["paths"]) == {"/api/v1/assess/message", "/api/v1/assess/conversation",
                                 "/api/v1/openapi.json"}
    op = doc["paths"]["/api/v1/assess/message"]["post"]
    assert "security" not in op and "401" not in op["responses"]
    assert "securitySchemes" not in doc["components"]
