"""The staff's pages: the case queue, the case page with its no-JavaScript forms (one route
per action, each with the permission it needs) and the transparency dashboard; and
``staff_routes``, which serves them with the cases API.

Wellbeing: abuse-material cases show metadata and hashes only (kidshield never holds images);
text evidence is not even sent to the browser until the staff member chooses to reveal it (the
page shows a blurred placeholder), and each reveal counts toward their exposure for the day.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import Conflict, InputError
from kidshield.reports import staff_forms as hotline_forms
from kidshield.reports import transparency as tr
from kidshield.reports.api_models import (
    AssignIn,
    DecisionIn,
    EscalateIn,
    MergeIn,
    NoteIn,
    StateIn,
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
from kidshield.reports.service import CaseNotFound
from kidshield.reports.staff import (
    ESCALATE,
    READ,
    WORK,
    actor_of,
    api,
    case_id_of,
    period_of,
)
from kidshield.reports.web import ReportsSite, render
from kidshield.web.access import Permission, User, current_user
from kidshield.web.csrf import page_token
from kidshield.web.feature import bind
from kidshield.web.routing import page

# -- HTML pages -----------------------------------------------------------------------------------


def _staff(request: Request) -> User:
    user = current_user(request)
    if user is None:  # the route's rule lets only staff in; this keeps the type checker sure
        raise HTTPException(401, "sign in first")
    return user


async def queue_page(request: Request, site: ReportsSite) -> Response:
    user = _staff(request)
    cases = await run_in_threadpool(site.service.queue, actor_of(user))
    return render("queue.html", cases=cases, user=user,
                  exposure=site.service.exposure_today(actor_of(user)),
                  countdown=countdown_text, now=site.service.clock.now())


async def case_page(request: Request, site: ReportsSite, *,
                    revealed: bool = False) -> Response:
    user = _staff(request)
    service = site.service
    case_id = case_id_of(request)
    try:
        view = await run_in_threadpool(service.view, case_id, actor_of(user))
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    now = service.clock.now()
    return render(
        "case.html", view=view, user=user, abuse=view.case.case_type == CaseType.ABUSE_MATERIAL,
        reports=[(r, json.loads(r.detail)) for r in view.reports], states=list(CaseState),
        grounds=GROUND_TEXT, actions=ACTION_TEXT, exposure=service.exposure_today(actor_of(user)),
        error=request.query_params.get("error", ""), revealed=revealed,
        critical=is_critical(view.case.case_type, view.case.imminent_danger),
        countdown=countdown_text(view.case.target_at, now),
        overdue=(seconds_left(view.case.target_at, now) or 0) < 0,
        emergency=service.settings.emergency, referral=view.referral,
        pending=view.pending_decision, content_types=CONTENT_TYPES, now=now,
        csrf=page_token(request),
        workers=(None if service.case_workers is None
                 else await run_in_threadpool(service.case_workers)),
    )


async def case_form(request: Request, site: ReportsSite, action: str) -> Response:
    """No-JavaScript forms of the case page: one POST per action (each its own route, with
    the permission it needs: ``FORM_ACTIONS``), then back to the page."""
    user = _staff(request)
    service = site.service
    case_id = case_id_of(request)
    # the CSRF token every form carries was checked by the middleware; it is no field of the
    # bodies (which refuse unknown fields: "csrf: unknown field" failed assign, move, note and
    # the referral form in every browser)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf"}
    actor = actor_of(user)
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
        elif action == "merge":
            merge = MergeIn.model_validate(form)
            await run_in_threadpool(service.merge, merge.into, case_id, actor)
            return RedirectResponse(f"/cases/{merge.into}", status_code=303)
        elif action == "hold":
            await run_in_threadpool(service.set_legal_hold, case_id, form.get("on") == "1",
                                    actor)
        else:
            raise HTTPException(404, "no such action")
    except ValidationError as exc:
        field, message = first_error(exc)
        return RedirectResponse(f"/cases/{case_id}?error={quote(f'{field}: {message}')}",
                                status_code=303)
    except (InputError, Conflict, CaseNotFound) as exc:
        return RedirectResponse(f"/cases/{case_id}?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def transparency_page(request: Request, site: ReportsSite) -> Response:
    try:
        start, end = period_of(request, site)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    figures = await run_in_threadpool(tr.figures_from_store, site.service.store,
                                      start, end, site.service.clock.now())
    return HTMLResponse(tr.to_html(figures))


# The case page's forms, and what each needs.
FORM_ACTIONS: dict[str, Permission] = {
    "reveal": WORK, "assign": WORK, "state": WORK, "note": WORK, "decision": WORK,
    "signoff": WORK, "police": WORK, "merge": WORK,
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
