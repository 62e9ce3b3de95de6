"""Intake, cases, decisions and appeals, acting on kidshield's own lists."""

from __future__ import annotations

import pytest

from kidshield.clock import FixedClock
from kidshield.errors import InputError
from kidshield.reports.intake import case_from_hash_match, case_from_text_assessment
from kidshield.reports.lists import OwnLists, read_domains
from kidshield.reports.model import (
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    ReporterRole,
    Source,
    StatementOfReasons,
)
from kidshield.reports.service import NewReport, ReportService, ReviewerConflict
from kidshield.storage.reports_sql import SqlReportStore


def web(case_type: CaseType, url: str | None = None, **kw: object) -> NewReport:
    return NewReport(Source.WEB, case_type, url=url, **kw)  # type: ignore[arg-type]


def test_anonymous_report_gets_receipt_and_status_without_storing_contact_or_ip(
    service: ReportService, store: SqlReportStore
) -> None:
    receipt = service.submit(web(CaseType.BULLYING, "https://forum.test/t/1",
                                 description="they post mean things"))
    status = service.status(receipt.code)
    assert status.state is CaseState.NEW
    assert "Someone will look" in status.state_text
    assert status.decision is None
    report = store.report_by_code(receipt.code)
    assert report is not None
    assert report.contact is None and report.reporter_ip is None
    assert report.reporter_role == ReporterRole.ANONYMOUS.value


def test_report_needs_something_to_look_at(service: ReportService) -> None:
    with pytest.raises(InputError, match="url"):
        service.submit(web(CaseType.OTHER))


def test_queue_is_ordered_by_risk_then_age(service: ReportService, clock: FixedClock) -> None:
    from datetime import timedelta

    ids = {}
    for name, report in [
        ("over", web(CaseType.OVER_BLOCKING, "https://school.test/")),
        ("bully", web(CaseType.BULLYING, "https://a.test/")),
        ("csam", web(CaseType.ABUSE_MATERIAL, "https://b.test/x")),
        ("danger", web(CaseType.SELF_HARM, "https://c.test/", imminent_danger=True)),
        ("bully2", web(CaseType.BULLYING, "https://d.test/")),
    ]:
        ids[service.submit(report).case_id] = name
        clock.advance(timedelta(minutes=1))
    order = [ids[c.id] for c in service.queue("mod") if c.id is not None]
    assert order == ["danger", "csam", "bully", "bully2", "over"]


def test_reports_about_the_same_url_meet_in_one_case(
    service: ReportService, store: SqlReportStore
) -> None:
    a = service.submit(web(CaseType.BULLYING, "https://Forum.test/t/1?utm_source=x"))
    b = service.submit(NewReport(Source.CHILD_FORM, CaseType.GROOMING, url="forum.test/t/1",
                                 reporter_role=ReporterRole.CHILD))
    c = service.submit(web(CaseType.BULLYING, "https://forum.test/t/2"))
    assert a.case_id == b.case_id != c.case_id
    assert b.merged and not a.merged
    case = store.case(a.case_id)
    assert case is not None
    assert case.reports_count == 2
    assert case.case_type == CaseType.GROOMING.value  # the more serious type wins
    assert case.child_reporter
    assert len(store.reports_for_case(a.case_id)) == 2


def test_hash_matches_and_text_detections_land_in_the_queue_deduplicated(
    service: ReportService,
) -> None:
    h = "ab" * 32
    first = case_from_hash_match(service, bank="ncmec-like", matched_hash=h, distance=3)
    again = case_from_hash_match(service, bank="ncmec-like", matched_hash=h.upper(), distance=9)
    assert first.case_id == again.case_id
    text = case_from_text_assessment(
        service, [("grooming", 0.7), {"reason": "personal_info", "score": 0.4}],
        conversation="chat-42", excerpt="what school do you go to? send a pic")
    more = case_from_text_assessment(service, [("grooming", 0.99)], conversation="chat-42")
    assert text is not None and more is not None and text.case_id == more.case_id
    assert case_from_text_assessment(service, [], conversation="chat-43") is None
    queue = service.queue("mod")
    assert [c.case_type for c in queue] == ["grooming", "abuse_material"]
    assert queue[0].imminent_danger  # 0.99 grooming is treated as imminent


def test_text_findings_at_the_imminent_level_are_imminent_danger(service: ReportService) -> None:
    # imminent danger was read from the score alone: an imminent level below 0.95 (a
    # conversation's decayed evidence) opened an ordinary case, typed by a higher score
    plan = case_from_text_assessment(service, [
        {"reason": "bullying", "score": 0.93, "level": "high"},
        {"reason": "self_harm", "score": 0.91, "level": "imminent"}], conversation="chat-50")
    threat = case_from_text_assessment(
        service, [("sextortion", 0.9, "imminent")], conversation="chat-51")
    high = case_from_text_assessment(service, [("self_harm", 0.94, "high")], conversation="c-52")
    assert plan is not None and threat is not None and high is not None
    cases = {c.id: (c.case_type, c.imminent_danger) for c in service.queue("mod")}
    assert cases[plan.case_id] == ("self_harm", True)
    assert cases[threat.case_id] == ("grooming", True)
    assert cases[high.case_id] == ("self_harm", False)


def _decide(service: ReportService, case_id: int, reviewer: str, action: DecisionAction,
            ground: Ground = Ground.POLICY) -> None:
    service.decide(case_id, reviewer, StatementOfReasons("We read the thread.", ground, action))


def test_decision_statement_of_reasons_is_shown_to_the_reporter_and_account(
    service: ReportService,
) -> None:
    receipt = service.submit(web(CaseType.BULLYING, "https://forum.test/t/1"))
    service.assign(receipt.case_id, "maria", actor="lead")
    assert service.status(receipt.code).state is CaseState.TRIAGE
    _decide(service, receipt.case_id, "maria", DecisionAction.CONTENT_REMOVED)
    status = service.status(receipt.code)
    assert status.state is CaseState.CLOSED
    assert status.decision is not None
    assert status.decision["facts"] == "We read the thread."
    assert status.decision["ground"] == "policy"
    assert status.decision["action_text"] == "The content was removed."
    assert "appeal" in status.decision["how_to_appeal"]
    assert status.can_appeal
    assert "within 184 days" in status.decision["how_to_appeal"]  # six months (DSA Art. 20)
    notice = service.affected_notice(receipt.case_id)
    assert notice is not None and notice.pop("appeal_deadline") == "2026-11-01T12:00:00+00:00"
    assert notice == status.decision


def test_appeal_goes_to_a_different_reviewer_and_can_reverse(
    service: ReportService, lists: OwnLists
) -> None:
    receipt = service.submit(NewReport(Source.WEB, CaseType.UNDER_BLOCKING,
                                       url="https://casino.test/play"))
    _decide(service, receipt.case_id, "maria", DecisionAction.BLOCK_LISTED)
    assert read_domains(lists.block_list) == ["casino.test"]
    appeal = service.appeal(receipt.code, "it is a school maths game",
                            reviewers=["maria", "sam"])
    assert appeal.previous_reviewer == "maria"
    assert appeal.assignee == "sam"
    status = service.status(receipt.code)
    assert status.state is CaseState.TRIAGE and status.appeal_open and not status.can_appeal
    with pytest.raises(ReviewerConflict):
        _decide(service, receipt.case_id, "maria", DecisionAction.NO_ACTION)
    with pytest.raises(ReviewerConflict):
        service.assign(receipt.case_id, "maria", actor="lead")
    _decide(service, receipt.case_id, "sam", DecisionAction.NO_ACTION, Ground.NO_VIOLATION)
    assert read_domains(lists.block_list) == []  # reversing undoes the list change
    decisions = service.store.decisions(receipt.case_id)
    assert [(d.reviewer, d.on_appeal, d.reverses) for d in decisions] == [
        ("maria", False, False), ("sam", True, True)]
    assert not service.status(receipt.code).can_appeal  # one appeal per decision
    actions = [a.action for a in service.store.audit_trail(receipt.case_id)]
    assert "block_list_add" in actions and "block_list_remove" in actions


def test_over_blocking_decision_adds_to_allow_list_and_notifies(
    store: SqlReportStore, clock: FixedClock, lists: OwnLists
) -> None:
    reloads: list[int] = []
    service = ReportService(store, clock, lists, on_lists_changed=lambda: reloads.append(1))
    receipt = service.submit(NewReport(Source.WEB, CaseType.OVER_BLOCKING,
                                       url="https://www.bbc.co.uk/bitesize"))
    _decide(service, receipt.case_id, "maria", DecisionAction.ALLOW_LISTED,
            Ground.WRONG_CATEGORY)
    assert read_domains(lists.allow_list) == ["www.bbc.co.uk"]
    assert reloads == [1]
    assert lists.allow_list.read_text().startswith("# kidshield reports allow list")


def test_every_view_and_change_is_audited(service: ReportService) -> None:
    receipt = service.submit(web(CaseType.PRIVACY, "https://x.test/me"))
    service.view(receipt.case_id, "maria")
    service.assign(receipt.case_id, "maria", actor="lead")
    service.add_note(receipt.case_id, "maria", "asked the platform")
    service.move(receipt.case_id, CaseState.ACTION, "maria")
    trail = [(a.actor, a.action) for a in service.store.audit_trail(receipt.case_id)]
    assert trail == [("web", "report_received"), ("maria", "view"), ("lead", "assign"),
                     ("maria", "note"), ("maria", "state")]


def test_revealing_text_evidence_counts_exposure_per_day(
    service: ReportService, clock: FixedClock
) -> None:
    from datetime import timedelta

    receipt = service.submit(web(CaseType.GROOMING, "https://chat.test/c/1"))
    assert service.reveal(receipt.case_id, "maria") == 1
    assert service.reveal(receipt.case_id, "maria") == 2
    assert service.exposure_today("sam") == 0
    clock.advance(timedelta(days=1))
    assert service.exposure_today("maria") == 0
    assert service.reveal(receipt.case_id, "maria") == 1
