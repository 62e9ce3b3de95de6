"""What the platform walk left (docs/testing.md, "The platform walk"), on the application as
``kidshield serve`` composes it: each check failed on the code before its fix."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # neither [reports] site_url nor [web] public_url: links fall back to the listen address
    with served_household(tmp_path_factory.mktemp("leftovers")) as served:
        served.account("trust and safety", "analyst")
        yield served


@pytest.fixture(scope="module")
def client(live: Served) -> httpx.Client:
    return live.client(headers=live.bearer_for("trust and safety", ["assess", "reports"]))


def test_case_links_start_with_the_listen_address_when_no_public_address_is_set(
        live: Served) -> None:
    assert live.app.config.reports.site_url == "" and live.app.config.web.public_url is None
    reports = live.app.features.reports if live.app.features is not None else None
    assert reports is not None
    link = reports.settings.link("/cases/2")
    assert link == f"{live.url}/cases/2"
    assert link.startswith("http://127.0.0.1:")


def _new_case(client: httpx.Client, conversation: str) -> int:
    before = {c["id"] for c in client.get("/api/v1/cases").json()["cases"]}
    grooming = {"text": "don't tell your parents about us", "sender": "adult", "recipient": 12,
                "conversation_id": conversation}
    assert client.post("/api/v1/assess/message", json=grooming).status_code == 200
    (case,) = {c["id"] for c in client.get("/api/v1/cases").json()["cases"]} - before
    return int(case)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"])
def test_a_police_notification_before_the_case_opened_is_no_negative_time(
        client: httpx.Client, when: str) -> None:
    """Police told before the report was typed in are kept as told; as the case's first action
    they made "hours to first action" negative (the lead's call: kept, counted as zero)."""
    case = _new_case(client, f"police-{when}")
    answer = client.post(f"/api/v1/cases/{case}/police", json={
        "notified_at": when, "authority": "police", "method": "phone"})
    assert answer.status_code in (200, 201), answer.text
    figures = client.get("/api/v1/cases/transparency").json()
    assert figures["to_first_action"]["median_hours"] is not None
    assert figures["to_first_action"]["median_hours"] >= 0


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
       b'<rect width="8" height="8"/></svg>')


def test_an_svg_upload_is_415_as_docs_web_md_says(live: Served) -> None:
    """An image type kidshield does not read is an unsupported media type; it was 422."""
    media = live.client(headers=live.bearer_for("trust and safety", ["media"]))
    answer = media.post("/api/v1/media/match", content=SVG,
                        headers={"content-type": "image/svg+xml"})
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"] == "unsupported_media_type"
    assert answer.json()["field"] == "body"


def test_the_statements_api_says_1_page_in_the_singular(client: httpx.Client) -> None:
    """It said "there are 1 pages" (and its 404 was not in the OpenAPI document)."""
    answer = client.get("/api/v1/statements?page=2")
    assert answer.status_code == 404, answer.text
    assert answer.headers.get("x-pages") is None
    assert answer.json()["detail"] == "there is 1 page" and answer.json()["field"] == "page"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/media/banks", {"name": "long", "description": "x" * 2001}, "description"),
    ("/api/v1/media/banks/leftovers/hashes", {"hashes": ["0" * 64], "source": "x" * 201},
     "source"),
    ("/api/v1/media/banks/leftovers/hashes", {"hashes": ["0" * 64], "reference_id": "x" * 201},
     "reference_id"),
])
def test_bank_texts_have_a_documented_limit(live: Served, path: str, body: dict[str, object],
                                            field: str) -> None:
    """900 KB of description was stored."""
    media = live.client(headers=live.bearer_for("trust and safety", ["media"]))
    # the bank the hashes go to (a 409 once it exists); 2,000 characters are allowed
    made = media.post("/api/v1/media/banks", json={"name": "leftovers", "description": "x" * 2000})
    assert made.status_code in (201, 409), made.text
    answer = media.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_the_case_queue_refuses_unknown_parameters_and_pages(client: httpx.Client) -> None:
    """It ignored them (and stopped at 200 cases with no way to the rest)."""
    answer = client.get("/api/v1/cases?state=closed")
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "state"
    for n in range(3):
        _new_case(client, f"paging-{n}")
    everything = [c["id"] for c in client.get("/api/v1/cases?limit=1000").json()["cases"]]
    assert len(everything) >= 3
    pages = [c["id"] for offset in range(len(everything))
             for c in client.get(f"/api/v1/cases?limit=1&offset={offset}").json()["cases"]]
    assert pages == everything
    assert client.get("/api/v1/cases?limit=1001").status_code == 422
