"""A referral-ready package: everything the analyst entered is in the JSON and XML exports,
both validate against their schemas, and bad assessment values are refused by field."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest
from lxml import etree

from kidshield.clock import FixedClock
from kidshield.errors import InputError
from kidshield.reports import escalation
from kidshield.reports.model import CaseType, ReporterRole, Source
from kidshield.reports.service import NewReport, ReportService
from kidshield.reports.settings import ReportSettings

FULL = {
    "incident_at": "2026-04-30T21:15:00+00:00",
    "content_assessment": "baseline",
    "victim_age_group": "pre_pubescent",
    "victim_gender": "female",
    "industry_classification": "A2",
    "viewed_by_staff": True,
    "publicly_available": True,
    "hosting_ips": ["198.51.100.4", "2001:db8::4"],
    "hosting_country": "us",
    "hosting_provider": "Example Hosting Inc.",
    "notice_to_host_at": "2026-05-01T13:00:00+00:00",
    "content_removed_at": "2026-05-01T16:30:00+00:00",
    "forwarded_to": "NCMEC CyberTipline",
    "forwarded_country": "US",
    "forwarded_at": "2026-05-01T12:45:00+00:00",
    "authority_reference": "HL-2026-0042",
    "content_language": "en",
    "notes": "Series known to the hotline; new URL.",
}


@pytest.fixture
def package(service: ReportService, clock: FixedClock) -> dict[str, object]:
    service.settings = ReportSettings(organisation="Hotline DE", country="DE",
                                      organisation_contact="analysts@hotline.example")
    noon = clock.now()
    clock.set(noon - timedelta(hours=2))  # the report came in before the police were told
    receipt = service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL,
                                       url="https://img.example/a.jpg", good_faith=True,
                                       reporter_role=ReporterRole.PARENT,
                                       contact="parent@example.org"))
    case_id = receipt.case_id or 0
    clock.set(noon)
    service.record_police(case_id, "ann", notified_at=service.clock.now() - timedelta(hours=1),
                          authority="LKA Berlin", method="phone", reference="B-77")
    clock.set(noon + timedelta(hours=5))  # the takedown (16:30) is entered once it happened
    service.set_referral(case_id, "ann", FULL)
    service.escalate(case_id, "ann", authority="BKA")
    service.close_escalation(case_id, "ann", "Taken over by BKA, ref. 1234")
    return service.package(case_id, "ann")


def test_every_field_the_analyst_entered_is_in_the_package(package: dict[str, object]) -> None:
    p: dict[str, object] = package
    assert p["authority"] == {"name": "BKA", "reference": "HL-2026-0042"}
    assert p["organisation"] == {"name": "Hotline DE", "country": "DE",
                                 "contact": "analysts@hotline.example"}
    incident = p["incident"]
    assert isinstance(incident, dict)
    assert incident["incident_at"] == "2026-04-30T21:15:00+00:00"
    assert incident["law_enforcement_notified_at"] == "2026-05-01T11:00:00+00:00"
    assert p["assessment"] == {
        "content_assessment": "baseline", "victim_age_group": "pre_pubescent",
        "victim_gender": "female", "industry_classification": "A2", "viewed_by_staff": True,
        "publicly_available": True, "content_language": "en",
        "notes": "Series known to the hotline; new URL.", "assessed_by": "ann",
        "assessed_at": "2026-05-01T17:00:00+00:00"}
    assert p["hosting"] == {"country": "US", "provider": "Example Hosting Inc."}
    assert p["notice_and_takedown"] == {"notice_sent_at": "2026-05-01T13:00:00+00:00",
                                        "content_removed_at": "2026-05-01T16:30:00+00:00"}
    assert p["forwarding"] == {"hotline": "NCMEC CyberTipline", "country": "US",
                               "forwarded_at": "2026-05-01T12:45:00+00:00"}
    assert p["police_notifications"] == [{"notified_at": "2026-05-01T11:00:00+00:00",
                                          "authority": "LKA Berlin", "method": "phone",
                                          "reference": "B-77"}]
    assert p["outcome"] == "Taken over by BKA, ref. 1234"
    reported = [a for a in p["ip_addresses"] if a["role"] == "reported"]  # type: ignore[union-attr,index]
    assert [a["address"] for a in reported] == ["198.51.100.4", "2001:db8::4"]
    assert p["reporters"][0]["good_faith"] is True  # type: ignore[index]


def test_the_full_package_validates_as_json_and_xml(package: dict[str, object]) -> None:
    schema = json.loads(escalation.JSON_SCHEMA.read_text())
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(json.loads(escalation.to_json(package)))
    xsd = etree.XMLSchema(etree.parse(str(escalation.XML_SCHEMA)))
    doc = etree.fromstring(escalation.to_xml(package).encode())
    xsd.assertValid(doc)
    ns = {"e": escalation.XML_NS}
    assert doc.findtext("e:assessment/e:contentAssessment", namespaces=ns) == "baseline"
    assert doc.findtext("e:forwarding/e:hotline", namespaces=ns) == "NCMEC CyberTipline"
    assert doc.findtext("e:evidence/e:chain/e:signedHead/e:records", namespaces=ns)
    wrong = {**package, "assessment": {**package["assessment"],  # type: ignore[dict-item]
                                       "content_assessment": "maybe"}}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(wrong))
    assert not xsd.validate(etree.fromstring(escalation.to_xml(wrong).encode()))


@pytest.mark.parametrize(("changes", "field"), [
    ({"victim_age_group": "teen"}, "victim_age_group"),
    ({"hosting_ips": ["not-an-ip"]}, "hosting_ips"),
    ({"incident_at": "2026-04-30T21:15:00"}, "incident_at"),
    ({"hosting_country": "USA"}, "hosting_country"),
    ({"colour": "red"}, "colour"),
])
def test_bad_assessment_values_are_refused_by_field(
    service: ReportService, changes: dict[str, object], field: str
) -> None:
    receipt = service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL,
                                       url="https://img.example/b.jpg"))
    service.set_referral(receipt.case_id or 0, "ann", {"notes": "kept"})
    with pytest.raises(InputError, match=field):
        service.set_referral(receipt.case_id or 0, "ann", changes)
    assert service.referral(receipt.case_id or 0).notes == "kept"  # the last good state


def test_on_call_settings_are_checked_with_file_and_line() -> None:
    from kidshield.config import parse_config
    from kidshield.errors import ConfigError

    with pytest.raises(ConfigError, match=r"k.toml:2 reports.on_call.ntfy\[0\]"):
        parse_config('[reports.on_call]\nntfy = ["ntfy.sh/x"]\n', "k.toml")
    with pytest.raises(ConfigError,
                       match=r"k\.toml:2 reports\.on_call\.emails: alert e-mails need an SMTP"):
        parse_config('[reports.on_call]\nemails = ["a@b.org"]\n', "k.toml")
    with pytest.raises(ConfigError, match="appeal_window_days"):
        parse_config("[reports]\nappeal_window_days = 30\n", "k.toml")
    config = parse_config('[reports.on_call]\nemails = ["a@b.org"]\n[smtp]\nhost = "m"\n'
                          'sender = "k@b.org"\n', "k.toml")
    assert config.reports.appeal_window_days == 184
