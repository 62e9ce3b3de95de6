"""On-call alerting, the two-person rule, the emergency path, referral-ready escalation and
the public transparency page against the application as ``kidshield serve`` composes it, with a
fake ntfy/webhook receiver and a real SMTP server on loopback. A child's "in danger now" report
reaches the on-call reviewers within 5 seconds and one moderator cannot close the case."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served, chromium, page_csrf
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream
from tests.reports.fakes import FakeHttpReceiver, FakeSmtp
from tests.screenshots import images_dir

HOTLINE = """
[reports]
organisation = "Test Hotline"
site_url = "https://hotline.example"
public_transparency = true

[reports.on_call]
ntfy = ["{http}/oncall"]
webhooks = ["{http}/hook"]
emails = ["oncall@hotline.test"]

[reports.emergency]
police = "Police (emergency)"
phone = "112"

[smtp]
host = "127.0.0.1"
port = {smtp}
security = "none"
sender = "kidshield@hotline.test"
"""


@pytest.fixture
def receivers() -> Iterator[tuple[FakeHttpReceiver, FakeSmtp]]:
    http, smtp = FakeHttpReceiver(), FakeSmtp()
    yield http, smtp
    http.close()
    smtp.close()


@pytest.fixture
def hotline(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: object,
            receivers: tuple[FakeHttpReceiver, FakeSmtp]) -> Served:
    http, smtp = receivers
    write_lists(tmp_path)  # type: ignore[arg-type]
    text = config_text(upstream.port) + HOTLINE.format(http=http.url, smtp=smtp.port)
    return serve_config(text, FixedClock(AFTERNOON))


def _child_reports_danger(served: Served, account: str) -> str:
    """The child form, as a browser without JavaScript sends it; the receipt code."""
    child = served.client(follow_redirects=False)
    r = child.post("/report", data={
        "csrf": page_csrf(child, "/report?for=child"), "for_child": "1",
        "case_type": "grooming", "imminent_danger": "yes",
        "account": account, "description": "he says he will come to my school today"})
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/report/status/")[1].split("?")[0]


def test_imminent_child_report_alerts_on_call_within_5_s_and_needs_two_reviewers(
    hotline: Served, receivers: tuple[FakeHttpReceiver, FakeSmtp],
) -> None:
    http, smtp = receivers
    started = time.monotonic()
    _child_reports_danger(hotline, "stranger42")
    ntfy = http.wait("/oncall", timeout=5)
    hook = http.wait("/hook", timeout=5)
    mail = smtp.wait("oncall@hotline.test", timeout=5)
    assert time.monotonic() - started < 5
    assert ntfy.headers["Priority"] == "5"
    assert ntfy.headers["Click"].startswith("https://hotline.example/cases/")
    payload = json.loads(hook.body)
    case_id = payload["case_id"]
    assert payload["event"] == "case_alert" and payload["imminent_danger"] is True
    assert payload["target_at"] == (AFTERNOON + timedelta(hours=1)).isoformat()
    assert f"case {case_id}" in str(mail["Subject"]).lower()
    # alerts carry no evidence: what the child wrote stays on the case page
    for text in (ntfy.body.decode(), hook.body.decode(), str(mail.get_payload())):
        assert "school today" not in text and "stranger42" not in text

    mo, mo_csrf = hotline.account("mo", "moderator")
    case = mo.get(f"/api/v1/cases/{case_id}").json()
    assert case["critical"] and case["seconds_left"] == 3600
    assert sorted(a["channel"] for a in case["alerts"] if a["ok"]) == ["email", "ntfy",
                                                                       "webhook"]
    # one moderator cannot close it: not by moving it, not by deciding alone
    r = mo.post(f"/api/v1/cases/{case_id}/state", headers=mo_csrf, json={"state": "closed"})
    assert r.status_code == 409 and "second reviewer" in r.json()["detail"]
    r = mo.post(f"/api/v1/cases/{case_id}/decision", headers=mo_csrf, json={
        "facts": "Looked like a joke between classmates.", "ground": "illegal",
        "action": "no_action"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    assert mo.get(f"/api/v1/cases/{case_id}").json()["state"] != "closed"
    r = mo.post(f"/api/v1/cases/{case_id}/sign-off", headers=mo_csrf, json={})
    assert r.status_code == 409 and r.json()["field"] == "reviewer"
    # a second reviewer rejects it; the case stays open
    ann, ann_csrf = hotline.account("ann", "analyst")
    r = ann.post(f"/api/v1/cases/{case_id}/sign-off", headers=ann_csrf,
                 json={"approve": False, "reason": "Not a joke: the police must hear it."})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert ann.get(f"/api/v1/cases/{case_id}").json()["state"] != "closed"
    # the emergency path: who to call, and the record of when the police were told
    sheet = ann.get(f"/api/v1/cases/{case_id}/emergency").json()
    assert sheet["call"]["phone"] == "112"
    assert "stranger42" in sheet["tell_them"]["reported_items"]
    # the served clock stands still at AFTERNOON, when the case opened: not before it
    told = AFTERNOON.isoformat()
    r = ann.post(f"/api/v1/cases/{case_id}/police", headers=ann_csrf, json={
        "notified_at": told, "authority": "Police (emergency)", "method": "phone",
        "reference": "INC-77"})
    assert r.status_code == 201, r.text
    case = ann.get(f"/api/v1/cases/{case_id}").json()
    assert case["police_notified_at"] == told and case["police"][0]["reference"] == "INC-77"
    assert any(e["kind"] == "police_notification" for e in case["evidence"])


def test_escalation_keeps_the_analysts_fields_and_one_decision_closes_it(
    hotline: Served,
) -> None:
    code = _child_reports_danger(hotline, "stranger-two")
    ann, csrf = hotline.account("ann", "analyst")
    [case] = ann.get("/api/v1/cases").json()["cases"]
    r = ann.post(f"/api/v1/cases/{case['id']}/escalate", headers=csrf, json={
        "authority": "National police CSE unit", "hosting_ips": ["203.0.113.9"],
        "referral": {"content_assessment": "nationally_illegal",
                     "victim_age_group": "pubescent", "forwarded_to": "Hotline NL",
                     "forwarded_country": "nl"}})
    assert r.status_code == 201, r.text
    exported = ann.get(f"/api/v1/cases/{case['id']}/export?format=json").json()
    assert exported["authority"]["name"] == "National police CSE unit"
    assert exported["assessment"]["content_assessment"] == "nationally_illegal"
    assert exported["forwarding"] == {"hotline": "Hotline NL", "country": "NL",
                                      "forwarded_at": None}
    assert {"address": "203.0.113.9", "role": "reported"}.items() <= \
        exported["ip_addresses"][0].items()
    chain = exported["evidence"]["chain"]
    assert chain["signed_head"]["records"] == chain["records"]
    # the exact preserved copy of the package, byte for byte, from the case page's link
    records = ann.get(f"/api/v1/cases/{case['id']}").json()["evidence"]
    escalation = next(e for e in records if e["kind"] == "escalation")
    page = ann.get(f"/cases/{case['id']}").text
    link = f"/api/v1/cases/{case['id']}/evidence/{escalation['id']}"
    assert link in page
    r = ann.get(link)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-content-sha256"]
    assert json.loads(r.content)["authority"]["name"] == "National police CSE unit"
    check = ann.get("/api/v1/evidence/verify").json()
    assert check["ok"] and check["signed"] and check["records"] == 2  # report, package
    pem = ann.get("/api/v1/evidence/public-key")
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----") and pem.headers["x-key-id"]
    # escalated: one reviewer's decision closes it, and the reporter sees the statement
    r = ann.post(f"/api/v1/cases/{case['id']}/decision", headers=csrf, json={
        "facts": "Referred to the police.", "ground": "illegal", "action": "escalated"})
    assert r.status_code == 201 and r.json()["status"] == "final"
    status = hotline.client().get(f"/api/v1/reports/{code}").json()
    assert status["state"] == "closed"
    assert status["appeal_deadline"] == (AFTERNOON + timedelta(days=184)).isoformat()


def test_a_trusted_flagger_and_the_public_transparency_page(hotline: Served) -> None:
    service = hotline.app.features.reports  # type: ignore[union-attr]
    assert service is not None
    _flagger, key = service.add_trusted_flagger("Hotline NL", "admin")
    anyone = hotline.client()
    r = anyone.post("/api/v1/reports", headers={"X-Flagger-Key": key},
                    json={"url": "https://b.example/", "case_type": "bullying",
                          "good_faith": True})
    assert r.status_code == 201, r.text
    r = anyone.post("/api/v1/reports", headers={"X-Flagger-Key": "ksf_wrong"},
                    json={"url": "https://c.example/", "case_type": "bullying"})
    assert r.status_code == 401 and r.json()["field"] == "X-Flagger-Key"
    period = {"from": "2026-11-24", "to": "2026-11-25"}
    page = anyone.get("/transparency", params=period)
    assert page.status_code == 200 and "Test Hotline" in page.text
    assert "Backlog at the end of the period" in page.text
    rows = set(anyone.get("/transparency", params={**period, "format": "csv"}).text
               .splitlines())
    assert "reports_by_source_type,trusted_flagger,1" in rows
    assert "time_to_first_action,not_yet_acted_on,1" in rows
    assert "decisions_automated,automated,0" in rows
    assert not any("b.example" in row for row in rows)  # no personal data


def test_in_a_browser_a_child_report_pages_on_call_and_the_case_shows_the_countdown(
    hotline: Served, receivers: tuple[FakeHttpReceiver, FakeSmtp],
) -> None:
    http, _smtp = receivers
    ann, _csrf = hotline.account("ann", "analyst")
    with chromium() as browser:
        child = browser.new_page(base_url=hotline.url)
        child.goto("/report?for=child")
        child.fill("#url", "https://chat.example/room/9")
        child.check("input[name=case_type][value=grooming]")
        child.check("input[name=imminent_danger][value=yes]")
        child.fill("#description", "someone wants to meet me after school")
        started = time.monotonic()
        child.click("button[type=submit]")
        child.wait_for_selector("#receipt-code")
        case_id = json.loads(http.wait("/hook", timeout=5).body)["case_id"]
        assert time.monotonic() - started < 5

        staff = browser.new_page(base_url=hotline.url, viewport={"width": 1100, "height": 1600})
        staff.goto("/login")
        staff.fill("#name", "ann")
        staff.fill("#password", "correct horse battery")
        staff.click('form[action="/login"] button')
        staff.wait_for_load_state()
        staff.goto(f"/cases/{case_id}")
        assert "left" in (staff.text_content("#countdown") or "")
        assert "A child may be in danger now" in (staff.text_content("#oncall") or "")
        assert "112" in (staff.text_content("#emergency") or "")
        staff.screenshot(path=str(images_dir() / "report-oncall.png"))
        # one reviewer's decision waits; the page says so
        staff.fill("#facts", "Checked the room: an adult asking a child to meet.")
        staff.select_option("#ground", "illegal")
        staff.select_option("#action", "no_action")
        staff.click("form[action$='/decision'] button[type=submit]")
        staff.wait_for_selector("#pending")
        assert "Another reviewer must sign it off" in (staff.text_content("#pending") or "")
    assert ann is not None
