"""The public intake form and API, the reporter's status page, and the staff routes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from kidshield.reports.service import ReportService
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served, page_csrf
from tests.e2e.household import config_text, write_lists
from tests.e2e.upstream import FakeUpstream

Staff = tuple[httpx.Client, dict[str, str]]


@pytest.fixture
def service(served: Served) -> ReportService:
    assert served.app.features is not None and served.app.features.reports is not None
    return served.app.features.reports


@pytest.fixture
def staff(served: Served) -> dict[str, dict[str, str]]:
    """API tokens of two moderators and an analyst, by name."""
    return {"maria": served.bearer("maria", "moderator"),
            "sam": served.bearer("sam", "moderator"),
            "ann": served.bearer("ann", "analyst")}


@pytest.fixture
def maria(served: Served) -> Staff:
    """A moderator (with the CSRF header for API writes)."""
    return served.account("maria", "moderator")


def _code(location: str) -> str:
    match = re.search(r"KS-[A-Z0-9]{4}-[A-Z0-9]{4}", location)
    assert match, location
    return match.group(0)


def test_anonymous_web_report_gives_a_receipt_and_a_status_page(
    client: httpx.Client, service: ReportService
) -> None:
    form = client.get("/report")
    assert form.status_code == 200
    html = form.text
    assert html.index('name="url"') < html.index('name="imminent_danger"') < html.index(
        'name="case_type"') < html.index('name="description"')  # URL first, then by priority
    assert 'type="file"' not in html
    response = client.post("/report", data={
        "csrf": page_csrf(client, "/report"), "url": "https://forum.test/t/9",
        "case_type": "bullying", "imminent_danger": "no",
        "description": "mean comments", "reporter_role": "anonymous", "for_child": "0",
    }, follow_redirects=False)
    assert response.status_code == 303
    code = _code(response.headers["location"])
    page = client.get(response.headers["location"])
    assert code in page.text and "Keep this code" in page.text
    assert "Someone will look at it soon" in page.text
    report = service.store.report_by_code(code)
    assert report is not None and report.reporter_ip is None and report.contact is None
    api = client.get(f"/api/v1/reports/{code}").json()
    assert api["state"] == "new" and api["decision"] is None


def test_reporter_may_opt_in_to_keep_their_ip(serve_config: ServeConfig, upstream: FakeUpstream,
                                              tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port) + "\n[reports]\nkeep_reporter_ip = true\n")
    client = served.client()
    assert 'name="keep_ip"' in client.get("/report").text
    response = client.post("/report", data={"csrf": page_csrf(client, "/report"),
                                            "url": "https://x.test/", "case_type": "other",
                                            "keep_ip": "1"}, follow_redirects=False)
    assert served.app.features is not None and served.app.features.reports is not None
    store = served.app.features.reports.store
    report = store.report_by_code(_code(response.headers["location"]))
    assert report is not None and report.reporter_ip == "127.0.0.1"
    # without the choice ticked, nothing about the reporter is kept
    response = client.post("/report", data={"csrf": page_csrf(client, "/report"),
                                            "url": "https://y.test/", "case_type": "other"},
                           follow_redirects=False)
    report = store.report_by_code(_code(response.headers["location"]))
    assert report is not None and report.reporter_ip is None


def test_child_form_shows_helplines_and_records_a_child_report(
    client: httpx.Client, service: ReportService
) -> None:
    page = client.get("/report?for=child&url=https://game.test/chat")
    assert "Tell us what happened" in page.text
    assert "Childline" in page.text  # GB helpline
    assert "https://game.test/chat" in page.text
    assert 'name="reporter_role"' not in page.text  # fewer questions for children
    response = client.post("/report", data={"csrf": page_csrf(client, "/report?for=child"),
                                            "url": "https://game.test/chat",
                                            "case_type": "grooming", "for_child": "1"},
                           follow_redirects=False)
    assert "for=child" in response.headers["location"]
    report = service.store.report_by_code(_code(response.headers["location"]))
    assert report is not None
    assert (report.source, report.reporter_role) == ("child_form", "child")


def test_block_page_link_prefills_an_over_blocking_report(client: httpx.Client) -> None:
    page = client.get("/report?type=over_blocking&url=https://school.test/maths")
    assert 'value="over_blocking" checked' in page.text


def test_image_upload_is_refused_with_an_explanation(
    client: httpx.Client, service: ReportService
) -> None:
    files = {"image": ("x.jpg", b"\xff\xd8\xff\xe0 not really", "image/jpeg")}
    response = client.post("/report", data={"url": "https://x.test/"}, files=files)
    assert response.status_code == 415
    assert "never accept pictures" in response.text and "web address" in response.text
    api = client.post("/api/v1/reports", content=b"\xff\xd8\xff",
                      headers={"content-type": "image/jpeg"})
    assert api.status_code == 415 and api.json()["field"] == "body"
    api = client.post("/api/v1/reports", json={"url": "https://x.test/", "image": "aGVsbG8="})
    assert api.status_code == 415
    assert api.json()["field"] == "image" and "URL" in api.json()["detail"]
    assert service.queue("test") == []  # nothing was recorded


def test_api_errors_name_the_field(client: httpx.Client) -> None:
    bad = client.post("/api/v1/reports", json={"url": "ftp://x", "case_type": "bullying"})
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    bad = client.post("/api/v1/reports", json={"url": "https://x.test", "case_type": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "case_type"
    bad = client.post("/api/v1/reports", json={"url": "https://x.test", "colour": "red"})
    assert bad.status_code == 422 and bad.json()["field"] == "colour"
    assert bad.json()["error"] == "validation" and "not permitted" in bad.json()["detail"]
    assert client.get("/api/v1/reports/KS-0000-0000").json()["field"] == "code"
    form = client.post("/report", data={"url": "mailto:x@y", "case_type": "other",
                                        "csrf": page_csrf(client, "/report")})
    assert form.status_code == 422 and "not a web address" in form.text


def test_server_side_draft_round_trip(client: httpx.Client) -> None:
    token = "a" * 32
    assert client.get(f"/api/v1/reports/drafts/{token}").status_code == 404
    saved = client.put(f"/api/v1/reports/drafts/{token}",
                       json={"url": "https://x.test/", "description": "half"})
    assert saved.json() == {"saved": True}
    assert client.get(f"/api/v1/reports/drafts/{token}").json()["description"] == "half"
    assert client.put("/api/v1/reports/drafts/short", json={}).json()["field"] == "token"


def test_staff_routes_need_a_role(served: Served, client: httpx.Client, maria: Staff) -> None:
    page = client.get("/cases", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get("/api/v1/cases").status_code == 401
    parent, _ = served.account("pat", "parent")
    assert parent.get("/api/v1/cases").status_code == 403
    moderator, _ = maria
    assert moderator.get("/api/v1/cases").status_code == 200


def test_decision_through_the_api_is_shown_to_the_reporter_and_appeal_goes_elsewhere(
    staff: dict[str, dict[str, str]],
    client: httpx.Client,
) -> None:
    code = client.post("/api/v1/reports", json={"url": "https://chat.test/u/1",
                                                "case_type": "bullying"}).json()["code"]
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    url = f"/api/v1/cases/{case['id']}"
    bad = client.post(f"{url}/decision", headers=staff["maria"],
                      json={"facts": "x", "ground": "bad", "action": "warning"})
    assert bad.status_code == 422 and bad.json()["field"] == "ground"
    ok = client.post(f"{url}/decision", headers=staff["maria"], json={
        "facts": "The posts insult a pupil by name.", "ground": "policy", "action": "warning"})
    assert ok.status_code == 201
    page = client.get(f"/report/status/{code}")
    assert "The posts insult a pupil by name." in page.text
    assert "The account holder was warned." in page.text
    assert "Ask for another look" in page.text
    appeal = client.post(f"/api/v1/reports/{code}/appeal", json={"reason": "it was a joke"})
    assert appeal.status_code == 201 and appeal.json()["appeal_open"]
    same = client.post(f"{url}/decision", headers=staff["maria"], json={
        "facts": "Still insulting.", "ground": "policy", "action": "warning"})
    assert same.status_code == 409 and same.json()["field"] == "reviewer"
    other = client.post(f"{url}/decision", headers=staff["sam"], json={
        "facts": "Still insulting.", "ground": "policy", "action": "warning"})
    assert other.status_code == 201
    detail = client.get(url, headers=staff["maria"]).json()
    assert [(d["reviewer"], d["on_appeal"]) for d in detail["decisions"]] == [
        ("maria", False), ("sam", True)]
    notice = client.get(f"{url}/notice", headers=staff["maria"]).json()
    assert notice["facts"] == "Still insulting." and "code" not in notice


@pytest.mark.parametrize("dsa, field, says", [
    ({"content_type": ["text", "hologram"]}, "dsa.content_type", "'hologram' is not one of"),
    ({"automated_decision": "mostly"}, "dsa.automated_decision", "one of fully, partially"),
    ({"account_type": "charity"}, "dsa.account_type", "private or business"),
    ({"content_language": "e1"}, "dsa.content_language", "two-letter ISO 639-1 code"),
    ({"territorial_scope": ["DE", "US"]}, "dsa.territorial_scope",
     "'US' is not an EU/EEA country code"),
])
def test_a_decision_with_a_bad_dsa_field_is_refused_naming_it_and_nothing_is_decided(
    staff: dict[str, dict[str, str]], client: httpx.Client,
    dsa: dict[str, object], field: str, says: str,
) -> None:
    client.post("/api/v1/reports", json={"url": "https://chat.test/u/2", "case_type": "bullying"})
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    url = f"/api/v1/cases/{case['id']}"
    bad = client.post(f"{url}/decision", headers=staff["maria"], json={
        "facts": "Insults.", "ground": "policy", "action": "warning", "dsa": dsa})
    assert bad.status_code == 422, bad.text
    assert bad.json()["field"] == field, bad.json()
    assert bad.json()["detail"].startswith(f"{field}: ") and says in bad.json()["detail"]
    assert client.get(url, headers=staff["maria"]).json()["decisions"] == []


def test_affected_account_appeal_recorded_by_staff(
    staff: dict[str, dict[str, str]], client: httpx.Client,
) -> None:
    client.post("/api/v1/reports", json={"url": "https://chat.test/u/2", "case_type": "other"})
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    url = f"/api/v1/cases/{case['id']}"
    assert client.get(f"{url}/notice", headers=staff["maria"]).status_code == 404
    early = client.post(f"{url}/appeal", headers=staff["maria"], json={"reason": "x"})
    assert early.status_code == 409
    client.post(f"{url}/decision", headers=staff["maria"], json={
        "facts": "Spam links.", "ground": "policy", "action": "account_restricted"})
    appeal = client.post(f"{url}/appeal", headers=staff["sam"], json={"reason": "I am not a bot"})
    assert appeal.status_code == 201 and appeal.json()["previous_reviewer"] == "maria"
    assert client.get(url, headers=staff["maria"]).json()["state"] == "triage"


def test_text_evidence_is_blurred_until_revealed_and_reveals_are_counted(
    staff: dict[str, dict[str, str]],
    client: httpx.Client,
) -> None:
    client.post("/api/v1/reports", json={"url": "https://chat.test/g", "case_type": "grooming",
                                         "description": "send me a photo, don't tell mum"})
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=staff["maria"]).json()
    assert detail["reports_detail"][0]["description"] is None
    assert detail["reports_detail"][0]["description_hidden"]
    page = client.get(f"/cases/{case['id']}", headers=staff["maria"])
    assert 'class="evidence blurred"' in page.text
    assert "don't tell mum" not in page.text and "don&#39;t tell mum" not in page.text
    revealed = client.post(f"/api/v1/cases/{case['id']}/reveal", headers=staff["maria"]).json()
    assert revealed["reveals_today"] == 1
    assert revealed["reports"][0]["description"] == "send me a photo, don't tell mum"
    html = client.post(f"/cases/{case['id']}/reveal", headers=staff["maria"])
    assert 'class="evidence"' in html.text and "blurred" not in html.text.split("<h2>Reports")[1]
    assert "don&#39;t tell mum" in html.text
    audit = [a["action"] for a in client.get(f"/api/v1/cases/{case['id']}",
                                             headers=staff["maria"]).json()["audit"]]
    assert audit.count("reveal") == 2


def test_escalation_and_export_are_for_analysts(
    staff: dict[str, dict[str, str]], client: httpx.Client) -> None:
    client.post("/api/v1/reports", json={"url": "https://img.test/1",
                                         "case_type": "abuse_material"})
    [case] = client.get("/api/v1/cases", headers=staff["ann"]).json()["cases"]
    url = f"/api/v1/cases/{case['id']}"
    assert client.post(f"{url}/escalate", headers=staff["maria"], json={}).status_code == 403
    bad = client.post(f"{url}/escalate", headers=staff["ann"], json={"hosting_ips": ["nope"]})
    assert bad.status_code == 422 and bad.json()["field"] == "hosting_ips"
    package = client.post(f"{url}/escalate", headers=staff["ann"],
                          json={"authority": "hotline", "hosting_ips": ["203.0.113.5"]})
    assert package.status_code == 201 and package.json()["incident"]["type"] == "abuse_material"
    assert package.json()["ip_addresses"][-1]["role"] == "reported"
    xml = client.get(f"{url}/export?format=xml", headers=staff["ann"])
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<incident>" in xml.text
    assert client.get(f"{url}/export?format=pdf", headers=staff["ann"]).json()["field"] == "format"
    page = client.get(f"/cases/{case['id']}", headers=staff["ann"])
    assert "metadata and hashes only" in page.text
    hold = client.post(f"{url}/legal-hold", headers=staff["ann"], json={"on": True})
    assert hold.json() == {"legal_hold": True}


def test_queue_page_lists_cases_by_priority(
    staff: dict[str, dict[str, str]], client: httpx.Client) -> None:
    client.post("/api/v1/reports", json={"url": "https://a.test/", "case_type": "other"})
    client.post("/api/v1/reports", json={"url": "https://b.test/", "case_type": "self_harm",
                                         "imminent_danger": True})
    page = client.get("/cases", headers=staff["maria"])
    assert page.text.index("https://b.test/") < page.text.index("https://a.test/")


def test_staff_html_forms_work_without_javascript(
    staff: dict[str, dict[str, str]], client: httpx.Client,
) -> None:
    client.post("/api/v1/reports", json={"url": "https://a.test/", "case_type": "privacy"})
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    base = f"/cases/{case['id']}"
    assert client.post(f"{base}/assign", headers=staff["maria"], data={"assignee": "maria"},
                       follow_redirects=False).status_code == 303
    client.post(f"{base}/note", headers=staff["maria"], data={"text": "asked platform"})
    bad = client.post(f"{base}/decision", headers=staff["maria"],
                      data={"facts": "", "ground": "policy", "action": "warning"})
    assert "facts" in bad.text
    client.post(f"{base}/decision", headers=staff["maria"], data={"facts": "removed by platform",
                                                       "ground": "policy",
                                                       "action": "content_removed"})
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=staff["maria"]).json()
    assert detail["state"] == "closed" and detail["assignee"] == "maria"
    assert detail["notes"][0]["text"] == "asked platform"


def test_a_case_is_assigned_only_to_an_account_that_may_work_cases(
    served: Served, staff: dict[str, dict[str, str]], client: httpx.Client,
) -> None:
    # once any name was taken: a case "assigned" to a typo sat taken with nobody on it
    served.account("dad", "parent")
    client.post("/api/v1/reports", json={"url": "https://a.test/", "case_type": "privacy"})
    [case] = client.get("/api/v1/cases", headers=staff["maria"]).json()["cases"]
    url = f"/api/v1/cases/{case['id']}"
    for name in ("mraia", "dad"):  # no account; an account without case work
        refused = client.post(f"{url}/assign", headers=staff["maria"], json={"assignee": name})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "assignee"
        assert repr(name) in refused.json()["detail"]
    assert client.get(url, headers=staff["maria"]).json()["assignee"] is None
    form = client.post(f"/cases/{case['id']}/assign", headers=staff["maria"],
                       data={"assignee": "nobody"}, follow_redirects=False)
    assert form.status_code == 303 and "error=" in form.headers["location"]
    assert client.get(url, headers=staff["maria"]).json()["assignee"] is None
    # an account's name in another case is that account, kept in its own spelling
    taken = client.post(f"{url}/assign", headers=staff["maria"], json={"assignee": "SAM"})
    assert taken.status_code == 200, taken.text
    assert client.get(url, headers=staff["maria"]).json()["assignee"] == "sam"


def test_transparency_dashboard_and_api(
    staff: dict[str, dict[str, str]], client: httpx.Client) -> None:
    client.post("/api/v1/reports", json={"url": "https://a.test/", "case_type": "other"})
    page = client.get("/cases/transparency?from=2026-11-01&to=2026-11-30", headers=staff["maria"])
    assert "<svg" in page.text and "1 reports received" in page.text
    csv = client.get("/api/v1/cases/transparency?from=2026-11-01&to=2026-11-30&format=csv",
                     headers=staff["maria"])
    assert "reports_by_source,api,1" in csv.text
    data = client.get("/api/v1/cases/transparency?from=2026-11-25&to=2026-11-25",
                      headers=staff["maria"]).json()
    assert data["reports_by_type"] == {"other": 1}
    bad = client.get("/api/v1/cases/transparency?from=May", headers=staff["maria"])
    assert (bad.status_code, bad.json()["field"]) == (422, "from")


def test_setup_builds_the_service_and_its_site_from_config(tmp_path: Path) -> None:
    from kidshield.clock import SystemClock
    from kidshield.config import parse_config
    from kidshield.reports.setup import build_service, build_site
    from kidshield.storage.db import Database

    config = parse_config('[server]\ncountry = "ie"\ndata_dir = "data"\n[reports]\n'
                          'keep_reporter_ip = true\nblock_list = "b.txt"\n', "k.toml",
                          base_dir=tmp_path)
    db = Database.open(tmp_path / "ks.db")
    try:
        service = build_service(config, db, SystemClock())
        assert service.lists is not None
        assert service.lists.block_list == tmp_path / "data" / "b.txt"
        from kidshield.web.ratelimit import LIMITS, RateLimiter

        site = build_site(service, config, RateLimiter(LIMITS, lambda: 0.0))
        assert site.service is service
        assert (site.country, site.keep_ip) == ("IE", True)
    finally:
        db.close()


def test_public_routes_are_rate_limited(client: httpx.Client) -> None:
    from kidshield.web.ratelimit import LIMITS

    body = {"url": "https://spam.test/", "case_type": "other"}
    allowed = LIMITS["report.submit"].events
    codes = [client.post("/api/v1/reports", json=body).status_code for _ in range(allowed + 1)]
    assert codes == [201] * allowed + [429]
    refused = client.post("/report", data={**body, "csrf": page_csrf(client, "/report")})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    statuses = {client.get("/api/v1/reports/KS-AAAA-AAAA").status_code
                for _ in range(LIMITS["report.receipt"].events + 1)}
    assert statuses == {404, 429}  # guessing receipt codes is slowed down
    # and appealing is looking a code up too: the same allowance
    assert client.post("/api/v1/reports/KS-AAAA-AAAA/appeal",
                       json={"reason": "x"}).status_code == 429
