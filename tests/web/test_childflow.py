"""Block page, child page and access requests: a child is blocked, asks, a parent answers,
the decision reaches the policy state at once (COP-1, COP-8, COP-10, COP-11)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from kidshield.clock import FixedClock
from kidshield.policy.reason import Action, Reason
from kidshield.web import actions
from tests.e2e import harness
from tests.e2e.harness import Served


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def _decide(served: Served, name: str) -> Any:
    ctx = served.web
    return actions.decide_name(ctx, ctx.runtime.profiles["mia"], name)


def test_block_page_explains_a_category_block_in_the_childs_words(client: httpx.Client) -> None:
    r = client.get("/", headers={"host": "casino.example"})
    assert r.status_code == 403
    assert "Blocked to keep you safe" in r.text
    assert "gambling" in r.text and "casino.example" in r.text
    assert "Childline" in r.text  # helplines on every block page
    assert 'action="/.well-known/kidshield/ask"' in r.text


def test_bedtime_has_its_own_text(served: Served, client: httpx.Client) -> None:
    from datetime import timedelta

    ctx = served.web
    clock = served.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=7))  # 22:00 in London
    served.call(ctx.dns.resolver.invalidate)
    r = client.get("/", headers={"host": "example.org"})
    assert "Sleep time" in r.text and "bedtime" in r.text.lower()


def test_self_harm_block_shows_helplines_first(client: httpx.Client) -> None:
    r = client.get("/", headers={"host": "sh.example"})
    assert r.status_code == 403
    assert "You matter" in r.text
    assert r.text.index("helplines urgent") < r.text.index("<h1>")
    assert "Samaritans" in r.text or "Childline" in r.text


def test_allowed_name_on_block_host_says_it_is_open(client: httpx.Client) -> None:
    r = client.get("/", headers={"host": "example.org"})
    assert r.status_code == 200 and "not blocked" in r.text


def test_child_page_is_served_on_the_fixed_name(client: httpx.Client) -> None:
    r = client.get("/", headers={"host": "kidshield.home.arpa"})
    assert r.status_code == 200
    assert "My protection" in r.text and "Hi Mia" in r.text
    assert "7 days" in r.text  # retention, in words
    assert "18" in r.text  # protections end at 18
    assert "Childline" in r.text


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"path": self.path, "body": body.decode(),
                        "title": self.headers.get("Title"),
                        "type": self.headers.get("Content-Type")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def _wait(got: list[Any]) -> None:
    import time

    for _ in range(100):
        if got:
            return
        time.sleep(0.05)


def test_child_asks_parent_allows_for_30_minutes_and_policy_changes_at_once(
        served: Served,
        parent: tuple[httpx.Client, dict[str, str]],
        receiver: tuple[str, list[dict[str, Any]]]) -> None:
    client, headers = parent
    url, got = receiver
    assert client.put("/api/v1/settings/notifications", json={"kind": "webhook", "url": url},
                      headers=headers).status_code == 200
    page = client.get("/", headers={"host": "casino.example"})
    r = client.post("/.well-known/kidshield/ask", headers={"host": "casino.example"},
                    data={"csrf": _csrf(page.text), "name": "casino.example",
                          "message": "for maths homework"})
    assert r.status_code == 200 and "on its way" in r.text
    _wait(got)
    assert json.loads(got[0]["body"])["domain"] == "casino.example"
    assert json.loads(got[0]["body"])["message"] == "for maths homework"
    pending = client.get("/api/v1/requests?status=pending").json()
    assert [p["domain"] for p in pending] == ["casino.example"]
    assert _decide(served, "casino.example").action is Action.BLOCK
    r = client.post(f"/api/v1/requests/{pending[0]['id']}/decision",
                    json={"decision": "30min", "reply": "ok, 30 minutes"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "allowed"
    d = _decide(served, "casino.example")
    assert d.action is Action.ALLOW and d.reason is Reason.GRANT
    me = client.get("/me").text
    assert "yes!" in me and "ok, 30 minutes" in me
    audit = client.get("/api/v1/audit").json()
    assert any(e["action"] == "request.allowed" and e["actor"] == "Alex" for e in audit)


def test_ntfy_topic_gets_plain_text(parent: tuple[httpx.Client, dict[str, str]],
                                    receiver: tuple[str, list[dict[str, Any]]]) -> None:
    client, headers = parent
    url, got = receiver
    client.put("/api/v1/settings/notifications", json={"kind": "ntfy", "url": url + "/kids"},
               headers=headers)
    r = client.post("/api/v1/settings/notifications/test", headers=headers)
    assert r.json() == {"delivered": True}
    assert got[0]["path"] == "/kids" and got[0]["title"] == "kidshield: test notification"
    assert "work" in got[0]["body"]


def test_always_adds_to_the_allow_list_with_the_answer_in_one_change(served: Served,
        parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    csrf = _csrf(client.get("/me").text)
    client.post("/me/ask", data={"csrf": csrf, "name": "bet.example", "message": ""})
    rid = client.get("/api/v1/requests").json()[0]["id"]
    r = client.post(f"/api/v1/requests/{rid}/decision", json={"decision": "always"},
                    headers=headers)
    assert r.status_code == 200
    assert _decide(served, "bet.example").reason is Reason.ALLOW_LIST
    [edit] = client.get("/api/v1/edits").json()["in_force"]
    assert edit["setting"] == "profiles.mia.allow" and "bet.example" in edit["value"]
    audit = client.get("/api/v1/audit").json()
    assert audit[0]["action"] == "request.allowed" and '"always"' in audit[0]["detail"]
    export = served.web.editor.export()
    assert "# Mia is 10" in export and "bet.example" in export


def test_decline_carries_a_message_the_child_sees(
        served: Served,
        parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    csrf = _csrf(client.get("/me").text)
    client.post("/me/ask", data={"csrf": csrf, "name": "casino.example", "message": "pls"})
    rid = client.get("/api/v1/requests").json()[0]["id"]
    client.post(f"/api/v1/requests/{rid}/decision",
                json={"decision": "decline", "reply": "Not a site for you, sorry"},
                headers=headers)
    me = client.get("/me").text
    assert "not this time" in me and "Not a site for you, sorry" in me
    assert _decide(served, "casino.example").action is Action.BLOCK


def test_until_tonight_ends_at_bedtime(served: Served) -> None:
    ctx = served.web
    until = actions.grant_until(ctx, ctx.runtime.profiles["mia"], "tonight")
    assert until is not None
    assert until.astimezone(ctx.runtime.profiles["mia"].tz).strftime("%H:%M") == "21:00"


def test_pause_survives_a_restart_also_without_the_web_server(
        parent: tuple[httpx.Client, dict[str, str]], served: Served) -> None:
    client, headers = parent
    client.post("/api/v1/pause", json={"profile": "leo", "minutes": 45}, headers=headers)
    with harness.start(served.config_path, served.clock, web=False) as again:
        assert again.app.state.paused_until("leo") is not None
        answer = again.addresses("casino.example", source="127.0.0.1")
        assert answer == ["127.0.0.1"]  # Mia is not paused: still blocked


def test_parent_allows_from_the_child_page_with_pin(
        served: Served,
        parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    client.put("/api/v1/pin", json={"pin": "246813"}, headers=headers)
    csrf = _csrf(client.get("/me").text)
    r = client.post("/me/allow", data={"csrf": csrf, "name": "casino.example",
                                       "decision": "30min", "pin": "111111"})
    assert r.status_code == 403 and "PIN is not right" in r.text
    assert _decide(served, "casino.example").action is Action.BLOCK
    r = client.post("/me/allow", data={"csrf": csrf, "name": "casino.example",
                                       "decision": "30min", "pin": "246813"})
    assert r.status_code == 200 and "allowed for now" in r.text
    assert _decide(served, "casino.example").reason is Reason.GRANT


def test_grants_api_lists_and_ends_grants(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    r = client.post("/api/v1/grants", json={"profile": "mia", "domain": "Casino.Example"},
                    headers=headers)
    assert r.status_code == 201 and r.json()["domain"] == "casino.example"
    assert _decide(served, "casino.example").reason is Reason.GRANT
    grants = client.get("/api/v1/grants").json()
    assert [g["domain"] for g in grants] == ["casino.example"]
    assert "casino.example" in client.get("/requests").text
    assert client.delete(f"/api/v1/grants/{grants[0]['id']}",
                         headers=headers).status_code == 200
    assert _decide(served, "casino.example").action is Action.BLOCK
    assert client.get("/api/v1/grants").json() == []


def test_child_sees_rate_limit_in_their_language(served: Served, client: httpx.Client) -> None:
    from kidshield.web.ratelimit import Limit

    served.web.limiter.set_limit("ask.client", Limit(1, 600))
    csrf = _csrf(client.get("/me").text)
    client.post("/me/ask", data={"csrf": csrf, "name": "casino.example"})
    r = client.post("/me/ask", data={"csrf": csrf, "name": "casino.example"},
                    headers={"accept-language": "ar"})
    assert r.status_code == 429 and "لقد طلبت مرات كثيرة" in r.text


def test_block_for_a_chat_service_links_the_strangers_lesson_and_the_child_report_form(
    client: httpx.Client,
) -> None:
    r = client.get("/", headers={"host": "discord.com"})
    assert r.status_code == 403
    assert 'href="http://kidshield.home.arpa/learn/9-12/strangers"' in r.text
    assert 'href="http://kidshield.home.arpa/report?for=child"' in r.text
    lesson = client.get("/learn/9-12/strangers", headers={"host": "kidshield.home.arpa"})
    assert lesson.status_code == 200
    report = client.get("/report?for=child", headers={"host": "kidshield.home.arpa"})
    assert report.status_code == 200 and "Childline" in report.text


def test_child_page_links_lessons_and_reporting(client: httpx.Client) -> None:
    r = client.get("/me", headers={"host": "kidshield.home.arpa"})
    assert r.status_code == 200
    assert 'href="/learn"' in r.text and 'href="/report?for=child"' in r.text
