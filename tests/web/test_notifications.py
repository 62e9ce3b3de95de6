"""Notifications without hand work (issue 16 item 6): ntfy and e-mail set up from Settings with
a test that says what happened on each channel, a child's request reaching the parent's phone
with a link into the dashboard, the navigation's badge for waiting requests, and a weekly
summary per child as a page and an e-mail, sent once when due (the clock is injected).
Every receiver is a fake on loopback (tests/e2e/receivers.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from kidshield.clock import FixedClock
from tests.e2e.harness import Served
from tests.e2e.receivers import FakeHttpReceiver, FakeSmtp, http_receiver, smtp_server


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def ntfy() -> Iterator[FakeHttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with smtp_server() as server:
        yield server


def settings_form(client: httpx.Client, ntfy: FakeHttpReceiver, smtp: FakeSmtp,
                  **changes: str) -> dict[str, str]:
    page = client.get("/settings").text
    form = {"csrf": _csrf(page), "ntfy_enabled": "on", "ntfy_server": ntfy.url,
            "ntfy_topic": "kidshield-test-topic", "email_enabled": "on",
            "smtp_to": "alex@example.com, sam@example.com", "smtp_from": "kidshield@home.test",
            "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port), "smtp_security": "none",
            "on_requests": "on", "on_weekly": "on", "weekly_day": "sunday",
            "weekly_hour": "18"}
    form.update(changes)
    return form


def test_settings_save_and_test_reaches_ntfy_and_email(
        served: Served, parent: tuple[httpx.Client, dict[str, str]],
        ntfy: FakeHttpReceiver, smtp: FakeSmtp) -> None:
    client, _headers = parent
    r = client.post("/settings/notifications",
                    data={**settings_form(client, ntfy, smtp), "test": "1"})
    assert r.status_code == 200
    assert re.search(r"ntfy <bdi>[^<]*kidshield-test-topic</bdi>: delivered", r.text)
    assert "E-mail <bdi>alex@example.com</bdi>: delivered" in r.text
    published = ntfy.wait()[0]
    assert published.path == "/kidshield-test-topic"
    assert published.headers["Title"] == "kidshield: test notification"
    assert published.headers["Click"].startswith(served.url)
    mail = smtp.wait()[0]
    assert mail["Subject"] == "kidshield: test notification"
    assert "Notifications from kidshield work" in mail.get_content()
    smtp.wait(2)  # one mail to each address
    assert sorted(to for _sender, (to,) in smtp.envelopes) == [
        "alex@example.com", "sam@example.com"]
    # stored: the page shows it again, without the password
    settings = client.get("/api/v1/notifications").json()
    assert settings["ntfy"]["topic"] == "kidshield-test-topic"
    assert settings["email"]["to"] == ["alex@example.com", "sam@example.com"]


def test_a_failing_channel_is_named_with_its_error(
        parent: tuple[httpx.Client, dict[str, str]], ntfy: FakeHttpReceiver,
        smtp: FakeSmtp) -> None:
    client, _headers = parent
    ntfy.status = 403
    r = client.post("/settings/notifications",
                    data={**settings_form(client, ntfy, smtp), "test": "1"})
    assert re.search(r"ntfy <bdi>[^<]*</bdi>: not delivered \([^)]*HTTP 403", r.text)
    assert "E-mail <bdi>alex@example.com</bdi>: delivered" in r.text


def test_a_bad_address_keeps_what_was_typed_and_points_at_the_field(
        parent: tuple[httpx.Client, dict[str, str]], ntfy: FakeHttpReceiver,
        smtp: FakeSmtp) -> None:
    client, _headers = parent
    r = client.post("/settings/notifications",
                    data=settings_form(client, ntfy, smtp, smtp_to="alex at example"))
    assert r.status_code == 422
    assert "Saved." not in r.text
    assert 'id="smtp_to" name="smtp_to" value="alex at example"' in r.text
    assert 'aria-invalid="true" aria-describedby="smtp_to-error"' in r.text
    assert 'href="#smtp_to"' in r.text  # the summary links to the field
    assert 'value="kidshield-test-topic"' in r.text  # the other fields are kept too
    assert client.get("/api/v1/notifications").json()["email"]["enabled"] is False


def test_a_childs_request_reaches_the_phone_with_a_link_to_the_dashboard(
        served: Served, parent: tuple[httpx.Client, dict[str, str]],
        ntfy: FakeHttpReceiver, smtp: FakeSmtp) -> None:
    client, _headers = parent
    client.post("/settings/notifications", data=settings_form(client, ntfy, smtp))
    child = served.client()
    page = child.get("/", headers={"host": "casino.example"})
    child.post("/.well-known/kidshield/ask", headers={"host": "evil.example"},
               data={"csrf": _csrf(page.text), "name": "casino.example",
                     "message": "for maths"})
    notice = ntfy.wait()[0]
    assert notice.headers["Title"] == "Mia asks for casino.example"
    assert "for maths" in notice.body.decode()
    # the link is the dashboard's own address, never the Host header the child's page sent
    assert notice.headers["Click"] == served.url + "/requests"
    assert smtp.wait()[0]["Subject"] == "Mia asks for casino.example"
    # the navigation's badge counts it
    nav = client.get("/").text
    assert re.search(r'href="/requests"[^>]*>Requests <span class="badge"[^>]*>1</span>', nav)


def test_the_weekly_summary_api_answers_with_the_week_as_iso_days(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    # GET /api/v1/summary/{id} answered 500 ("date is not JSON serializable") for every
    # child: found on the README walk (session 14); nothing had called it
    client, _headers = parent
    for name in ("casino.example", "bet.example", "casino.example", "example.org"):
        served.addresses(name)
    served.pump()
    answer = client.get("/api/v1/summary/mia")  # checked against the OpenAPI document too
    assert answer.status_code == 200, answer.text
    week = answer.json()
    today = served.clock.now().astimezone(ZoneInfo("Europe/London")).date()  # the household's
    assert week["end"] == today.isoformat()
    assert week["start"] == (today - timedelta(days=6)).isoformat()
    assert [d["day"] for d in week["days"]][-1] == today.isoformat()
    assert (week["queries"], week["blocks"]) == (4, 3)
    earlier = client.get("/api/v1/summary/mia", params={"end": "2026-01-04"})
    assert earlier.status_code == 200 and earlier.json()["start"] == "2025-12-29"


def test_a_week_ending_near_year_one_is_refused_not_a_500(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    # ?end=0001-01-01 (the API) and ?end=0001-01-07 (the page, whose "week before" link went
    # back past year 1) were 500s: found on the family walk (session 16)
    client, _headers = parent
    for end in ("0001-01-01", "0001-01-07", "1969-12-31"):
        answer = client.get("/api/v1/summary/mia", params={"end": end})
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "end"
        assert "1970-01-07" in answer.json()["detail"]
        for page in ("/summary/mia", "/summary"):
            html = client.get(page, params={"end": end})
            assert html.status_code == 422, (page, end, html.status_code)
            assert "1970-01-07" in html.text
    first = client.get("/summary/mia", params={"end": "1970-01-07"})
    assert first.status_code == 200
    assert "Week before" not in first.text and "Week after" in first.text
    assert client.get("/api/v1/summary/mia", params={"end": "1970-01-07"}).json()["start"] \
        == "1970-01-01"


def test_weekly_summary_page_and_email_sent_once_when_due(
        served: Served, parent: tuple[httpx.Client, dict[str, str]],
        ntfy: FakeHttpReceiver, smtp: FakeSmtp) -> None:
    client, _headers = parent
    client.post("/settings/notifications", data=settings_form(client, ntfy, smtp))
    for name in ("casino.example", "bet.example", "casino.example", "example.org"):
        served.addresses(name)
    served.pump()
    page = client.get("/summary/mia").text
    assert "Mia" in page and "4 sites looked up, 3 blocked." in page
    assert "casino.example</bdi> (2)" in page
    clock = served.clock
    assert isinstance(clock, FixedClock)
    notifier = served.web.notifier
    assert served.run(notifier.send_weekly_due()) == 0  # Wednesday: not due
    clock.advance(timedelta(days=4, hours=3, minutes=5))  # Sunday 18:05 in London
    sent = served.run(notifier.send_weekly_due())
    assert sent == 4  # Mia, Leo, Kai and Sam
    mails = smtp.wait(8)  # to both parents
    mia = next(m for m in mails if m["Subject"] == "kidshield: Mia's week")
    html = mia.get_body(("html",)).get_content()
    assert "4 sites looked up, 3 blocked" in html and "casino.example (2)" in html
    assert served.url + "/summary/mia?end=2026-11-29" in mia.get_body(("plain",)).get_content()
    assert served.run(notifier.send_weekly_due()) == 0  # sent once, also after a restart
    assert any(r.headers["Title"] == "kidshield: Mia's week" for r in ntfy.got)


def test_an_ntfy_title_in_another_script_arrives_intact(ntfy: FakeHttpReceiver) -> None:
    from email.header import decode_header, make_header

    from kidshield.notify import Message, NtfyChannel

    NtfyChannel(ntfy.url + "/t").send(Message("Zoë asks for tiktok.com · محمد", "body"))
    title = ntfy.wait()[0].headers["Title"]
    assert title.isascii()  # HTTP headers are ASCII: RFC 2047, which ntfy decodes
    assert str(make_header(decode_header(title))) == "Zoë asks for tiktok.com · محمد"
