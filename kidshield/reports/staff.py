"""Staff routes: the case queue and case pages (HTML) and the cases API (JSON). Every route
declares the permission it needs (reading cases, working them, escalating); every view and
change goes through the service, which audits it.

Wellbeing: abuse-material cases show metadata and hashes only (kidshield never holds images);
text evidence is not even sent to the browser until the staff member chooses to reveal it (the
page shows a blurred placeholder), and each reveal counts toward their exposure for the day.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import Conflict, InputError, NotFound
from kidshield.reports import escalation
from kidshield.reports import staff_forms as hotline_forms
from kidshield.reports import transparency as tr
from kidshield.reports.api_models import (
    AppealIn,
    AppealRecorded,
    AssignIn,
    CaseDetail,
    Created,
    Decided,
    DecisionIn,
    EscalateIn,
    ExportQuery,
    Hold,
    HoldIn,
    NoteIn,
    Notice,
    Ok,
    Queue,
    Revealed,
    StateIn,
    Transparency,
    TransparencyQuery,
    escalation_schema,
    first_error,
)
from kidshield.reports.dsa import CONTENT_TYPES
from kidshield.reports.model import (
    ACTION_TEXT,
    GROUND_TEXT,
    CaseState,
    CaseType,
    StatementOfReasons,
)
from kidshield.reports.oncall import countdown_text, is_critical, seconds_left
from kidshield.reports.service import CaseNotFound, CaseView
from kidshield.reports.store import CaseRecord
from kidshield.reports.web import ReportsSite, render
from kidshield.web.access import Permission, User, current_user
from kidshield.web.api.registry import Api
from kidshield.web.csrf import page_token
from kidshield.web.feature import bind
from kidshield.web.routing import page


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


def _case_id(request: Request) -> int:
    text = request.path_params["case_id"]
    if not text.isdigit():
        raise NotFound("no such case", field="case_id")
    return int(text)


def _actor(user: User | None) -> str:
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


@api("GET", "/cases", "The queue, most urgent first", response=Queue)
async def api_queue(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    cases = await run_in_threadpool(site.service.queue, _actor(user))
    now = site.service.clock.now()
    return {"cases": [{**_case_dict(c), "seconds_left": seconds_left(c.target_at, now)}
                      for c in cases]}


@api("GET", CASE, "One case: reports (text evidence hidden), decisions, appeal, notes, "
     "evidence records and its audit trail", response=CaseDetail)
async def api_case(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    view = await run_in_threadpool(site.service.view, _case_id(request), _actor(user))
    return {**_view_dict(view, revealed=False),
            "seconds_left": seconds_left(view.case.target_at, site.service.clock.now())}


@api("POST", f"{CASE}/assign", "Assign the case (on appeal: not to the first reviewer)",
     body=AssignIn, response=Ok, errors=(409,), allow=WORK)
async def api_assign(request: Request, site: ReportsSite, user: User | None,
                     body: AssignIn) -> Any:
    await run_in_threadpool(site.service.assign, _case_id(request), body.assignee,
                            _actor(user))
    return {"ok": True}


@api("POST", f"{CASE}/state", "Move the case (new, triage, action, closed; a critical case "
     "closes only by a decision)", body=StateIn,
     response=Ok, errors=(409,), allow=WORK)
async def api_state(request: Request, site: ReportsSite, user: User | None,
                    body: StateIn) -> Any:
    await run_in_threadpool(site.service.move, _case_id(request), body.state, _actor(user))
    return {"ok": True}


@api("POST", f"{CASE}/notes", "Add a note", body=NoteIn, response=Created, status=201, allow=WORK)
async def api_note(request: Request, site: ReportsSite, user: User | None,
                   body: NoteIn) -> Any:
    note = await run_in_threadpool(site.service.add_note, _case_id(request), _actor(user),
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
        service.decide, _case_id(request), _actor(user), statement, body.dsa.fields(),
        unfounded=body.unfounded))
    return {"id": decision.id, "status": decision.status, "statement": statement.to_dict(),
            "dsa": json.loads(decision.statement)}


@api("GET", f"{CASE}/notice", "The statement of reasons for the affected account (no reporter "
     "details), with the appeal deadline", response=Notice)
async def api_notice(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    notice = await run_in_threadpool(site.service.affected_notice, _case_id(request))
    if notice is None:
        raise NotFound("no decision on this case yet", field="case_id")
    return notice


@api("POST", f"{CASE}/appeal", "Record an appeal from the affected account (received by staff "
     "through any channel)", body=AppealIn, response=AppealRecorded, status=201,
     errors=(409,), allow=WORK)
async def api_account_appeal(request: Request, site: ReportsSite, user: User | None,
                             body: AppealIn) -> Any:
    appeal = await run_in_threadpool(site.service.appeal_case, _case_id(request),
                                     body.reason, f"{_actor(user)} for the account")
    return {"id": appeal.id, "previous_reviewer": appeal.previous_reviewer}


@api("POST", f"{CASE}/escalate", "Record the referral fields given, build and preserve the "
     "escalation package for a hotline or the competent authority", body=EscalateIn,
     allow=ESCALATE, response=escalation_schema(), status=201)
async def api_escalate(request: Request, site: ReportsSite, user: User | None,
                       body: EscalateIn) -> Any:
    return await run_in_threadpool(site.service.escalate, _case_id(request), _actor(user),
                                   body.authority, body.hosting_ips, body.referral)


@api("GET", f"{CASE}/export", "The escalation package as JSON or XML (schemas in "
     "kidshield/reports/schemas)", query=ExportQuery, allow=ESCALATE,
     response=escalation_schema(), also=("application/xml",))
async def api_export(request: Request, site: ReportsSite, user: User | None,
                     query: ExportQuery) -> Any:
    package = await run_in_threadpool(site.service.package, _case_id(request), _actor(user))
    if query.format == "xml":
        return Response(escalation.to_xml(package), media_type="application/xml")
    return package


@api("POST", f"{CASE}/legal-hold", "Keep the case past its retention time, or release it",
     body=HoldIn, allow=ESCALATE, response=Hold)
async def api_hold(request: Request, site: ReportsSite, user: User | None,
                   body: HoldIn) -> Any:
    await run_in_threadpool(site.service.set_legal_hold, _case_id(request), body.on,
                            _actor(user))
    return {"legal_hold": body.on}


@api("POST", f"{CASE}/reveal", "Show the text evidence (counts toward today's exposure)",
     response=Revealed, allow=WORK)
async def api_reveal(request: Request, site: ReportsSite, user: User | None, _b: None) -> Any:
    service = site.service
    case_id = _case_id(request)
    count = await run_in_threadpool(service.reveal, case_id, _actor(user))
    view = await run_in_threadpool(service.view, case_id, _actor(user))
    return {"reveals_today": count,
            "reports": _view_dict(view, revealed=True)["reports_detail"]}


def _period(request: Request, site: ReportsSite) -> tuple[datetime, datetime]:
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
    start, end = _period(request, site)
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


# -- HTML pages -----------------------------------------------------------------------------------


def _staff(request: Request) -> User:
    user = current_user(request)
    if user is None:  # the route's rule lets only staff in; this keeps the type checker sure
        raise HTTPException(401, "sign in first")
    return user


async def queue_page(request: Request, site: ReportsSite) -> Response:
    user = _staff(request)
    cases = await run_in_threadpool(site.service.queue, _actor(user))
    return render("queue.html", cases=cases, user=user,
                  exposure=site.service.exposure_today(_actor(user)),
                  countdown=countdown_text, now=site.service.clock.now())


async def case_page(request: Request, site: ReportsSite, *,
                    revealed: bool = False) -> Response:
    user = _staff(request)
    service = site.service
    case_id = _case_id(request)
    try:
        view = await run_in_threadpool(service.view, case_id, _actor(user))
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    now = service.clock.now()
    return render(
        "case.html", view=view, user=user, abuse=view.case.case_type == CaseType.ABUSE_MATERIAL,
        reports=[(r, json.loads(r.detail)) for r in view.reports], states=list(CaseState),
        grounds=GROUND_TEXT, actions=ACTION_TEXT, exposure=service.exposure_today(_actor(user)),
        error=request.query_params.get("error", ""), revealed=revealed,
        critical=is_critical(view.case.case_type, view.case.imminent_danger),
        countdown=countdown_text(view.case.target_at, now),
        overdue=(seconds_left(view.case.target_at, now) or 0) < 0,
        emergency=service.settings.emergency, referral=view.referral,
        pending=view.pending_decision, content_types=CONTENT_TYPES, now=now,
        csrf=page_token(request),
    )


async def case_form(request: Request, site: ReportsSite, action: str) -> Response:
    """No-JavaScript forms of the case page: one POST per action (each its own route, with
    the permission it needs: ``FORM_ACTIONS``), then back to the page."""
    user = _staff(request)
    service = site.service
    case_id = _case_id(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    actor = _actor(user)
    if action == "reveal":
        await run_in_threadpool(service.reveal, case_id, actor)
        return await case_page(request, site, revealed=True)
    try:
        if action == "assign":
            body: Any = AssignIn.model_validate(form)
            await run_in_threadpool(service.assign, case_id, body.assignee, actor)
        elif action == "state":
            body = StateIn.model_validate(form)
            await run_in_threadpool(service.move, case_id, body.state, actor)
        elif action == "note":
            body = NoteIn.model_validate(form)
            await run_in_threadpool(service.add_note, case_id, actor, body.text)
        elif action == "decision":
            body = DecisionIn.model_validate(hotline_forms.decision(form))
            await run_in_threadpool(partial(
                service.decide, case_id, actor, StatementOfReasons(
                    body.facts, body.ground, body.action, body.appeal,
                    service.settings.appeal_window.days),
                body.dsa.fields(), unfounded=body.unfounded))
        elif action in hotline_forms.ACTIONS:
            await hotline_forms.handle(request, service, case_id, actor, action, form)
        elif action == "escalate":
            ips = [v for v in form.get("hosting_ips", "").replace(",", " ").split() if v]
            body = EscalateIn.model_validate({"authority": form.get("authority", ""),
                                              "hosting_ips": ips})
            await run_in_threadpool(service.escalate, case_id, actor, body.authority,
                                    body.hosting_ips)
        elif action == "hold":
            await run_in_threadpool(service.set_legal_hold, case_id, form.get("on") == "1",
                                    actor)
        else:
            raise HTTPException(404, "no such action")
    except ValidationError as exc:
        field, message = first_error(exc)
        return RedirectResponse(f"/cases/{case_id}?error={quote(f'{field}: {message}')}",
                                status_code=303)
    except (InputError, Conflict) as exc:
        return RedirectResponse(f"/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def transparency_page(request: Request, site: ReportsSite) -> Response:
    try:
        start, end = _period(request, site)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    figures = await run_in_threadpool(tr.figures_from_store, site.service.store,
                                      start, end, site.service.clock.now())
    return HTMLResponse(tr.to_html(figures))


# The case page's forms, and what each needs.
FORM_ACTIONS: dict[str, Permission] = {
    "reveal": WORK, "assign": WORK, "state": WORK, "note": WORK, "decision": WORK,
    "signoff": WORK, "police": WORK,
    "escalate": ESCALATE, "hold": ESCALATE, "referral": ESCALATE, "escalation-closed": ESCALATE,
}


def _form_route(site: ReportsSite, action: str, allow: Permission) -> BaseRoute:
    async def handle(request: Request, site: ReportsSite) -> Response:
        return await case_form(request, site, action)

    handle.__name__ = f"case_{action.replace('-', '_')}"
    return page(f"/cases/{{case_id}}/{action}", bind(handle, site), allow, methods=("POST",))


def staff_routes(site: ReportsSite) -> list[BaseRoute]:
    return [
        page("/cases", bind(queue_page, site), READ),
        page("/cases/transparency", bind(transparency_page, site), READ),
        page("/cases/{case_id}", bind(case_page, site), READ),
        *(_form_route(site, action, allow) for action, allow in FORM_ACTIONS.items()),
        *api.routes(site),
    ]


# the hotline routes register on ``api`` above
from kidshield.reports import staff_hotline as _hotline  # noqa: E402,F401
