"""Hotline rules on the service with a real SQLite file: appeals within six months, trusted
flaggers first, misuse warned then suspended, receipts and decisions e-mailed through a real
SMTP server on loopback, re-alerts while nobody takes a critical case, and statements of
reasons that validate against the Transparency Database schema."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from kidshield.clock import FixedClock
from kidshield.errors import Conflict, InputError
from kidshield.notify import EmailChannel, NtfyChannel, SmtpSettings
from kidshield.reports.alerts import OnCallAlerter
from kidshield.reports.dsa import DsaFields
from kidshield.reports.lists import OwnLists
from kidshield.reports.mailer import ReporterMail
from kidshield.reports.model import (
    CaseType,
    DecisionAction,
    Ground,
    ReporterRole,
    Source,
    StatementOfReasons,
)
from kidshield.reports.oncall import OnCallPolicy
from kidshield.reports.records import ReviewerConflict
from kidshield.reports.service import NewReport, ReportService, UnknownFlagger
from kidshield.reports.settings import ReportSettings
from kidshield.reports.signing import EvidenceSigner
from kidshield.reports.sources import MisusePolicy
from kidshield.reports.statements import SCHEMA, batches, statements_between
from kidshield.storage.reports_sql import SqlReportStore
from tests.reports.fakes import FakeHttpReceiver, FakeSmtp

SETTINGS = ReportSettings(organisation="Test Hotline", country="DE",
                          site_url="https://hotline.example",
                          misuse=MisusePolicy(warn_after=2, suspend_after=3),
                          oncall=OnCallPolicy(realert_every=timedelta(minutes=15)))


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp()
    yield server
    server.close()


@pytest.fixture
def hotline(store: SqlReportStore, clock: FixedClock, signer: EvidenceSigner,
            smtp: FakeSmtp, lists: OwnLists) -> Iterator[ReportService]:
    mail = ReporterMail(SmtpSettings("127.0.0.1", smtp.port, "none", sender="k@hotline.test"),
                        "Test Hotline")
    yield ReportService(store, clock, lists, settings=SETTINGS, signer=signer, mail=mail)
    mail.close()


def _decide(service: ReportService, case_id: int | None, action: DecisionAction,
            ground: Ground = Ground.POLICY, **kwargs: object) -> None:
    assert case_id is not None
    service.decide(case_id, "maria", StatementOfReasons("checked", ground, action),
                   **kwargs)  # type: ignore[arg-type]


def test_appeal_window_is_six_months_and_enforced(hotline: ReportService,
                                                  clock: FixedClock) -> None:
    receipt = hotline.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://a.test/"))
    _decide(hotline, receipt.case_id, DecisionAction.CONTENT_REMOVED)
    status = hotline.status(receipt.code)
    assert status.appeal_deadline == clock.now() + timedelta(days=184)
    clock.advance(timedelta(days=185))
    assert not hotline.status(receipt.code).can_appeal
    with pytest.raises(Conflict, match="time to appeal this decision ended on 2026-11-01"):
        hotline.appeal(receipt.code, "too late?")


def test_receipt_and_decision_are_emailed_to_a_reporter_who_left_an_address(
    hotline: ReportService, smtp: FakeSmtp
) -> None:
    receipt = hotline.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://b.test/",
                                       contact="Parent@Example.org", good_faith=True))
    mail = smtp.wait("Parent@Example.org")
    assert receipt.code in str(mail["Subject"])
    assert f"https://hotline.example/report/status/{receipt.code}" in str(mail.get_payload())
    _decide(hotline, receipt.case_id, DecisionAction.CONTENT_REMOVED)
    mail = smtp.wait("Parent@Example.org")
    assert "decision" in str(mail["Subject"]).lower()
    body = str(mail.get_payload())
    assert "The content was removed." in body and "184 days" in body
    # a phone number is no address to write to
    hotline.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://c.test/",
                             contact="+44 7700 900123"))
    with pytest.raises(AssertionError):
        smtp.wait("+44 7700 900123", timeout=1)


def test_trusted_flaggers_come_first_and_unknown_keys_are_refused(
    hotline: ReportService,
) -> None:
    flagger, key = hotline.add_trusted_flagger("Hotline NL", "admin")
    plain = hotline.submit(NewReport(Source.API, CaseType.BULLYING, url="https://p.test/"))
    flagged = hotline.submit(NewReport(Source.API, CaseType.BULLYING, url="https://f.test/",
                                       flagger_key=key))
    cases = {c.id: c for c in hotline.queue("maria")}
    assert cases[flagged.case_id].priority > cases[plain.case_id].priority
    assert cases[flagged.case_id].trusted_flagger
    with pytest.raises(UnknownFlagger):
        hotline.submit(NewReport(Source.API, CaseType.BULLYING, url="https://g.test/",
                                 flagger_key="ksf_not-a-key"))
    _decide(hotline, flagged.case_id, DecisionAction.CONTENT_REMOVED)
    [decision] = hotline.store.decisions(flagged.case_id or 0)
    assert json.loads(decision.statement)["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert flagger.id is not None


def test_misuse_warns_then_suspends_and_holds_notices(hotline: ReportService,
                                                      smtp: FakeSmtp) -> None:
    who = "spam@example.org"
    for i in range(3):
        receipt = hotline.submit(NewReport(Source.WEB, CaseType.OTHER,
                                           url=f"https://fine{i}.test/", contact=who))
        _decide(hotline, receipt.case_id, DecisionAction.NO_ACTION, Ground.NO_VIOLATION,
                unfounded=True)
    [source] = hotline.store.sources()
    assert source.status == "suspended" and source.warned_at is not None
    subjects = [str(smtp.wait(who)["Subject"]) for _ in range(8)]  # 3 receipts, 3 decisions
    assert sum("about your reports" in s for s in subjects) == 2  # warned, then suspended
    held = hotline.submit(NewReport(Source.WEB, CaseType.OTHER, url="https://x.test/",
                                    contact=who))
    assert held.case_id is None and held.held_until is not None
    assert hotline.status(held.code).held_until == held.held_until
    assert all(c.url != "https://x.test/" for c in hotline.queue("maria"))
    # a decision can only call a notice unfounded when nothing was wrong
    other = hotline.submit(NewReport(Source.WEB, CaseType.OTHER, url="https://y.test/"))
    with pytest.raises(InputError, match="unfounded"):
        _decide(hotline, other.case_id, DecisionAction.CONTENT_REMOVED, unfounded=True)
    hotline.lift_suspension(source.id or 0, "admin")
    again = hotline.submit(NewReport(Source.WEB, CaseType.OTHER, url="https://z.test/",
                                     contact=who))
    assert again.case_id is not None


def test_critical_cases_are_realerted_while_nobody_takes_them(
    store: SqlReportStore, clock: FixedClock,
) -> None:
    http = FakeHttpReceiver()
    alerter = OnCallAlerter(store, clock, [NtfyChannel(f"{http.url}/t")], SETTINGS.oncall,
                            SETTINGS.link)
    service = ReportService(store, clock, settings=SETTINGS, alerter=alerter)
    try:
        receipt = service.submit(NewReport(Source.CHILD_FORM, CaseType.ABUSE_MATERIAL,
                                           url="https://img.test/1",
                                           reporter_role=ReporterRole.CHILD))
        assert "New" in http.wait("/t").headers["Title"]
        assert service.alert_sweep() == 0  # just alerted
        clock.advance(timedelta(minutes=16))
        assert service.alert_sweep() == 1
        assert "Still unassigned" in http.wait("/t").headers["Title"]
        service.assign(receipt.case_id or 0, "maria", "maria")
        clock.advance(timedelta(minutes=16))
        assert service.alert_sweep() == 0  # taken: no more re-alerts ...
        clock.advance(timedelta(hours=24))
        assert service.alert_sweep() == 1  # ... until the 24 h target passes
        assert "OVERDUE" in http.wait("/t").headers["Title"]
        alerter.close()
        reasons = [a.reason for a in store.alerts(receipt.case_id or 0)]
        assert reasons == ["new", "realert", "overdue"]
    finally:
        http.close()


def test_a_failing_channel_is_recorded_and_the_others_still_get_the_alert(
    store: SqlReportStore, clock: FixedClock,
) -> None:
    good, bad = FakeHttpReceiver(), FakeHttpReceiver(status=500)
    alerter = OnCallAlerter(store, clock, [NtfyChannel(f"{bad.url}/t"),
                                           NtfyChannel(f"{good.url}/t")],
                            SETTINGS.oncall, SETTINGS.link)
    try:
        service = ReportService(store, clock, settings=SETTINGS, alerter=alerter)
        receipt = service.submit(NewReport(Source.WEB, CaseType.GROOMING, account="x",
                                           imminent_danger=True))
        good.wait("/t")
        alerter.close()
        alerts = store.alerts(receipt.case_id or 0)
        assert [(a.ok, "HTTP 500" in a.error) for a in alerts] == [(False, True), (True, False)]
    finally:
        good.close()
        bad.close()


def test_a_receiver_that_hangs_does_not_hold_back_the_other_channels(
    store: SqlReportStore, clock: FixedClock, smtp: FakeSmtp,
) -> None:
    slow = FakeHttpReceiver(delay=3.0)
    email = EmailChannel(SmtpSettings("127.0.0.1", smtp.port, "none", sender="k@x.org"),
                         "oncall@x.org")
    alerter = OnCallAlerter(store, clock, [NtfyChannel(f"{slow.url}/t"), email],
                            SETTINGS.oncall, SETTINGS.link)
    try:
        service = ReportService(store, clock, settings=SETTINGS, alerter=alerter)
        started = time.monotonic()
        service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL, url="https://i.test/"))
        smtp.wait("oncall@x.org", timeout=2)
        assert time.monotonic() - started < 2
    finally:
        alerter.close()
        slow.close()


def test_statements_of_reasons_validate_against_the_transparency_database_schema(
    hotline: ReportService,
) -> None:
    schema = json.loads(Path(SCHEMA).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    a = hotline.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://a.test/",
                                 contact="p@example.org"))
    _decide(hotline, a.case_id, DecisionAction.CONTENT_REMOVED, fields=DsaFields(
        territorial_scope=("DE", "AT"), content_type=("text", "image"),
        content_language="de", terms_clause="Community rules 4.2: no bullying"))
    b = hotline.submit(NewReport(Source.HASH_MATCH, CaseType.ABUSE_MATERIAL,
                                 url="https://img.test/2", file_hash="ab" * 32))
    hotline.escalate(b.case_id or 0, "ann", authority="BKA")
    _decide(hotline, b.case_id, DecisionAction.BLOCK_LISTED, Ground.ILLEGAL)
    c = hotline.submit(NewReport(Source.WEB, CaseType.OTHER, url="https://c.test/"))
    _decide(hotline, c.case_id, DecisionAction.NO_ACTION, Ground.NO_VIOLATION)  # no restriction
    start = hotline.clock.now() - timedelta(days=1)
    statements = statements_between(hotline.store, start, start + timedelta(days=2))
    assert len(statements) == 2
    [body] = batches(statements)
    jsonschema.Draft202012Validator(schema).validate(body)
    first, second = statements
    assert first["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert first["territorial_scope"] == ["AT", "DE"] and first["content_language"] == "DE"
    assert first["incompatible_content_ground"] == "Community rules 4.2: no bullying"
    assert first["source_type"] == "SOURCE_ARTICLE_16" and first["automated_detection"] == "No"
    assert second["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert "2011/93/EU" in second["illegal_content_legal_ground"]
    assert second["category_specification"] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]
    assert second["source_type"] == "SOURCE_VOLUNTARY" and second["automated_detection"] == "Yes"
    assert second["territorial_scope"] == ["DE"]  # the server's country by default
    # a wrong value is caught by the schema
    broken = {"statements": [{**first, "category": "STATEMENT_CATEGORY_SPAM"}]}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken))


def test_signing_off_takes_a_second_reviewer(hotline: ReportService) -> None:
    receipt = hotline.submit(NewReport(Source.CHILD_FORM, CaseType.GROOMING, account="x",
                                       imminent_danger=True, reporter_role=ReporterRole.CHILD))
    case_id = receipt.case_id or 0
    with pytest.raises(Conflict, match="escalate the case first"):
        _decide(hotline, case_id, DecisionAction.ESCALATED, Ground.ILLEGAL)
    _decide(hotline, case_id, DecisionAction.NO_ACTION, Ground.ILLEGAL)
    with pytest.raises(Conflict, match="waiting for a second reviewer"):
        _decide(hotline, case_id, DecisionAction.WARNING)
    with pytest.raises(ReviewerConflict):
        hotline.sign_off(case_id, "maria")
    hotline.sign_off(case_id, "sam")
    case = hotline.store.case(case_id)
    assert case is not None and case.state == "closed"
    [decision] = hotline.store.decisions(case_id)
    assert (decision.status, decision.signed_off_by) == ("final", "sam")
