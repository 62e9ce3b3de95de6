"""A report joining case B while an analyst merges B into A (two servers, one real store):
the report lands on A, not on the closed B it was about to join."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kidshield.clock import FixedClock
from kidshield.reports.lists import OwnLists
from kidshield.reports.model import CaseType, Source
from kidshield.reports.service import NewReport, ReportService
from kidshield.reports.signing import EvidenceSigner
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore
from tests.reports.test_concurrent_decisions import Held


def test_a_report_joining_b_as_it_is_merged_lands_on_a(
        any_db_url: str, clock: FixedClock, lists: OwnLists, signer: EvidenceSigner) -> None:
    dbs = [Database.open(any_db_url), Database.open(any_db_url)]
    try:
        analyst = ReportService(SqlReportStore(dbs[0]), clock, lists, signer=signer)
        held = Held(SqlReportStore(dbs[1]))
        intake = ReportService(held, clock, lists, signer=signer)

        def report(url: str) -> NewReport:
            return NewReport(Source.WEB, CaseType.BULLYING, url=url)

        a = analyst.submit(report("https://a.test/")).case_id
        b = analyst.submit(report("https://b.test/")).case_id
        assert a is not None and b is not None
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(intake.submit, report("https://b.test/"))  # reads B open
            try:
                assert held.reached.wait(30)
                analyst.merge(a, b, "ana")
            finally:
                held.go.set()
            receipt = late.result(timeout=60)
        assert receipt.case_id == a
        case_a, case_b = analyst.store.case(a), analyst.store.case(b)
        assert case_a is not None and case_b is not None
        assert case_a.reports_count == 3 == len(analyst.store.reports_for_case(a))
        assert analyst.store.reports_for_case(b) == []
        assert case_b.reports_count == 1 and case_b.state == "closed"
    finally:
        for db in dbs:
            db.close()
