"""The child's report status page in the six languages, on the served app: the case state, the
decision's ground and action and how to ask for another look, in words for children and in
the page's language; the adult page keeps the statement of reasons as the service words it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from babel.dates import format_date

from kidshield.reports import child_status
from kidshield.reports.model import (
    CaseState,
    DecisionAction,
    Ground,
    StatementOfReasons,
)
from kidshield.web.i18n import available, translator
from tests.e2e.harness import Served, page_csrf

LANGS = [lang for lang in available("child") if lang != "en"]


def _code(location: str) -> str:
    match = re.search(r"KS-[A-Z0-9]{4}-[A-Z0-9]{4}", location)
    assert match, location
    return match.group(0)


def _child_report(client: httpx.Client) -> str:
    sent = client.post("/report", data={"csrf": page_csrf(client, "/report?for=child"),
                                        "url": "https://game.test/chat/7",
                                        "case_type": "bullying", "for_child": "1"},
                       follow_redirects=False)
    assert sent.status_code == 303 and "for=child" in sent.headers["location"]
    return _code(sent.headers["location"])


def test_every_state_ground_and_action_has_a_childs_wording() -> None:
    """A new state, ground or action must get a child's sentence (and its translations)."""
    assert set(child_status.STATE) == set(CaseState)
    assert set(child_status.GROUND) == set(Ground)
    assert set(child_status.ACTION) == set(DecisionAction)


def test_the_services_appeal_sentence_becomes_the_childs_and_an_own_text_stays() -> None:
    default = StatementOfReasons("facts", Ground.POLICY, DecisionAction.WARNING,
                                 appeal_days=200).to_dict()
    assert not default["appeal_custom"] and default["appeal_days"] == 200
    ru = child_status.appeal_words(translator("ru"), default)
    assert ru.startswith("Если ты думаешь, что мы ошиблись") and "200 дн" in ru
    assert "disagree" not in ru
    own = "Write to appeals@school.example within two weeks."
    statement = StatementOfReasons("facts", Ground.POLICY, DecisionAction.WARNING, own)
    assert statement.to_dict()["appeal_custom"]
    assert child_status.appeal_words(translator("ru"), statement.to_dict()) == own


def test_an_own_appeal_text_worded_like_the_services_is_shown_as_written(
        served: Served, client: httpx.Client) -> None:
    # the decision says whether its appeal text is the organisation's own: no guessing from
    # its English wording (an own text in the service's words lost its address)
    code = _child_report(client)
    own = ("If you disagree, you can appeal within 30 days by writing to "
           "appeals@school.example.")
    moderator = served.bearer("maria", "moderator")
    [case] = client.get("/api/v1/cases", headers=moderator).json()["cases"]
    decided = client.post(f"/api/v1/cases/{case['id']}/decision", headers=moderator, json={
        "facts": "The posts insult a pupil by name.", "ground": "policy", "action": "warning",
        "appeal": own})
    assert decided.status_code == 201, decided.text
    decision = client.get(f"/api/v1/reports/{code}").json()["decision"]
    assert (decision["how_to_appeal"], decision["appeal_custom"]) == (own, True)
    page = client.get(f"/report/status/{code}", params={"for": "child", "lang": "fr"}).text
    assert "appeals@school.example." in page
    assert translator("fr")("If you think we got it wrong, you can ask us to look again. "
                            "Someone else will check it.") not in page


def test_child_status_page_in_each_language(served: Served, client: httpx.Client) -> None:
    code = _child_report(client)
    for lang in LANGS:
        t = translator(lang)
        page = client.get(f"/report/status/{code}", params={"for": "child", "lang": lang})
        assert page.status_code == 200
        assert f'<html lang="{lang}" dir="{t.dir}">' in page.text
        assert t(child_status.STATE[CaseState.NEW]) in page.text
        assert t("Your report {code}", code=code) in page.text
        assert "Someone will look at it soon" not in page.text  # the adult's English
        assert "Received " not in page.text and "We got it on" not in page.text

    moderator = served.bearer("maria", "moderator")
    [case] = client.get("/api/v1/cases", headers=moderator).json()["cases"]
    decided = client.post(f"/api/v1/cases/{case['id']}/decision", headers=moderator, json={
        "facts": "The posts insult a pupil by name.", "ground": "policy", "action": "warning"})
    assert decided.status_code == 201, decided.text
    for lang in LANGS:
        t = translator(lang)
        page = client.get(f"/report/status/{code}", params={"for": "child", "lang": lang}).text
        assert t(child_status.STATE[CaseState.CLOSED]) in page
        assert t(child_status.GROUND[Ground.POLICY]) in page
        assert t(child_status.ACTION[DecisionAction.WARNING]) in page
        assert t("If you think we got it wrong, you can ask us to look again. Someone else "
                 "will check it.") in page
        deadline = client.get(f"/api/v1/reports/{code}").json()["appeal_deadline"]
        day = format_date(datetime.fromisoformat(deadline).date(), format="long", locale=lang)
        assert t("You can ask until {date}.", date=day) in page
        assert "The posts insult a pupil by name." in page  # the reviewer's words, as written
        for english in ("The account holder was warned.", "If you disagree", "Our decision"):
            assert english not in page, (lang, english)
    # the adult page keeps the statement of reasons as the service words it
    adult = client.get(f"/report/status/{code}").text
    assert "The account holder was warned." in adult and "If you disagree" in adult
    assert "You can appeal until" in adult

    # asking for another look keeps the child's page and language
    chinese = {"accept-language": "zh-CN,zh;q=0.9"}
    token = page_csrf(client, f"/report/status/{code}?for=child")
    appeal = client.post(f"/report/status/{code}/appeal", headers=chinese,
                         data={"reason": "我没有骂人", "for_child": "1", "csrf": token},
                         follow_redirects=False)
    assert appeal.status_code == 303
    assert appeal.headers["location"] == f"/report/status/{code}?for=child"
    after = client.get(appeal.headers["location"], headers=chinese).text
    assert '<html lang="zh"' in after and "另一个人正在重新查看你的举报。" in after
    again = client.post(f"/report/status/{code}/appeal",
                        data={"for_child": "1", "csrf": token},
                        headers={"accept-language": "fr"}, follow_redirects=False)
    assert again.status_code == 409
    assert "Tu l’as peut-être déjà demandé" in again.text


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_child_looking_up_a_code_stays_on_the_childs_page(client: httpx.Client,
                                                          lang: str) -> None:
    t = translator(lang)
    browser = {"accept-language": lang}
    form = client.get("/report/status", params={"for": "child"}, headers=browser).text
    assert '<input type="hidden" name="for" value="child">' in form
    assert t("Check your report") in form
    missing = client.get("/report/status", params={"for": "child", "code": "KS-2222-3333"},
                         headers=browser)
    assert missing.status_code == 404
    assert t("We can't find a report with that code. Check the code and try again.") in \
        missing.text
    assert "no report with that receipt code" not in missing.text


def test_the_day_a_report_arrived_is_written_the_languages_way() -> None:
    class Status:
        state = CaseState.TRIAGE
        state_text = "Someone is looking at your report."
        decision = None
        received_at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)

    assert child_status.words(translator("fr"), Status()).received == \
        "Nous l’avons reçu le 6 décembre 2026."
    zh = child_status.words(translator("zh"), Status())
    assert zh.received == "我们在2026年12月6日收到了它。"
    assert child_status.words(translator("en"), Status()).state == \
        "Someone is reading your report now."
    # Russian dates end in "г." (год): no second full stop after them
    assert child_status.words(translator("ru"), Status()).received == \
        "Мы получили его 6 декабря 2026\u202fг."
