"""How the web app is wired to the rest: the child page's DNS name, the first-start link,
routes of other features behind the same sign-in."""

from __future__ import annotations

import httpx
import pytest

from kidshield.web.server import announce_setup
from tests.e2e.harness import Served


def test_kidshield_home_arpa_answers_with_the_block_page_address(served: Served) -> None:
    assert served.addresses("kidshield.home.arpa", source="127.0.0.5") == ["127.0.0.1"]


def test_first_start_prints_the_setup_link(served: Served,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ctx = served.web
    announce_setup(ctx)
    err = capsys.readouterr().err
    assert f"{served.url}/setup?token={ctx.setup_token}" in err


def test_feature_api_routes_need_sign_in(client: httpx.Client,
                                         parent: tuple[httpx.Client, dict[str, str]]) -> None:
    signed_in, headers = parent
    assert signed_in.get("/api/v1/media/banks").status_code == 200
    assert client.get("/api/v1/media/banks").status_code == 401
    message = {"text": "hello"}
    assert client.post("/api/v1/assess/message", json=message).status_code == 401
    assert signed_in.post("/api/v1/assess/message", json=message,
                          headers=headers).status_code == 200


def test_doh_and_metrics_still_served(client: httpx.Client,
                                      parent: tuple[httpx.Client, dict[str, str]]) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert parent[0].get("/metrics").status_code == 200


@pytest.mark.parametrize("accept", [
    "", "text/plain", "*/*",
    # what Prometheus sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
])
def test_metrics_refuse_a_scraper_without_a_token_in_plain_text(client: httpx.Client,
                                                                accept: str) -> None:
    # a scraper cannot follow a redirect to a sign-in form: it gets the status, the scheme
    # to authenticate with and one line it can log; the counts stay private
    r = client.get("/metrics", headers={"accept": accept}, follow_redirects=False)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="kidshield"'
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.count("\n") == 1 and "metrics scope" in r.text
    assert "kidshield_queries" not in r.text


def test_metrics_send_a_browser_to_sign_in(client: httpx.Client) -> None:
    r = client.get("/metrics", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/metrics"


def test_metrics_refuse_a_token_without_the_metrics_scope_in_plain_text(
        served: Served, client: httpx.Client, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    headers = served.bearer_for("Alex", ["dns"])
    r = client.get("/metrics", headers={**headers, "accept": "text/plain"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/plain")
    assert "metrics" in r.text and "<html" not in r.text.lower()
    assert client.get("/metrics", headers=served.bearer_for("Alex", ["metrics"])
                      ).status_code == 200


def test_high_risk_text_assessment_opens_a_case_in_the_reports_queue(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = parent
    r = client.post("/api/v1/assess/message", headers=headers, json={
        "text": "i have the pills ready and i am going to kill myself tonight",
        "sender": 14, "conversation_id": "chat-42"})
    assert r.status_code == 200
    assert r.json()["level"] in ("high", "imminent")
    assert served.app.features is not None
    reports = served.app.features.reports
    assert reports is not None
    queue = reports.queue("test")
    assert [str(c.case_type) for c in queue] == ["self_harm"]
    # the case keeps findings, never the message text
    assert "pills" not in repr(queue[0])
    harmless = client.post("/api/v1/assess/message", headers=headers,
                           json={"text": "gg that round was fun", "conversation_id": "chat-43"})
    assert harmless.status_code == 200
    assert len(reports.queue("test")) == 1
