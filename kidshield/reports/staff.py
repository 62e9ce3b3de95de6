"""The cases API (JSON, ``/api/v1/cases``) for staff; the pages are in ``staff_pages`` and
the hotline's routes in ``staff_hotline`` (registered on ``api`` here). Every route declares
the permission it needs (reading cases, working them, escalating); every view and change goes
through the service, which audits it. Text evidence stays hidden until revealed (``reveal``
counts toward the staff member's exposure for the day)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kidshield.errors import InputError, NotFound
from kidshield.reports import escalation
from kidshield.reports import transparency as tr
from kidshield.reports.api_answers import (
    AppealRecorded,
    CaseDetail,
    Created,
    Decided,
    Hold,
    Merged,
    Notice,
    Ok,
    Queue,
    Revealed,
    Transparency,
    escalation_schema,
)
from kidshield.reports.api_models import (
    AppealIn,
    AssignIn,
    CasesQuery,
    DecisionIn,
    EscalateIn,
    ExportQuery,
    HoldIn,
    MergeIn,
    NoteIn,
    StateIn,
    TransparencyQuery,
)
from kidshield.reports.model import (
    StatementOfReasons,
)
from kidshield.reports.oncall import is_critical, seconds_left
from kidshield.reports.service import CaseView
from kidshield.reports.store import CaseRecord
from kidshield.reports.web import ReportsSite
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api, row_id


def _case_dict(case: CaseRecord) -> dict[str, Any]:
    return {
        "id": case.id,
        "type": case.case_type,
        "state": case.state,
        "priority": case.priority,
        "imminent_danger": case.imminent_danger,
        "reports": case.reports_count,
        "url": case.url,
        "account": case.account,
        "assignee": case.assignee,
        "created_at": case.created_at.isoformat(),
        "escalated_at": None if case.escalated_at is None else case.escalated_at.isoformat(),
        "legal_hold": case.legal_hold,
        "critical": is_critical(case.case_type, case.imminent_danger),
        "target_at": _iso(case.target_at),
        "police_notified_at": _iso(case.police_notified_at),
        "escalation_closed_at": _iso(case.escalation_closed_at),
        "trusted_flagger": case.trusted_flagger,
        "merged_into": case.merged_into,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _view_dict(view: CaseView, revealed: bool) -> dict[str, Any]:
    reports = []
    for r in view.reports:
        detail = json.loads(r.detail)
        reports.append({
            "source": r.source, "type": r.case_type, "received_at": r.created_at.isoformat(),
            "reporter_role": r.reporter_role, "url": r.url, "account": r.account,
            "file_hash": detail.get("file_hash"), "bank": detail.get("bank"),
            "description": r.description if revealed else None,
            "description_hidden": bool(r.description) and not revealed,
        })
    return {
        **_case_dict(view.case),
        "reports_detail": reports,
        "decisions": [
            {"id": d.id, "at": d.at.isoformat(), "reviewer": d.reviewer, "facts": d.facts,
             "ground": d.ground, "action": d.action, "on_appeal": d.on_appeal,
             "reverses": d.reverses, "status": d.status, "signed_off_by": d.signed_off_by,
             "statement": json.loads(d.statement or "{}"), "unfounded": d.unfounded}
            for d in view.decisions
        ],
        "referral": view.referral.as_json(),
        "alerts": [{"at": a.at.isoformat(), "reason": a.reason, "channel": a.channel,
                    "ok": a.ok} for a in view.alerts],
        "police": [{"notified_at": p.notified_at.isoformat(), "authority": p.authority,
                    "method": p.method, "reference": p.reference, "recorded_by": p.recorded_by}
                   for p in view.police],
        "appeal": None if view.appeal is None else {
            "at": view.appeal.at.isoformat(), "reason": view.appeal.reason,
            "previous_reviewer": view.appeal.previous_reviewer,
            "assignee": view.appeal.assignee,
        },
        "notes": [{"at": n.at.isoformat(), "author": n.author, "text": n.text}
                  for n in view.notes],
        "evidence": [{"id": e.id, "kind": e.kind, "at": e.at.isoformat(),
                      "record_hash": e.record_hash, "purged": e.content is None}
                     for e in view.evidence],
        "audit": [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action,
                   "detail": a.detail} for a in view.audit],
    }


def case_id_of(request: Request) -> int:
    case_id = row_id(request.path_params["case_id"])
    if case_id is None:
        raise NotFound("no such case", field="case_id")
    return case_id


def actor_of(user: User | None) -> str:
    assert user is not None  # every cases route needs a signed-in staff member
    return user.name


# -- API ------------------------------------------------------------------------------------------
api: Api[ReportsSite] = Api(
    "cases", "The moderators' queue: cases by priority, decisions with statements of reasons, "
    "appeals to another reviewer, notes, evidence, escalation packages and transparency "
    "figures. Every view and change is audited.", allow=Permission.CASES_READ)
READ, WORK = Permission.CASES_READ, Permission.CASES_WORK
ESCALATE = Permission.CASES_ESCALATE
CASE = "/cases/{case_id}"


@api("GET", "/cases", "The queue, most urgent first, by pages (limit, offset)", query=CasesQuery,
     response=Queue)
async def api_queue(request: Request, site: ReportsSite, user: User | None,
                    query: CasesQuery) -> Any:
    cases = await run_in_threadpool(site.service.queue, actor_of(user), query.limit,
                                    query.offset)
    now = site.service.clock.now()
    return {"cases": [{**_case_dict(c), "seconds_left": seconds_left(c.target_at, now)}
                      for c in cases]}


@api("GET", CASE, "One case: reports (text evidence hidden), decisions, appeal, notes, "
     "evidence records and its audit trail", response=CaseDetail)
async def api_case(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    view = await run_in_threadpool(site.service.view, case_id_of(request), actor_of(user))
    return {**_view_dict(view, revealed=False),
            "seconds_left": seconds_left(view.case.target_at, site.service.clock.now())}


@api("POST", f"{CASE}/assign", "Assign the case (on appeal: not to the first reviewer)",
     body=AssignIn, response=Ok, errors=(409,), allow=WORK)
async def api_assign(request: Request, site: ReportsSite, user: User | None,
                     body: AssignIn) -> Any:
    await run_in_threadpool(site.service.assign, case_id_of(request), body.assignee,
                            actor_of(user))
    return {"ok": True}


@api("POST", f"{CASE}/state", "Move the case (new, triage, action, closed; a critical case "
     "closes only by a decision)", body=StateIn,
     response=Ok, errors=(409,), allow=WORK)
async def api_state(request: Request, site: ReportsSite, user: User | None,
                    body: StateIn) -> Any:
    await run_in_threadpool(site.service.move, case_id_of(request), body.state, actor_of(user))
    return {"ok": True}


@api("POST", f"{CASE}/merge", "Merge this case (B) into another about the same thing (A): "
     "B's reports and keys move to A, A keeps the higher priority and the earlier opened "
     "time, B is closed as merged and only read from then on; A's evidence chain gets a "
     "record naming B and B's newest record hash (nothing rewritten). 422: into itself or "
     "another type; 409: either case closed, escalated or referred to the police, or with a "
     "decision awaiting sign-off or an open appeal", body=MergeIn, response=Merged,
     errors=(409,), allow=WORK)
async def api_merge(request: Request, site: ReportsSite, user: User | None,
                    body: MergeIn) -> Any:
    source = case_id_of(request)
    record = await run_in_threadpool(site.service.merge, body.into, source, actor_of(user))
    return {"into": body.into, "merged": source, "evidence_record": record.id}


@api("POST", f"{CASE}/notes", "Add a note (409: the case was merged into another)", body=NoteIn,
     response=Created, status=201, errors=(409,), allow=WORK)
async def api_note(request: Request, site: ReportsSite, user: User | None,
                   body: NoteIn) -> Any:
    note = await run_in_threadpool(site.service.add_note, case_id_of(request), actor_of(user),
                                   body.text)
    return {"id": note.id}


@api("POST", f"{CASE}/decision", "Decide, with a statement of reasons and its DSA fields; "
     "block_listed and allow_listed change kidshield's own lists. On a critical case not yet "
     "escalated the decision waits for a second reviewer (status pending).", body=DecisionIn,
     response=Decided, status=201, errors=(409,), allow=WORK)
async def api_decision(request: Request, site: ReportsSite, user: User | None,
                       body: DecisionIn) -> Any:
    service = site.service
    statement = StatementOfReasons(body.facts, body.ground, body.action, body.appeal,
                                   service.settings.appeal_window.days)
    decision = await run_in_threadpool(partial(
        service.decide, case_id_of(request), actor_of(user), statement, body.dsa.fields(),
        unfounded=body.unfounded))
    return {"id": decision.id, "status": decision.status, "statement": statement.to_dict(),
            "dsa": json.loads(decision.statement)}


@api("GET", f"{CASE}/notice", "The statement of reasons for the affected account (no reporter "
     "details), with the appeal deadline", response=Notice)
async def api_notice(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    notice = await run_in_threadpool(site.service.affected_notice, case_id_of(request))
    if notice is None:
        raise NotFound("no decision on this case yet", field="case_id")
    return notice


@api("POST", f"{CASE}/appeal", "Record an appeal from the affected account (received by staff "
     "through any channel)", body=AppealIn, response=AppealRecorded, status=201,
     errors=(409,), allow=WORK)
async def api_account_appeal(request: Request, site: ReportsSite, user: User | None,
                             body: AppealIn) -> Any:
    appeal = await run_in_threadpool(site.service.appeal_case, case_id_of(request),
                                     body.reason, f"{actor_of(user)} for the account")
    return {"id": appeal.id, "previous_reviewer": appeal.previous_reviewer}


@api("POST", f"{CASE}/escalate", "Record the referral fields given, build and preserve the "
     "escalation package for a hotline or the competent authority (409: the case was "
     "decided meanwhile; escalate it again)", body=EscalateIn,
     allow=ESCALATE, response=escalation_schema(), status=201, errors=(409,))
async def api_escalate(request: Request, site: ReportsSite, user: User | None,
                       body: EscalateIn) -> Any:
    return await run_in_threadpool(site.service.escalate, case_id_of(request), actor_of(user),
                                   body.authority, body.hosting_ips, body.referral)


@api("GET", f"{CASE}/export", "The escalation package as JSON or XML (schemas in "
     "kidshield/reports/schemas)", query=ExportQuery, allow=ESCALATE,
     response=escalation_schema(), also=("application/xml",))
async def api_export(request: Request, site: ReportsSite, user: User | None,
                     query: ExportQuery) -> Any:
    package = await run_in_threadpool(site.service.package, case_id_of(request), actor_of(user))
    if query.format == "xml":
        return Response(escalation.to_xml(package), media_type="application/xml")
    return package


@api("POST", f"{CASE}/legal-hold", "Keep the case past its retention time, or release it",
     body=HoldIn, errors=(409,), allow=ESCALATE, response=Hold)
async def api_hold(request: Request, site: ReportsSite, user: User | None,
                   body: HoldIn) -> Any:
    await run_in_threadpool(site.service.set_legal_hold, case_id_of(request), body.on,
                            actor_of(user))
    return {"legal_hold": body.on}


@api("POST", f"{CASE}/reveal", "Show the text evidence (counts toward today's exposure)",
     response=Revealed, allow=WORK)
async def api_reveal(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    service = site.service
    case_id = case_id_of(request)
    count = await run_in_threadpool(service.reveal, case_id, actor_of(user))
    view = await run_in_threadpool(service.view, case_id, actor_of(user))
    return {"reveals_today": count,
            "reports": _view_dict(view, revealed=True)["reports_detail"]}


def period_of(request: Request, site: ReportsSite) -> tuple[datetime, datetime]:
    today = site.service.clock.now().date()
    try:
        start = date.fromisoformat(request.query_params.get("from", "")) if \
            request.query_params.get("from") else today - timedelta(days=30)
        end = date.fromisoformat(request.query_params.get("to", "")) if \
            request.query_params.get("to") else today
    except ValueError:
        raise InputError("from and to are dates like 2026-01-31", field="from") from None
    if end < start:
        raise InputError("to is before from", field="to")
    return tr.period(start, end)


@api("GET", "/cases/transparency", "Transparency figures for a period (JSON, CSV or an HTML "
     "page)", query=TransparencyQuery, response=Transparency, also=("text/csv", "text/html"))
async def api_transparency(request: Request, site: ReportsSite, user: User | None,
                           query: TransparencyQuery) -> Any:
    start, end = period_of(request, site)
    figures = await run_in_threadpool(tr.figures_from_store, site.service.store, start, end,
                                      site.service.clock.now())
    if query.format == "csv":
        return Response(tr.to_csv(figures), media_type="text/csv")
    if query.format == "html":
        return HTMLResponse(tr.to_html(figures))
    return json.loads(json.dumps(figures, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(type(value))


# the hotline routes register on ``api`` above
from kidshield.reports import staff_hotline as _hotline  # noqa: E402,F401
