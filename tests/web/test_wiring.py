"""How the web app is wired to the rest: the child page's DNS name, the first-start link,
routes of other features behind the same sign-in."""

from __future__ import annotations

import asyncio

import dns.message
import pytest
from starlette.testclient import TestClient

from kidshield.dns.service import DnsService
from kidshield.web.server import announce_setup


def test_kidshield_home_arpa_answers_with_the_block_page_address(service: DnsService) -> None:
    assert service.resolver is not None
    query = dns.message.make_query("kidshield.home.arpa", "A")
    wire = asyncio.run(service.resolver.resolve(query.to_wire(), "192.168.1.40", udp=True))
    assert wire is not None
    answer = dns.message.from_wire(wire)
    assert [rd.address for rrset in answer.answer for rd in rrset] == ["127.0.0.1"]


def test_first_start_prints_the_setup_link(client: TestClient,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ctx = client.app.state.web  # type: ignore[attr-defined]
    announce_setup(ctx, "0.0.0.0", 8080)
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:8080/setup?token={ctx.setup_token}" in err


def test_feature_routes_need_sign_in(client: TestClient,
                                     parent: tuple[TestClient, dict[str, str]]) -> None:
    from kidshield.web.server import feature_routes

    paths = [getattr(r, "path", "") for r in feature_routes()]
    if "/api/v1/media/banks" not in paths:
        pytest.skip("media feature not installed")
    signed_in, _ = parent
    assert signed_in.get("/api/v1/media/banks").status_code == 200
    with TestClient(client.app) as anonymous:
        assert anonymous.get("/api/v1/media/banks").status_code == 401


def test_doh_and_metrics_still_served(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/metrics").status_code == 200


def test_high_risk_text_assessment_opens_a_case_in_the_reports_queue(
    parent: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = parent
    r = client.post("/api/v1/assess/message", headers=headers, json={
        "text": "i have the pills ready and i am going to kill myself tonight",
        "sender": 14, "conversation_id": "chat-42"})
    assert r.status_code == 200
    assert r.json()["level"] in ("high", "imminent")
    reports = client.app.state.reports  # type: ignore[attr-defined]
    queue = reports.queue("test")
    assert [str(c.case_type) for c in queue] == ["self_harm"]
    # the case keeps findings, never the message text
    assert "pills" not in repr(queue[0])
    harmless = client.post("/api/v1/assess/message", headers=headers,
                           json={"text": "gg that round was fun", "conversation_id": "chat-43"})
    assert harmless.status_code == 200
    assert len(reports.queue("test")) == 1
