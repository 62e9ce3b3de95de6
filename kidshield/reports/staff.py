"""Staff routes: the case queue and case pages (HTML) and the cases API (JSON). Every route
calls ``require_role``; every view and change goes through the service, which audits it.

Wellbeing: abuse-material cases show metadata and hashes only (kidshield never holds images);
text evidence is not even sent to the browser until the staff member chooses to reveal it (the
page shows a blurred placeholder), and each reveal counts toward their exposure for the day.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kidshield.errors import InputError
from kidshield.reports import escalation
from kidshield.reports import transparency as tr
from kidshield.reports.api_models import (
    AppealIn,
    AssignIn,
    DecisionIn,
    EscalateIn,
    HoldIn,
    NoteIn,
    StateIn,
    first_error,
)
from kidshield.reports.model import (
    ACTION_TEXT,
    GROUND_TEXT,
    CaseState,
    CaseType,
    StatementOfReasons,
)
from kidshield.reports.service import CaseNotFound, CaseView, ReviewerConflict
from kidshield.reports.web import ReportsSite, json_error, render
from kidshield.storage.protocols import CaseRecord
from kidshield.web.access import User, require_role
from kidshield.web.feature import bind

STAFF = ("moderator", "analyst")
Handler = Callable[[Request, ReportsSite], Awaitable[Response]]


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
    }


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
            {"at": d.at.isoformat(), "reviewer": d.reviewer, "facts": d.facts,
             "ground": d.ground, "action": d.action, "on_appeal": d.on_appeal,
             "reverses": d.reverses}
            for d in view.decisions
        ],
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


StaffHandler = Callable[[Request, ReportsSite, User], Awaitable[Response]]


def _guard(*roles: str) -> Callable[[StaffHandler], Handler]:
    """Require a role, then turn expected errors into 4xx JSON naming the field."""

    def wrap(handler: StaffHandler) -> Handler:
        async def wrapped(request: Request, site: ReportsSite) -> Response:
            user = require_role(request, *roles)
            try:
                return await handler(request, site, user)
            except ValidationError as exc:
                return json_error(422, *first_error(exc))
            except CaseNotFound as exc:
                return json_error(404, "case_id", str(exc))
            except ReviewerConflict as exc:
                return json_error(409, "reviewer", str(exc))
            except InputError as exc:
                return json_error(409, None, str(exc))

        return wrapped

    return wrap


def _case_id(request: Request) -> int:
    text = request.path_params["case_id"]
    if not text.isdigit():
        raise HTTPException(404, "no such case")
    return int(text)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise InputError("the body is too large")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise InputError("the body is not valid JSON") from None
    return model.model_validate(data)


def _actor(user: User) -> str:
    return user.name


# -- API ------------------------------------------------------------------------------------------


@_guard(*STAFF)
async def api_queue(request: Request, site: ReportsSite, user: User) -> Response:
    cases = await run_in_threadpool(site.service.queue, _actor(user))
    return JSONResponse({"cases": [_case_dict(c) for c in cases]})


@_guard(*STAFF)
async def api_case(request: Request, site: ReportsSite, user: User) -> Response:
    view = await run_in_threadpool(site.service.view, _case_id(request), _actor(user))
    return JSONResponse(_view_dict(view, revealed=False))


@_guard(*STAFF)
async def api_assign(request: Request, site: ReportsSite, user: User) -> Response:
    body: AssignIn = await _body(request, AssignIn)
    await run_in_threadpool(site.service.assign, _case_id(request), body.assignee,
                            _actor(user))
    return JSONResponse({"ok": True})


@_guard(*STAFF)
async def api_state(request: Request, site: ReportsSite, user: User) -> Response:
    body: StateIn = await _body(request, StateIn)
    await run_in_threadpool(site.service.move, _case_id(request), body.state,
                            _actor(user))
    return JSONResponse({"ok": True})


@_guard(*STAFF)
async def api_note(request: Request, site: ReportsSite, user: User) -> Response:
    body: NoteIn = await _body(request, NoteIn)
    note = await run_in_threadpool(site.service.add_note, _case_id(request),
                                   _actor(user), body.text)
    return JSONResponse({"id": note.id}, status_code=201)


@_guard(*STAFF)
async def api_decision(request: Request, site: ReportsSite, user: User) -> Response:
    body: DecisionIn = await _body(request, DecisionIn)
    statement = StatementOfReasons(body.facts, body.ground, body.action, body.appeal)
    decision = await run_in_threadpool(site.service.decide, _case_id(request),
                                       _actor(user), statement)
    return JSONResponse({"id": decision.id, "statement": statement.to_dict()}, status_code=201)


@_guard(*STAFF)
async def api_notice(request: Request, site: ReportsSite, user: User) -> Response:
    """The statement of reasons to send to the affected account (no reporter details)."""
    notice = await run_in_threadpool(site.service.affected_notice, _case_id(request))
    if notice is None:
        return json_error(404, "case_id", "no decision on this case yet")
    return JSONResponse(notice)


@_guard(*STAFF)
async def api_account_appeal(request: Request, site: ReportsSite, user: User) -> Response:
    """Record an appeal from the affected account (received by staff through any channel)."""
    body: AppealIn = await _body(request, AppealIn)
    appeal = await run_in_threadpool(site.service.appeal_case, _case_id(request),
                                     body.reason, f"{_actor(user)} for the account")
    return JSONResponse({"id": appeal.id, "previous_reviewer": appeal.previous_reviewer},
                        status_code=201)


@_guard("analyst")
async def api_escalate(request: Request, site: ReportsSite, user: User) -> Response:
    body: EscalateIn = await _body(request, EscalateIn)
    package = await run_in_threadpool(site.service.escalate, _case_id(request),
                                      _actor(user), body.authority, body.hosting_ips)
    return JSONResponse(package, status_code=201)


@_guard("analyst")
async def api_export(request: Request, site: ReportsSite, user: User) -> Response:
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "xml"):
        return json_error(422, "format", "format must be json or xml")
    service = site.service
    view = await run_in_threadpool(service.view, _case_id(request), _actor(user))
    package = escalation.build_package(view, service.clock.now())
    if fmt == "xml":
        return Response(escalation.to_xml(package), media_type="application/xml")
    return JSONResponse(package)


@_guard("analyst")
async def api_hold(request: Request, site: ReportsSite, user: User) -> Response:
    body: HoldIn = await _body(request, HoldIn)
    await run_in_threadpool(site.service.set_legal_hold, _case_id(request), body.on,
                            _actor(user))
    return JSONResponse({"legal_hold": body.on})


@_guard(*STAFF)
async def api_reveal(request: Request, site: ReportsSite, user: User) -> Response:
    service = site.service
    case_id = _case_id(request)
    count = await run_in_threadpool(service.reveal, case_id, _actor(user))
    view = await run_in_threadpool(service.view, case_id, _actor(user))
    return JSONResponse({"reveals_today": count,
                         "reports": _view_dict(view, revealed=True)["reports_detail"]})


def _period(request: Request, site: ReportsSite) -> tuple[datetime, datetime]:
    today = site.service.clock.now().date()
    try:
        start = date.fromisoformat(request.query_params.get("from", "")) if \
            request.query_params.get("from") else today - timedelta(days=30)
        end = date.fromisoformat(request.query_params.get("to", "")) if \
            request.query_params.get("to") else today
    except ValueError:
        raise InputError("from and to are dates like 2026-01-31") from None
    if end < start:
        raise InputError("to is before from")
    return tr.period(start, end)


@_guard(*STAFF)
async def api_transparency(request: Request, site: ReportsSite, user: User) -> Response:
    start, end = _period(request, site)
    figures = await run_in_threadpool(tr.figures_from_store, site.service.store,
                                      start, end)
    fmt = request.query_params.get("format", "json")
    if fmt == "csv":
        return Response(tr.to_csv(figures), media_type="text/csv")
    if fmt == "html":
        return HTMLResponse(tr.to_html(figures))
    return JSONResponse(json.loads(json.dumps(figures, default=_plain)))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(type(value))


# -- HTML pages -----------------------------------------------------------------------------------


async def queue_page(request: Request, site: ReportsSite) -> Response:
    user = require_role(request, *STAFF)
    cases = await run_in_threadpool(site.service.queue, _actor(user))
    return render("queue.html", cases=cases, user=user,
                  exposure=site.service.exposure_today(_actor(user)))


async def case_page(request: Request, site: ReportsSite, *,
                    revealed: bool = False) -> Response:
    user = require_role(request, *STAFF)
    service = site.service
    case_id = _case_id(request)
    try:
        view = await run_in_threadpool(service.view, case_id, _actor(user))
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return render(
        "case.html", view=view, user=user, abuse=view.case.case_type == CaseType.ABUSE_MATERIAL,
        reports=[(r, json.loads(r.detail)) for r in view.reports], states=list(CaseState),
        grounds=GROUND_TEXT, actions=ACTION_TEXT, exposure=service.exposure_today(_actor(user)),
        error=request.query_params.get("error", ""), revealed=revealed,
    )


async def case_form(request: Request, site: ReportsSite) -> Response:
    """No-JavaScript forms of the case page: one POST per action, then back to the page."""
    user = require_role(request, *STAFF)
    service = site.service
    case_id = _case_id(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    action = request.path_params["action"]
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
            body = DecisionIn.model_validate(form)
            await run_in_threadpool(service.decide, case_id, actor, StatementOfReasons(
                body.facts, body.ground, body.action, body.appeal))
        elif action == "escalate":
            require_role(request, "analyst")
            ips = [v for v in form.get("hosting_ips", "").replace(",", " ").split() if v]
            body = EscalateIn.model_validate({"authority": form.get("authority", ""),
                                              "hosting_ips": ips})
            await run_in_threadpool(service.escalate, case_id, actor, body.authority,
                                    body.hosting_ips)
        elif action == "hold":
            require_role(request, "analyst")
            await run_in_threadpool(service.set_legal_hold, case_id, form.get("on") == "1",
                                    actor)
        else:
            raise HTTPException(404, "no such action")
    except ValidationError as exc:
        field, message = first_error(exc)
        return RedirectResponse(f"/cases/{case_id}?error={quote(f'{field}: {message}')}",
                                status_code=303)
    except InputError as exc:
        return RedirectResponse(f"/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def transparency_page(request: Request, site: ReportsSite) -> Response:
    require_role(request, *STAFF)
    try:
        start, end = _period(request, site)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    figures = await run_in_threadpool(tr.figures_from_store, site.service.store,
                                      start, end)
    return HTMLResponse(tr.to_html(figures))


def staff_routes(site: ReportsSite) -> list[BaseRoute]:
    case = "/api/v1/cases/{case_id}"
    return [
        Route("/cases", bind(queue_page, site), methods=["GET"]),
        Route("/cases/transparency", bind(transparency_page, site), methods=["GET"]),
        Route("/cases/{case_id}", bind(case_page, site), methods=["GET"]),
        Route("/cases/{case_id}/{action}", bind(case_form, site), methods=["POST"]),
        Route("/api/v1/cases", bind(api_queue, site), methods=["GET"]),
        Route("/api/v1/cases/transparency", bind(api_transparency, site), methods=["GET"]),
        Route(case, bind(api_case, site), methods=["GET"]),
        Route(f"{case}/assign", bind(api_assign, site), methods=["POST"]),
        Route(f"{case}/state", bind(api_state, site), methods=["POST"]),
        Route(f"{case}/notes", bind(api_note, site), methods=["POST"]),
        Route(f"{case}/decision", bind(api_decision, site), methods=["POST"]),
        Route(f"{case}/notice", bind(api_notice, site), methods=["GET"]),
        Route(f"{case}/appeal", bind(api_account_appeal, site), methods=["POST"]),
        Route(f"{case}/escalate", bind(api_escalate, site), methods=["POST"]),
        Route(f"{case}/export", bind(api_export, site), methods=["GET"]),
        Route(f"{case}/legal-hold", bind(api_hold, site), methods=["POST"]),
        Route(f"{case}/reveal", bind(api_reveal, site), methods=["POST"]),
    ]
