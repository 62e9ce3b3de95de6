"""Two reviewers deciding one case at the same moment: exactly one decision (proposal,
sign-off, appeal) is stored, the other reviewer gets a Conflict (409 through the API) that
says someone else decided first, and our block/allow lists show only the winner's decision.

Each reviewer has their own service and database connection (as on two ``serve`` nodes);
the store they share is real (SQLite file and PostgreSQL). ``Rendezvous`` holds each deciding
write until both reviewers have reached it, so both have passed every check the service makes
(the case open, no decision waiting, the appeal open) before either writes: the race that
let both decisions in before, made certain rather than left to chance."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from kidshield.clock import FixedClock
from kidshield.errors import Conflict
from kidshield.reports.lists import OwnLists, read_domains
from kidshield.reports.model import CaseState, CaseType, DecisionAction, Ground, Source
from kidshield.reports.model import StatementOfReasons as Statement
from kidshield.reports.service import NewReport, ReportService
from kidshield.reports.signing import EvidenceSigner
from kidshield.reports.store import CaseChanged, DecisionRecord
from kidshield.storage.db import Database
from kidshield.storage.reports_sql import SqlReportStore
from tests.e2e.harness import Served

DECIDING = frozenset({"add_decision", "update_decision", "add_appeal"})
BLOCK = Statement("A casino for children.", Ground.POLICY, DecisionAction.BLOCK_LISTED)
DAY = timedelta(days=1)
ALLOW = Statement("A maths game.", Ground.NO_VIOLATION, DecisionAction.ALLOW_LISTED)


class Rendezvous:
    """The real store; its deciding writes wait until both reviewers got to theirs."""

    def __init__(self, store: SqlReportStore, meet: threading.Barrier) -> None:
        self._store = store
        self._meet = meet
        self.on = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in DECIDING or not self.on:
            return attr

        def when_both_are_here(*args: Any, **kwargs: Any) -> Any:
            self._meet.wait()
            return attr(*args, **kwargs)
        return when_both_are_here


@pytest.fixture
def reviewers(any_db_url: str, clock: FixedClock, lists: OwnLists
              ) -> Iterator[tuple[ReportService, ReportService]]:
    """Two services over one database, each with its own connections."""
    meet = threading.Barrier(2, timeout=30)
    dbs = [Database.open(any_db_url), Database.open(any_db_url)]
    services = [ReportService(Rendezvous(SqlReportStore(db), meet), clock, lists)  # type: ignore[arg-type]
                for db in dbs]
    yield services[0], services[1]
    for db in dbs:
        db.close()


def at_once(first: ReportService, second: ReportService,
            a: Callable[[], object], b: Callable[[], object]) -> list[object]:
    """Run ``a`` and ``b`` in two threads, their deciding writes at the same moment: what
    each returned or raised."""
    for service in (first, second):
        service.store.on = True  # type: ignore[attr-defined]
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(a), pool.submit(b)]
            return [f.exception(timeout=60) or f.result() for f in futures]
    finally:
        for service in (first, second):
            service.store.on = False  # type: ignore[attr-defined]


def one_won(outcomes: list[object]) -> int:
    """Which of the two won; the other must have been told someone else decided."""
    won = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
    assert len(won) == 1, outcomes
    lost = outcomes[1 - won[0]]
    assert isinstance(lost, CaseChanged), lost
    assert "someone else decided" in str(lost) and "a moment ago" in str(lost)
    return won[0]


def new_case(service: ReportService, n: int, case_type: CaseType = CaseType.UNDER_BLOCKING,
             **kw: Any) -> int:
    receipt = service.submit(NewReport(Source.WEB, case_type, url=f"https://site{n}.test/",
                                       **kw))
    assert receipt.case_id is not None
    return receipt.case_id


def listed(lists: OwnLists, n: int) -> tuple[bool, bool]:
    domain = f"site{n}.test"
    return domain in read_domains(lists.block_list), domain in read_domains(lists.allow_list)


def test_two_decisions_at_once_store_exactly_one(
        reviewers: tuple[ReportService, ReportService], lists: OwnLists) -> None:
    maria, sam = reviewers
    for n in range(6):
        case_id = new_case(maria, n)
        outcomes = at_once(maria, sam, partial(maria.decide, case_id, "maria", BLOCK),
                           partial(sam.decide, case_id, "sam", ALLOW))
        winner = one_won(outcomes)
        decisions = maria.store.decisions(case_id)
        assert [(d.reviewer, d.status) for d in decisions] == [
            (("maria", "sam")[winner], "final")]
        assert listed(lists, n) == ((True, False) if winner == 0 else (False, True))
        trail = [a.action for a in maria.store.audit_trail(case_id)]
        assert trail.count("decision") == 1
        assert trail.count("block_list_add") + trail.count("allow_list_add") == 1
        case = maria.store.case(case_id)
        assert case is not None and case.state == CaseState.CLOSED.value
    # the case is as the winner left it: deciding it again is refused as closed
    with pytest.raises(Conflict, match="closed"):
        sam.decide(case_id, "sam", ALLOW)


def test_two_proposals_on_a_critical_case_at_once_leave_one_waiting(
        reviewers: tuple[ReportService, ReportService]) -> None:
    maria, sam = reviewers
    removed = Statement("The account asked for photos.", Ground.ILLEGAL,
                        DecisionAction.CONTENT_REMOVED)
    for n in range(3):
        case_id = new_case(maria, n, CaseType.GROOMING, imminent_danger=True)
        outcomes = at_once(maria, sam, partial(maria.decide, case_id, "maria", removed),
                           partial(sam.decide, case_id, "sam", removed))
        winner = one_won(outcomes)
        assert [(d.reviewer, d.status) for d in maria.store.decisions(case_id)] == [
            (("maria", "sam")[winner], "pending")]


def test_two_sign_offs_at_once_settle_the_waiting_decision_once(
        reviewers: tuple[ReportService, ReportService]) -> None:
    first, second = reviewers
    removed = Statement("The account asked for photos.", Ground.ILLEGAL,
                        DecisionAction.CONTENT_REMOVED)
    for n in range(4):
        case_id = new_case(first, n, CaseType.GROOMING, imminent_danger=True)
        first.decide(case_id, "maria", removed)
        outcomes = at_once(first, second, partial(first.sign_off, case_id, "sam"),
                           partial(second.sign_off, case_id, "ann", approve=False,
                                                   reason="not enough evidence"))
        winner = one_won(outcomes)
        [decision] = first.store.decisions(case_id)
        assert (decision.status, decision.signed_off_by) == (
            ("final", "sam") if winner == 0 else ("rejected", "ann"))
        case = first.store.case(case_id)
        assert case is not None
        assert (case.state == CaseState.CLOSED.value) is (winner == 0)
        trail = [a.action for a in first.store.audit_trail(case_id)]
        assert trail.count("decision_signed_off") + trail.count("decision_rejected") == 1


def test_two_decisions_on_one_appeal_at_once_store_one_outcome(
        reviewers: tuple[ReportService, ReportService], lists: OwnLists,
        clock: FixedClock) -> None:
    sam, ann = reviewers
    for n in range(4):
        case_id = new_case(sam, n)
        sam.decide(case_id, "maria", BLOCK)
        sam.appeal_case(case_id, "it is a maths game", "reporter", ["sam"])
        undo = Statement("A maths game.", Ground.NO_VIOLATION, DecisionAction.NO_ACTION)
        outcomes = at_once(sam, ann, partial(sam.decide, case_id, "sam", undo),
                           partial(ann.decide, case_id, "ann", BLOCK))
        winner = one_won(outcomes)
        decisions = sam.store.decisions(case_id)
        assert [(d.reviewer, d.reverses) for d in decisions] == [
            ("maria", False), ("sam", True) if winner == 0 else ("ann", False)]
        # reversed: off the block list; upheld: still on it, and listed once
        assert listed(lists, n) == (winner == 1, False)
        assert sam.store.open_appeal(case_id) is None
        now = clock.now()
        [appeal] = [a for a in sam.store.appeals_between(now - DAY, now + DAY)
                    if a.case_id == case_id]
        assert appeal.outcome == ("reversed" if winner == 0 else "upheld")


def test_two_appeals_at_once_open_one(
        reviewers: tuple[ReportService, ReportService]) -> None:
    one, other = reviewers
    for n in range(3):
        case_id = new_case(one, n)
        one.decide(case_id, "maria", BLOCK)
        outcomes = at_once(one, other,
                           partial(one.appeal_case, case_id, "a maths game", "reporter", ["sam"]),
                           partial(other.appeal_case, case_id, "mine too", "staff", ["ann"]))
        one_won(outcomes)
        trail = [a.action for a in one.store.audit_trail(case_id)]
        assert trail.count("appeal") == 1
        case = one.store.case(case_id)
        assert case is not None and case.state == CaseState.TRIAGE.value


def test_a_decision_read_before_another_was_stored_is_refused(
        reviewers: tuple[ReportService, ReportService]) -> None:
    """Without any waiting: the version the loser read is gone, so its write is refused by
    the store itself, not only by the service's checks."""
    maria, _ = reviewers
    case_id = new_case(maria, 0)
    stale = maria.store.case(case_id)
    assert stale is not None
    maria.decide(case_id, "maria", BLOCK)
    late = DecisionRecord(case_id=case_id, at=stale.created_at, reviewer="sam", facts="x",
                          ground="policy", action="warning")
    with pytest.raises(CaseChanged):
        maria.store.add_decision(late, version=stale.version)
    assert len(maria.store.decisions(case_id)) == 1





class Held:
    """The real store; ``update_case`` waits, its caller having read the case, until let go."""

    def __init__(self, store: SqlReportStore) -> None:
        self._store = store
        self.reached = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name != "update_case":
            return attr

        def held(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            assert self.go.wait(30)
            return attr(*args, **kwargs)
        return held


@pytest.mark.parametrize("change", ["move", "assign", "escalate"])
def test_a_change_of_state_read_before_a_decision_does_not_reopen_the_case(
        change: str, any_db_url: str, clock: FixedClock, lists: OwnLists,
        signer: EvidenceSigner) -> None:
    """A move to triage, an assignment (new -> triage) or an escalation (-> action) that read
    the case open, stored after a decision closed it: refused, the case stays closed."""
    dbs = [Database.open(any_db_url), Database.open(any_db_url)]
    try:
        deciding = ReportService(SqlReportStore(dbs[0]), clock, lists, signer=signer)
        held = Held(SqlReportStore(dbs[1]))
        other = ReportService(held, clock, lists, signer=signer)  # type: ignore[arg-type]
        case_id = new_case(deciding, 0, CaseType.BULLYING)
        call = {"move": partial(other.move, case_id, CaseState.TRIAGE, "sam"),
                "assign": partial(other.assign, case_id, "sam", "lead"),
                "escalate": partial(other.escalate, case_id, "ann", authority="BKA")}[change]
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(call)
            try:
                assert held.reached.wait(30)
                deciding.decide(case_id, "maria", Statement(
                    "Insults a pupil by name.", Ground.POLICY, DecisionAction.WARNING))
            finally:
                held.go.set()
            with pytest.raises(CaseChanged, match=f"someone else changed case {case_id} a "):
                late.result(timeout=60)
        case = deciding.store.case(case_id)
        assert case is not None and case.state == CaseState.CLOSED.value
        assert case.assignee is None and case.escalated_at is None
    finally:
        for db in dbs:
            db.close()


def test_two_reviewers_deciding_through_the_served_app_at_once(served: Served) -> None:
    """The server as ``kidshield serve`` runs it: maria posts her decision through the API
    and sam through the case page's form, on one case at once (the store's deciding writes
    meet as above). The loser gets 409 from the API, or is sent back to the case page, which
    says someone else decided."""
    service = served.app.features.reports  # type: ignore[union-attr]
    assert service is not None
    real = service.store
    rendezvous = Rendezvous(real, threading.Barrier(2, timeout=30))  # type: ignore[arg-type]
    maria = served.bearer("maria", "moderator")
    sam = served.bearer("sam", "moderator")
    api, form = served.client(), served.client()
    for n in range(4):
        site = f"https://chat{n}.test/u/1"
        api.post("/api/v1/reports", json={"url": site, "case_type": "bullying"})
        cases = api.get("/api/v1/cases", headers=maria).json()["cases"]
        [case_id] = [c["id"] for c in cases if c["url"] == site]
        service.store, rendezvous.on = rendezvous, True
        try:
            with ThreadPoolExecutor(2) as pool:
                by_api = pool.submit(api.post, f"/api/v1/cases/{case_id}/decision",
                                     headers=maria, json={"facts": "Insults a pupil by name.",
                                                          "ground": "policy",
                                                          "action": "warning"})
                by_form = pool.submit(form.post, f"/cases/{case_id}/decision", headers=sam,
                                      data={"facts": "A joke between friends.",
                                            "ground": "no_violation", "action": "no_action"},
                                      follow_redirects=False)
                answer, sent_back = by_api.result(timeout=60), by_form.result(timeout=60)
        finally:
            service.store, rendezvous.on = real, False
        assert sent_back.status_code == 303
        form_lost = "error=" in sent_back.headers["location"]
        if form_lost:
            assert answer.status_code == 201, answer.text
            page = form.get(sent_back.headers["location"], headers=sam)
            assert f"someone else decided case {case_id} a moment ago" in page.text
        else:
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"] == "conflict"
            assert f"someone else decided case {case_id} a moment ago" in answer.json()["detail"]
        detail = api.get(f"/api/v1/cases/{case_id}", headers=maria).json()
        assert [d["reviewer"] for d in detail["decisions"]] == [
            "maria" if form_lost else "sam"]
        assert detail["state"] == "closed"
