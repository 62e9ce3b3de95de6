"""What a hotline analyst's walk found (docs/testing.md, "A hotline analyst's walk"), on the
application as ``kidshield serve`` composes it: each check failed on the code before its fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.reports.retention import RetentionSchedule
from tests.e2e.fixtures import ServeConfig, served_household
from tests.e2e.harness import Served, page_csrf
from tests.e2e.household import AFTERNOON, config_text
from tests.e2e.upstream import FakeUpstream

RETENTION_1_DAY = ("\n[reports]\nreports_retention_days = 1\ncases_retention_days = 1\n"
                   "audit_retention_days = 1\n")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_household(tmp_path_factory.mktemp("hotline")) as served:
        served.account("Ana", "analyst")
        served.account("mo", "moderator")
        served.account("pat", "parent")
        yield served


@pytest.fixture(scope="module")
def analyst(live: Served) -> httpx.Client:
    return live.client(headers=live.bearer_for("Ana", ["reports"]))


def _report(live: Served, body: dict[str, object]) -> httpx.Response:
    return live.client().post("/api/v1/reports", json=body)


def _case_of(analyst: httpx.Client, url: str) -> dict[str, object]:
    cases = analyst.get("/api/v1/cases").json()["cases"]
    return next(c for c in cases if c["url"] == url)


@pytest.mark.parametrize("url, stored", [
    ("http://[2001:db8::1]/abuse", "http://[2001:db8::1]/abuse"),
    ("https://[2001:DB8::2]:443/gallery", "https://[2001:db8::2]/gallery"),
    ("http://[2001:db8::3]:8080/a", "http://[2001:db8::3]:8080/a"),
])
def test_a_report_of_abuse_material_at_an_ipv6_address_gets_through(
        live: Served, analyst: httpx.Client, url: str, stored: str) -> None:
    """Material hosted at an IPv6 address: the report was a 500 (without a port) or a 422
    saying the address was not a web address (with one); now the case names it."""
    answer = _report(live, {"url": url, "case_type": "abuse_material"})
    assert answer.status_code == 201, answer.text
    case = _case_of(analyst, stored)
    assert case["type"] == "abuse_material"
    again = _report(live, {"url": url, "case_type": "abuse_material"})
    assert again.status_code == 201, again.text
    assert _case_of(analyst, stored)["reports"] == 2  # the same thing joins the same case


@pytest.mark.parametrize("url", ["http://ex ample.com/", "https://\x07.example/"])
def test_a_host_with_a_space_or_control_character_is_422_naming_url(
        live: Served, url: str) -> None:
    answer = _report(live, {"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "url"


def test_a_nul_in_a_report_is_refused_at_the_door(live: Served) -> None:
    # a NUL in any text but a message to assess is a 400 before the report is read (the
    # family walk: PostgreSQL refuses NUL in text)
    answer = _report(live, {"url": "https://\x00.example/"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "body"


def _new_case(live: Served, analyst: httpx.Client, url: str) -> int:
    assert _report(live, {"url": url, "case_type": "abuse_material"}).status_code == 201
    return int(str(_case_of(analyst, url)["id"]))


@pytest.mark.parametrize("name", ["nobody-here", "pat"])
def test_a_case_is_given_only_to_an_account_that_works_cases(
        live: Served, analyst: httpx.Client, name: str) -> None:
    """A critical case "taken" by a name nobody has (or by a parent, who cannot open it) was
    never paged again; now 422 naming the assignee, and the case stays untaken."""
    case = _new_case(live, analyst, f"https://assign-{name}.example/")
    answer = analyst.post(f"/api/v1/cases/{case}/assign", json={"assignee": name})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "assignee"
    assert name in answer.json()["detail"]
    detail = analyst.get(f"/api/v1/cases/{case}").json()
    assert detail["assignee"] is None and detail["state"] == "new"


def test_a_case_is_given_to_a_staff_account_by_its_own_name(
        live: Served, analyst: httpx.Client) -> None:
    case = _new_case(live, analyst, "https://assign-ok.example/")
    for typed, stored in [("ana", "Ana"), ("mo", "mo")]:
        answer = analyst.post(f"/api/v1/cases/{case}/assign", json={"assignee": typed})
        assert answer.status_code == 200, answer.text
        assert analyst.get(f"/api/v1/cases/{case}").json()["assignee"] == stored


def test_the_case_page_refuses_an_unknown_assignee(live: Served, analyst: httpx.Client) -> None:
    case = _new_case(live, analyst, "https://assign-page.example/")
    browser, _headers = live.account("page analyst", "analyst")
    csrf = page_csrf(browser, f"/cases/{case}")
    answer = browser.post(f"/cases/{case}/assign", data={"csrf": csrf, "assignee": "ghost"})
    # the page's forms come back to the case with the error above it (post, redirect, get)
    assert answer.url.path == f"/cases/{case}" and "error=" in str(answer.url)
    assert "may work cases" in answer.text and "ghost" in answer.text, str(answer.url)
    assert analyst.get(f"/api/v1/cases/{case}").json()["assignee"] is None


@pytest.mark.parametrize("field, value", [
    ("notice_to_host_at", "2099-01-01T00:00:00Z"),     # the walk's server was in 2026
    ("content_removed_at", "2026-11-26T00:00:00Z"),    # the day after the clock's
    ("forwarded_at", "2026-11-25T15:30:00+00:00"),
    ("incident_at", "9999-12-31T23:59:59-14:00"),      # no UTC time at all
])
def test_a_referral_time_in_the_future_is_422(
        live: Served, analyst: httpx.Client, field: str, value: str) -> None:
    """A package for the police carried a notice "sent" in 2099."""
    case = _new_case(live, analyst, f"https://future-{field}.example/")
    answer = analyst.put(f"/api/v1/cases/{case}/referral", json={field: value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert analyst.get(f"/api/v1/cases/{case}/referral").json()[field] is None


@pytest.mark.parametrize("value", [5, 1.5e9])
def test_a_referral_time_given_as_a_number_is_422(
        live: Served, analyst: httpx.Client, value: float) -> None:
    """``"forwarded_at": 5`` was read as seconds since 1970: 1970-01-01T00:00:05 in the
    package."""
    case = _new_case(live, analyst, f"https://number-{value}.example/")
    answer = analyst.put(f"/api/v1/cases/{case}/referral", json={"forwarded_at": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "forwarded_at"


def test_an_escalation_with_a_future_referral_time_preserves_nothing(
        live: Served, analyst: httpx.Client) -> None:
    case = _new_case(live, analyst, "https://future-escalation.example/")
    before = len(analyst.get(f"/api/v1/cases/{case}").json()["evidence"])
    answer = analyst.post(f"/api/v1/cases/{case}/escalate", json={
        "authority": "national hotline",
        "referral": {"content_removed_at": "2030-01-01T00:00:00Z"}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "content_removed_at"
    detail = analyst.get(f"/api/v1/cases/{case}").json()
    assert detail["escalated_at"] is None and len(detail["evidence"]) == before


def test_past_referral_times_are_kept(live: Served, analyst: httpx.Client) -> None:
    case = _new_case(live, analyst, "https://past.example/")
    answer = analyst.put(f"/api/v1/cases/{case}/referral", json={
        "incident_at": "2026-11-20T08:00:00Z", "notice_to_host_at": "2026-11-25T14:00:00Z"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["notice_to_host_at"] == "2026-11-25T14:00:00Z"


def test_the_case_page_forms_work_as_a_browser_sends_them(
        live: Served, analyst: httpx.Client) -> None:
    """Every form of the case page carries its CSRF token as a field; assign, move, note and
    the referral assessment refused it ("csrf: unknown field") and stored nothing."""
    case = _new_case(live, analyst, "https://forms.example/")
    browser, _headers = live.account("form analyst", "analyst")
    for action, fields in [("assign", {"assignee": "form analyst"}),
                           ("state", {"state": "action"}),
                           ("note", {"text": "checked from a phone"}),
                           ("referral", {"hosting_country": "nl", "viewed_by_staff": "0"})]:
        csrf = page_csrf(browser, f"/cases/{case}")
        answer = browser.post(f"/cases/{case}/{action}", data={"csrf": csrf, **fields},
                              follow_redirects=False)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"/cases/{case}", (action, answer.headers)
    detail = analyst.get(f"/api/v1/cases/{case}").json()
    assert detail["assignee"] == "form analyst" and detail["state"] == "action"
    assert [n["text"] for n in detail["notes"]] == ["checked from a phone"]
    assert detail["referral"]["hosting_country"] == "NL"


def test_a_reporters_address_digest_and_the_reveal_counts_expire(
        serve_config: ServeConfig, upstream: FakeUpstream) -> None:
    """A reporter who gave an e-mail address is known to misuse handling by its SHA-256; the
    row stayed for ever after retention deleted every report it counted (COP-17)."""
    clock = FixedClock(AFTERNOON)
    served = serve_config(config_text(upstream.port) + RETENTION_1_DAY, clock)
    served.account("Ana", "analyst")
    analyst = served.client(headers=served.bearer_for("Ana", ["reports"]))
    public = served.client()
    for url, contact in [("https://a.example/", "mum@example.org"),
                         ("https://b.example/", None)]:
        assert public.post("/api/v1/reports", json={
            "url": url, "case_type": "bullying", "contact": contact}).status_code == 201
        case = _case_of(analyst, url)
        assert analyst.post(f"/api/v1/cases/{case['id']}/decision", json={
            "facts": "not bullying", "ground": "no_violation",
            "action": "no_action"}).status_code == 201
    flagger = served.app.features.reports  # type: ignore[union-attr]
    assert flagger is not None
    flagger.add_trusted_flagger("Hotline partner", "test")

    def sources() -> list[tuple[str, bool]]:
        with served.app.db.engine.connect() as conn:  # type: ignore[union-attr]
            rows = conn.execute(sa.text("SELECT kind, contact_sha256 IS NOT NULL "
                                        "FROM report_sources ORDER BY id"))
            return [(str(kind), bool(has)) for kind, has in rows]

    assert sources() == [("notifier", True), ("trusted_flagger", False)]
    assert analyst.post(f"/api/v1/cases/{case['id']}/reveal").status_code == 200

    def exposure() -> int:
        with served.app.db.engine.connect() as conn:  # type: ignore[union-attr]
            return int(conn.execute(sa.text("SELECT count(*) FROM staff_exposure")).scalar_one())

    assert exposure() == 1
    clock.advance(timedelta(days=3))
    flagger.run_retention(RetentionSchedule.from_config(served.app.config))
    assert analyst.get(f"/api/v1/cases/{case['id']}").status_code == 404  # the cases went
    assert sources() == [("trusted_flagger", False)]
    assert exposure() == 0  # the reveals per analyst and day go with the audit trail


def test_a_reporters_address_is_stored_keyed_not_as_its_plain_sha256(live: Served) -> None:
    """Anyone with the database could test a known address against the stored SHA-256; now
    it is HMAC-SHA256 under a key kept beside the database (mode 0600), not in it."""
    import hashlib
    import stat

    from kidshield.reports.contactkey import load_contact_key
    from kidshield.reports.sources import keyed

    assert _report(live, {"url": "https://keyed-digest.example/", "case_type": "bullying",
                          "contact": "Reporter@Example.org"}).status_code == 201
    plain = hashlib.sha256(b"contact:reporter@example.org").hexdigest()
    config = live.app.config
    key_file = config.path(config.server.data_dir) / config.reports.contact_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with live.app.db.engine.connect() as conn:
        stored = {str(d) for (d,) in conn.execute(sa.text(
            "SELECT contact_sha256 FROM report_sources WHERE contact_sha256 IS NOT NULL"))}
    assert plain not in stored
    assert keyed(load_contact_key(key_file), plain) in stored


def test_times_typed_in_the_case_page_without_an_offset_are_utc_as_labelled(
        live: Served, analyst: httpx.Client) -> None:
    """The police form says "(UTC, e.g. 2026-05-01T14:30:00Z)"; an analyst on the emergency
    path who typed 2026-11-25T14:30 was sent back to add the offset."""
    case = _new_case(live, analyst, "https://utc-form.example/")
    browser, _headers = live.account("utc analyst", "analyst")
    for action, fields in [
            ("police", {"notified_at": "2026-11-25T14:30", "authority": "police",
                        "method": "phone"}),
            ("referral", {"incident_at": "2026-11-24T20:00", "viewed_by_staff": "0"})]:
        csrf = page_csrf(browser, f"/cases/{case}")
        answer = browser.post(f"/cases/{case}/{action}", data={"csrf": csrf, **fields},
                              follow_redirects=False)
        assert answer.headers["location"] == f"/cases/{case}", (action, answer.headers)
    detail = analyst.get(f"/api/v1/cases/{case}").json()
    assert detail["police_notified_at"].startswith("2026-11-25T14:30:00")
    assert detail["police_notified_at"].endswith("+00:00")
    assert detail["referral"]["incident_at"] in ("2026-11-24T20:00:00+00:00",
                                                 "2026-11-24T20:00:00Z")


@pytest.mark.parametrize("value", [{"x": 1}, [1], 5, None])
def test_a_draft_value_of_the_wrong_type_names_its_field_as_sent(
        live: Served, value: object) -> None:
    """It was named by pydantic's union members, ``url.str`` and ``url.bool``."""
    answer = live.client().put("/api/v1/reports/drafts/" + "d" * 32, json={"url": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "url"
    assert [f["field"] for f in answer.json().get("fields", [])] in ([], ["url"])


def test_two_escalations_at_once_have_two_package_ids(
        live: Served, analyst: httpx.Client) -> None:
    """The id was the case and the second: a case escalated twice in one second (the served
    clock stands still) preserved two different packages under one id."""
    case = _new_case(live, analyst, "https://twice.example/")
    ids = []
    for authority in ("national hotline", "hosting country's hotline"):
        answer = analyst.post(f"/api/v1/cases/{case}/escalate", json={"authority": authority})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["package_id"])
    assert ids[0] != ids[1], ids
