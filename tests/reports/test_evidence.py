"""The evidence hash chain, legal hold and the escalation package."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema
import sqlalchemy as sa
from lxml import etree

from kidshield.clock import FixedClock
from kidshield.reports import escalation
from kidshield.reports.evidence import GENESIS, verify
from kidshield.reports.intake import case_from_hash_match
from kidshield.reports.model import (
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    ReporterRole,
    Source,
    StatementOfReasons,
)
from kidshield.reports.retention import RetentionSchedule
from kidshield.reports.service import NewReport, ReportService
from kidshield.storage.db import Database
from kidshield.storage.schema import evidence


def _three_records(service: ReportService) -> int:
    receipt = service.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://a.test/"))
    for i in range(3):
        service.preserve(receipt.case_id, "note", {"n": i, "text": "screenshot description"},
                         actor="maria")
    return receipt.case_id


def test_chain_links_each_record_to_the_one_before(service: ReportService) -> None:
    _three_records(service)
    records = service.store.evidence()
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.record_hash for r in records[:-1]]
    report = service.verify_chain()
    assert report.ok and report.records == 3


def test_chain_detects_a_modified_record(service: ReportService, db: Database) -> None:
    _three_records(service)
    second = service.store.evidence()[1]
    with db.engine.begin() as conn:
        conn.execute(evidence.update().where(evidence.c.id == second.id)
                     .values(content='{"n":1,"text":"something else"}'))
    report = service.verify_chain()
    assert not report.ok
    assert report.first_bad_id == second.id
    assert "content was changed" in report.problem


def test_chain_detects_a_recomputed_content_hash_and_a_removed_record(
    service: ReportService, db: Database
) -> None:
    _three_records(service)
    records = service.store.evidence()
    forged = '{"n":0,"text":"forged"}'
    import hashlib

    with db.engine.begin() as conn:
        conn.execute(evidence.update().where(evidence.c.id == records[0].id).values(
            content=forged, content_sha256=hashlib.sha256(forged.encode()).hexdigest()))
    assert verify(service.store.evidence()).first_bad_id == records[0].id
    with db.engine.begin() as conn:
        conn.execute(evidence.update().where(evidence.c.id == records[0].id).values(
            content=records[0].content, content_sha256=records[0].content_sha256))
        conn.execute(evidence.delete().where(evidence.c.id == records[1].id))
    report = verify(service.store.evidence())
    assert report.first_bad_id == records[2].id
    assert "removed" in report.problem


def test_retention_purge_keeps_the_chain_verifiable(
    service: ReportService, clock: FixedClock
) -> None:
    case_id = _three_records(service)
    service.decide(case_id, "maria", StatementOfReasons("seen", Ground.POLICY,
                                                         DecisionAction.WARNING))
    clock.advance(timedelta(days=366))
    run = service.run_retention(RetentionSchedule())
    assert run.deleted["evidence"] == 3
    records = service.store.evidence()
    assert [r.content is None for r in records] == [True, True, True, False]
    assert json.loads(records[-1].content or "")["purged"] == [r.id for r in records[:3]]
    report = service.verify_chain()
    assert report.ok and report.purged == 3 and report.signed


def test_content_nulled_outside_retention_breaks_the_chain(
    service: ReportService, db: Database
) -> None:
    _three_records(service)
    with db.engine.begin() as conn:
        conn.execute(sa.update(evidence).where(evidence.c.id == 1).values(content=None))
    report = service.verify_chain()
    assert not report.ok and report.first_bad_id == 1
    assert "removed outside the retention job" in report.problem


def test_signed_head_shows_the_newest_record_deleted(service: ReportService, db: Database
                                                     ) -> None:
    _three_records(service)
    with db.engine.begin() as conn:
        conn.execute(evidence.delete().where(evidence.c.id == 3))
    report = service.verify_chain()
    assert not report.ok
    assert "record" in report.problem  # the audit trail or the signed head names it


def test_a_recomputed_chain_does_not_match_the_signed_head(
    service: ReportService, db: Database
) -> None:
    from kidshield.reports.evidence import canonical_json, link_hash, sha256_hex

    _three_records(service)
    prev, forged = GENESIS, []
    for rec in service.store.evidence():
        content = canonical_json({"forged": rec.id})
        digest = sha256_hex(content)
        record_hash = link_hash(prev, rec.case_id, rec.at, rec.kind, digest)
        forged.append((rec.id, content, digest, prev, record_hash))
        prev = record_hash
    with db.engine.begin() as conn:  # prev_hash is unique: move every link aside first
        for rid, *_rest in forged:
            conn.execute(evidence.update().where(evidence.c.id == rid)
                         .values(prev_hash=f"tmp{rid}", record_hash=f"tmp{rid}"))
        for rid, content, digest, prev_hash, record_hash in forged:
            conn.execute(evidence.update().where(evidence.c.id == rid).values(
                content=content, content_sha256=digest, prev_hash=prev_hash,
                record_hash=record_hash))
    records = service.store.evidence()
    assert verify(records).ok  # links and contents alone look fine
    report = service.verify_chain()
    assert not report.ok and "rewritten" in report.problem


def _escalated(service: ReportService) -> dict[str, Any]:
    h = "0f" * 32
    receipt = case_from_hash_match(service, bank="hotline-bank", matched_hash=h, distance=4,
                                   url="https://img.test/x.jpg")
    service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL, url="https://img.test/x.jpg",
                             reporter_role=ReporterRole.PARENT, contact="parent@example.org",
                             reporter_ip="192.0.2.7", description="found on a forum"))
    package = service.escalate(receipt.case_id, "analyst-ann", authority="National hotline",
                               hosting_ips=["2001:db8::7"])
    assert service.store.case(receipt.case_id).state == CaseState.ACTION.value  # type: ignore[union-attr]
    return package


def test_escalation_package_validates_against_the_json_schema(service: ReportService) -> None:
    package = _escalated(service)
    schema = json.loads(escalation.JSON_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(json.loads(escalation.to_json(package)))
    assert package["files"] == [{"hash_algorithm": "pdq", "hash": "0f" * 32,
                                 "bank": "hotline-bank", "distance": 4,
                                 "detected_at": "2026-05-01T12:00:00+00:00"}]
    assert package["ip_addresses"] == [
        {"address": "192.0.2.7", "role": "reporter", "seen_at": "2026-05-01T12:00:00+00:00"},
        {"address": "2001:db8::7", "role": "reported", "seen_at": "2026-05-01T12:00:00+00:00"}]
    assert [i["kind"] for i in package["reported_items"]] == ["url"]
    # the package itself is preserved in the chain
    assert service.store.evidence()[-1].kind == "escalation"
    assert service.verify_chain().ok


def test_escalation_package_with_a_wrong_field_fails_the_schema(service: ReportService) -> None:
    package = _escalated(service)
    schema = json.loads(escalation.JSON_SCHEMA.read_text())
    package["incident"]["type"] = "spam"
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(package))
    assert [list(e.path) for e in errors] == [["incident", "type"]]


def test_escalation_package_xml_validates_against_the_xsd(service: ReportService) -> None:
    package = _escalated(service)
    schema = etree.XMLSchema(etree.parse(str(escalation.XML_SCHEMA)))
    doc = etree.fromstring(escalation.to_xml(package).encode())
    schema.assertValid(doc)
    ns = {"e": escalation.XML_NS}
    assert doc.findtext("e:files/e:file/e:hash", namespaces=ns) == "0f" * 32
    assert doc.findtext("e:incident/e:type", namespaces=ns) == "abuse_material"
    broken = escalation.to_xml({**package, "incident": {**package["incident"],
                                                         "priority": -1}})
    assert not schema.validate(etree.fromstring(broken.encode()))


def test_abuse_material_reports_are_preserved_automatically_and_never_hold_images(
    service: ReportService,
) -> None:
    receipt = service.submit(NewReport(Source.WEB, CaseType.ABUSE_MATERIAL,
                                       url="https://img.test/a"))
    [record] = service.store.evidence(receipt.case_id)
    assert record.kind == "report"
    assert json.loads(record.content or "{}")["url"] == "https://img.test/a"


def test_concurrent_writers_never_fork_the_chain(any_db_url: str) -> None:
    """Eight handles on one database (as eight processes would be) append at once. Reading the
    head and inserting must hold the write lock together: with a read before the lock, two
    writers linked to the same head and one failed (a flaky CI run; 2 of 4 runs here)."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from kidshield.clock import FixedClock
    from kidshield.storage.reports_sql import SqlReportStore

    clock = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
    handles = 8
    dbs = [Database.open(any_db_url, migrate=i == 0) for i in range(handles)]
    try:
        services = [ReportService(SqlReportStore(db), clock) for db in dbs]

        def write(i: int) -> None:
            services[i % handles].preserve(1, "note", {"i": i}, actor="t")

        with ThreadPoolExecutor(max_workers=2 * handles) as pool:
            list(pool.map(write, range(40 * handles)))
        report = services[0].verify_chain()
        assert report.ok and report.records == 40 * handles
    finally:
        for db in dbs:
            db.close()
