"""Transparency figures computed on a fixture set, and their CSV and HTML forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kidshield.clock import FixedClock
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
from kidshield.reports.service import NewReport, ReportService
from kidshield.reports.store import CaseRecord
from kidshield.reports.transparency import (
    Figures,
    compute,
    figures_from_store,
    percentile,
    period,
    to_csv,
    to_html,
)
from kidshield.storage.db import Database
from kidshield.storage.schema import media_banks, media_match_records

T0 = datetime(2026, 4, 2, tzinfo=UTC)


def _decide(service: ReportService, case_id: int, who: str, action: DecisionAction) -> None:
    service.decide(case_id, who, StatementOfReasons("facts", Ground.POLICY, action))


@pytest.fixture
def figures(service: ReportService, clock: FixedClock, db: Database) -> Figures:
    clock.set(datetime(2026, 3, 31, 23, tzinfo=UTC))  # outside the period
    service.submit(NewReport(Source.WEB, CaseType.OTHER, url="https://z.test/"))
    clock.set(T0)
    web = Source.WEB
    c1 = service.submit(NewReport(web, CaseType.BULLYING, url="https://a.test/")).case_id
    service.submit(NewReport(web, CaseType.BULLYING, url="https://a.test/"))
    c2 = service.submit(NewReport(web, CaseType.BULLYING, url="https://b.test/")).case_id
    c3 = service.submit(NewReport(Source.CHILD_FORM, CaseType.GROOMING, url="https://c.test/",
                                  reporter_role=ReporterRole.CHILD)).case_id
    c4 = case_from_hash_match(service, bank="b1", matched_hash="aa" * 32).case_id
    case_from_hash_match(service, bank="b1", matched_hash="aa" * 32)
    c5 = service.submit(
        NewReport(Source.API, CaseType.OVER_BLOCKING, url="https://d.test/"))
    steps = [
        (1, lambda: service.escalate(c3, "ann", authority="Police")),
        (2, lambda: _decide(service, c1, "maria", DecisionAction.CONTENT_REMOVED)),
        (4, lambda: _decide(service, c3, "ann", DecisionAction.ESCALATED)),
        (6, lambda: service.move(c4, CaseState.ACTION, "ann")),
        (8, lambda: _decide(service, c5.case_id, "maria", DecisionAction.ALLOW_LISTED)),
        (9, lambda: service.appeal(c5.code, "please look again", ["maria", "sam"])),
        (10, lambda: _decide(service, c2, "maria", DecisionAction.NO_ACTION)),
        (20, lambda: _decide(service, c5.case_id, "sam", DecisionAction.NO_ACTION)),
    ]
    for hours, step in steps:
        clock.set(T0 + timedelta(hours=hours))
        step()
    with db.engine.begin() as conn:
        b1 = conn.execute(media_banks.insert().values(name="b1", created_at=T0)).lastrowid
        b2 = conn.execute(media_banks.insert().values(name="b2", created_at=T0)).lastrowid
        h = "aa" * 32
        for bank, at, cancelled in [(b1, T0, None), (b1, T0, None), (b1, T0, "neg"),
                                    (b2, T0, None), (b2, T0 - timedelta(days=5), None)]:
            conn.execute(media_match_records.insert().values(
                at=at, bank_id=bank, query_hash=h, matched_hash=h, distance=0,
                cancelled_by=cancelled))
    start, end = period(date(2026, 4, 1), date(2026, 4, 30))
    return figures_from_store(service.store, start, end)


def test_transparency_figures_on_a_fixture_set(figures: Figures) -> None:
    assert figures.reports_by_type == {"abuse_material": 2, "bullying": 3, "grooming": 1,
                                       "over_blocking": 1}
    assert figures.reports_by_source == {"api": 1, "child_form": 1, "hash_match": 2, "web": 3}
    assert figures.actions == {"allow_listed": 1, "content_removed": 1, "escalated": 1,
                               "no_action": 2}
    # first action after 1, 2, 6, 8, 10 hours; first decision after 2, 4, 8, 10 hours
    assert (figures.to_first_action.count, figures.to_first_action.median_hours,
            figures.to_first_action.p90_hours) == (5, 6.0, 10.0)
    assert (figures.to_decision.count, figures.to_decision.median_hours,
            figures.to_decision.p90_hours) == (4, 6.0, 10.0)
    assert (figures.appeals, figures.reversals) == (1, 1)
    assert figures.hash_matches_by_bank == {"b1": 2, "b2": 1}
    assert figures.not_yet_acted_on == 0
    assert figures.reports_by_source_type == {"notice": 5, "own_initiative": 2}
    assert figures.detection == {"automated": 2, "human": 5}
    assert figures.decisions_by_basis == {"terms_and_conditions": 5}
    assert figures.decisions_automated == {"automated": 0, "human": 5}
    assert figures.escalations == 1
    # the appeal came at 9 h and was decided at 20 h
    assert (figures.appeals_decided, figures.to_appeal_decision.median_hours) == (1, 11.0)
    assert figures.appeals_pending == 0
    assert figures.backlog == {"abuse_material": 1, "other": 1}  # c4, and z.test from March


def test_cases_nobody_touched_count_in_time_to_first_action(
    service: ReportService, clock: FixedClock
) -> None:
    """The issue's regression: an untouched case used to be left out of time-to-action."""
    clock.set(T0)
    acted = service.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://a.test/"))
    service.submit(NewReport(Source.WEB, CaseType.BULLYING, url="https://b.test/"))
    clock.set(T0 + timedelta(hours=2))
    service.move(acted.case_id or 0, CaseState.ACTION, "maria")
    start, end = period(date(2026, 4, 1), date(2026, 4, 30))
    as_of = T0 + timedelta(hours=50)
    fig = figures_from_store(service.store, start, end, as_of=as_of)
    assert fig.not_yet_acted_on == 1
    assert fig.to_first_action.count == 2 and fig.to_first_action.p90_hours == 50.0
    assert fig.to_first_action.within_target == 1
    assert fig.backlog == {"bullying": 2} and fig.backlog_oldest_hours == 50.0


def test_a_first_action_stored_before_its_case_opened_is_no_negative_time() -> None:
    """Police notifications dated before the case opened were accepted (and became the first
    action) until 2026-12-07: a stored one made "hours to first action" negative."""
    early = CaseRecord(created_at=T0, updated_at=T0, case_type="grooming",
                       first_action_at=datetime(1, 1, 1, tzinfo=UTC))
    start, end = period(date(2026, 4, 1), date(2026, 4, 30))
    fig = compute(start, end, [], [early], [], [])
    assert fig.to_first_action.median_hours == 0.0 and fig.to_first_action.within_target == 1


def test_transparency_csv_and_html(figures: Figures) -> None:
    csv_text = to_csv(figures)
    lines = csv_text.splitlines()
    assert lines[0] == "section,key,value"
    assert "period,from,2026-04-01" in lines and "period,to,2026-04-30" in lines
    assert "time_to_decision,median_hours,6.0" in lines
    assert "time_to_first_action,within_24h,5" in lines
    assert "hash_matches_by_bank,b1,2" in lines
    html = to_html(figures, organisation="Example <Hotline>")
    # types, sources, actions, source types, basis, backlog, hash banks
    assert html.count("<svg") == 7
    assert "Example &lt;Hotline&gt;" in html
    assert "<script" not in html and "https://" not in html  # self-contained


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile([3, 1, 2], 50) == 2
