"""A platform's trust and safety script sends bad input to the message checks, the case queue
and the transparency figures of the application as ``kidshield serve`` composes it: each gets a
clear 4xx naming what was wrong, never a 500 (docs/testing.md, "The platform walk").

One server for the module, asked with an analyst's API token holding the "assess" and
"reports" scopes. Every answer is also checked against the server's OpenAPI document."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served

MESSAGE = "/api/v1/assess/message"
CONVERSATION = "/api/v1/assess/conversation"
CHAT = [
    {"sender": "mark", "text": "hey you're so mature for your age", "at": 1700000000,
     "recipient": "amy"},
    {"sender": "amy", "text": "im 12 lol", "at": 1700000100},
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    extra = "[reports]\npublic_transparency = true\n"
    with served_household(tmp_path_factory.mktemp("platform"), extra) as served:
        served.account("trust and safety", "analyst")
        yield served


@pytest.fixture(scope="module")
def client(live: Served) -> httpx.Client:
    return live.client(headers=live.bearer_for("trust and safety", ["assess", "reports"]))


def raw_json(client: httpx.Client, path: str, text: str) -> httpx.Response:
    """A body as written: Python's json module writes NaN, which a platform's JSON may hold."""
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("path", [MESSAGE, CONVERSATION, "/api/v1/reports"])
def test_json_nested_too_deeply_is_400_not_a_500(client: httpx.Client, path: str) -> None:
    body = '{"text": ' + "[" * 5_000 + "]" * 5_000 + "}"
    error = error_of(raw_json(client, path, body), 400)
    assert error["field"] == "body"
    assert "nested too deeply" in error["detail"]


@pytest.mark.parametrize("at", ["1e30", "-1e12", "NaN", "Infinity"])
def test_a_message_time_out_of_range_is_422_naming_it(client: httpx.Client, at: str) -> None:
    body = '{"messages": [{"sender": "a", "text": "hi", "at": ' + at + "}]}"
    error = error_of(raw_json(client, CONVERSATION, body), 422)
    assert error["field"] == "messages.0.at"


def test_union_fields_are_named_as_sent(client: httpx.Client) -> None:
    """The field is the one the platform sent, not pydantic's member of a union
    ("sender.str-enum[AgeBand]"), and JSON true is not the age 1."""
    for value in ("grandpa", True, 12.5):
        error = error_of(client.post(MESSAGE, json={"text": "hi", "sender": value}), 422)
        assert error["field"] == "sender"
        assert "age band" in error["detail"]
    error = error_of(client.post(CONVERSATION, json={
        "messages": [{"sender": "a", "text": "hi", "at": "yesterday"}]}), 422)
    assert error["field"] == "messages.0.at"
    error = error_of(client.post(CONVERSATION, json={
        "messages": [{"sender": "a", "text": "hi"}], "participants": {"a": "alien"}}), 422)
    assert error["field"] == "participants.a"
    assert client.post(MESSAGE, json={"text": "hi", "sender": "12"}).status_code == 200


def _state(client: httpx.Client) -> dict[str, Any]:
    response = client.post(CONVERSATION, json={
        "messages": CHAT, "participants": {"mark": "adult", "amy": 12}})
    assert response.status_code == 200
    state: dict[str, Any] = response.json()["state"]
    assert state["pairs"] and state["evidence"] and state["stats"]
    return state


def _set(state: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(state)
    here: Any = changed
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return changed


def _first(mapping: dict[str, Any]) -> str:
    return next(iter(mapping))


def test_a_stored_state_that_was_changed_is_422_naming_where(client: httpx.Client) -> None:
    """The state a platform stores and passes back may be damaged on the way (a NaN, a cut
    list, a string for a number): the call is refused, naming the place, never a 500."""
    state = _state(client)
    pair = _first(state["pairs"])
    key = _first(state["pairs"][pair])
    risk = _first(state["evidence"])
    stats = _first(state["stats"])
    damaged = [
        (("pairs", pair, key, 0), float("nan"), f"state.pairs.{pair}.{key}.0"),
        (("pairs", pair, key, 1), 1e30, f"state.pairs.{pair}.{key}.1"),
        (("evidence", risk, 0), [0, 4], f"state.evidence.{risk}.0"),
        (("evidence", risk, 0, 1), "x", f"state.evidence.{risk}.0.1"),
        (("evidence", risk, 0, 0), None, f"state.evidence.{risk}.0.0"),
        (("stats", stats, 0), -1e308, f"state.stats.{stats}.0"),
        (("stats", stats, 3, "grooming"), float("nan"), f"state.stats.{stats}.3.grooming"),
        (("first_flagged", _first(state["first_flagged"]), "low"), "x", "state.first_flagged"),
        (("gaming_until",), float("inf"), "state.gaming_until"),
        (("ages", "amy"), True, "state.ages.amy"),
    ]
    next_message = [{"sender": "mark", "text": "ok", "at": 1700000400}]
    for path, value, where in damaged:
        body = json.dumps({"messages": next_message, "state": _set(state, path, value)})
        error = error_of(raw_json(client, CONVERSATION, body), 422)
        assert error["detail"].startswith(where), (path, error)
    # the state as it was returned still works
    assert client.post(CONVERSATION, json={
        "messages": next_message, "state": state}).status_code == 200


def test_a_case_number_past_what_the_database_holds_is_404(client: httpx.Client) -> None:
    huge = "9" * 25
    assert error_of(client.get(f"/api/v1/cases/{huge}"), 404)["field"] == "case_id"
    assert error_of(client.get(f"/api/v1/cases/1/evidence/{huge}"), 404)["field"] in (
        "case_id", "record_id")


def test_a_period_ending_on_the_last_date_is_422(client: httpx.Client, live: Served) -> None:
    query = "from=0001-01-01&to=9999-12-31"
    error = error_of(client.get(f"/api/v1/cases/transparency?{query}"), 422)
    assert error["field"] == "to"
    assert live.client().get(f"/transparency?{query}&format=csv").status_code == 422
    wide = client.get("/api/v1/cases/transparency?from=0001-01-01&to=9999-12-30")
    assert wide.status_code == 200


def _case_ids(client: httpx.Client) -> set[int]:
    response = client.get("/api/v1/cases")
    assert response.status_code == 200
    return {case["id"] for case in response.json()["cases"]}


def test_high_risk_calls_without_a_conversation_id_open_a_case_each(
        client: httpx.Client) -> None:
    """Without the platform's conversation_id each high-risk call is its own case; with it,
    calls about one conversation join its case. On main the key was the result's id(), which
    Python reuses once the object is freed: unrelated messages joined one case."""
    before = _case_ids(client)
    grooming = {"text": "don't tell your parents about us", "sender": "adult", "recipient": 12}
    for _ in range(12):
        assert client.post(MESSAGE, json=grooming).json()["level"] == "high"
    opened = _case_ids(client) - before
    assert len(opened) == 12
    for _ in range(3):
        client.post(MESSAGE, json={**grooming, "conversation_id": "chat-42"})
    assert len(_case_ids(client) - before - opened) == 1


def test_a_police_notification_before_utc_begins_is_422(client: httpx.Client) -> None:
    """0001-01-01T00:00+14:00 is a valid ISO time with no UTC time: it was a 500."""
    grooming = {"text": "don't tell your parents about us", "sender": "adult", "recipient": 12,
                "conversation_id": "chat-police"}
    before = _case_ids(client)
    client.post(MESSAGE, json=grooming)
    (case,) = _case_ids(client) - before
    error = error_of(client.post(f"/api/v1/cases/{case}/police", json={
        "notified_at": "0001-01-01T00:00:00+14:00", "authority": "police", "method": "phone"}),
        422)
    assert error["field"] == "notified_at"


def test_the_lexicon_the_server_warms_is_the_one_requests_use(client: httpx.Client) -> None:
    """``routes()`` compiles the lexicon at start "so the first request is fast"; on main it
    compiled load_lexicon() while requests asked for load_lexicon("en"), a second cache entry:
    the first request compiled it again (7 s at a load of 8 on two cores) and the server kept
    two copies."""
    from kidshield.safety.text.lexicon import load_lexicon

    assert client.post(MESSAGE, json={"text": "hi"}).status_code == 200
    assert load_lexicon() is load_lexicon("en")
