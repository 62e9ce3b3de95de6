"""Web routes of reports: the public intake form (adult and child-friendly), the reporter's
receipt and status page, the reports API, and (from ``staff``) the case queue.

``routes(site)`` gives the routes with their ``ReportsSite`` (the service, the country for
helplines, whether reporters may choose to keep their IP address, the rate limiter of the
public routes) bound in. Links other pages use:

- child page / block page: ``/report?for=child`` (add ``&url=...`` to prefill the address)
- block page "this should be open": ``/report?type=over_blocking&url=<blocked address>``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kidshield.errors import InputError, KidshieldError
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import Helpline, HelplineBook
from kidshield.reports.api_models import (
    NO_UPLOADS,
    AppealIn,
    ReportIn,
    first_error,
    upload_field,
)
from kidshield.reports.model import CaseType, ReporterRole, Source
from kidshield.reports.ratelimit import RateLimiter
from kidshield.reports.service import CaseNotFound, NewReport, ReportService, ReportStatus
from kidshield.web.feature import bind

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape()
)

# Questions in priority order: the most urgent harms first.
ADULT_TYPES: list[tuple[CaseType, str]] = [
    (CaseType.ABUSE_MATERIAL, "Sexual pictures or videos of a child"),
    (CaseType.GROOMING, "Someone trying to get close to a child in a sexual way, asking for "
                        "pictures, or asking to meet in secret"),
    (CaseType.SELF_HARM, "Self-harm or suicide"),
    (CaseType.BULLYING, "Bullying, threats or hate"),
    (CaseType.PRIVACY, "Private information or pictures shared without permission"),
    (CaseType.UNDER_BLOCKING, "A page that should be blocked is open"),
    (CaseType.OVER_BLOCKING, "A page that should be open is blocked"),
    (CaseType.OTHER, "Something else"),
]
CHILD_TYPES: list[tuple[CaseType, str]] = [
    (CaseType.GROOMING, "Someone I met online makes me feel uncomfortable or asks for photos"),
    (CaseType.ABUSE_MATERIAL, "I saw sexual pictures or videos of a child"),
    (CaseType.SELF_HARM, "Someone talks about hurting themselves"),
    (CaseType.BULLYING, "Someone is being mean, threatening or bullying"),
    (CaseType.PRIVACY, "Someone shared my photo or my details"),
    (CaseType.OVER_BLOCKING, "A page I need for school is blocked"),
    (CaseType.UNDER_BLOCKING, "A page showed me something scary or not OK"),
    (CaseType.OTHER, "Something else"),
]
ROLES: list[tuple[ReporterRole, str]] = [
    (ReporterRole.ANONYMOUS, "I'd rather not say"),
    (ReporterRole.CHILD, "A child or young person"),
    (ReporterRole.PARENT, "A parent or carer"),
    (ReporterRole.TEACHER, "A teacher or school staff"),
    (ReporterRole.OTHER, "Someone else"),
]


@dataclass
class ReportsSite:
    """What the reports routes work with."""

    service: ReportService
    country: str = ""  # ISO code: which helplines the pages show
    keep_ip: bool = False  # offer reporters the choice to keep their IP address
    limiter: RateLimiter = field(default_factory=RateLimiter)
    # the helplines in force (the operator's own too); None: the shipped ones for ``country``
    helplines: Callable[[], HelplineBook] | None = None


def _helplines(site: ReportsSite) -> tuple[Helpline, ...]:
    """The helplines of the served app (with the operator's own), else the shipped ones."""
    if site.helplines is not None:
        book = site.helplines()
    else:
        book = HelplineBook(tuple(default_catalog().helplines), site.country)
    return book.choose()[:6]


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


def json_error(status: int, field: str | None, message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _limited(request: Request, site: ReportsSite, kind: str) -> Response | None:
    """A 429 response when this client has used up its allowance for ``kind``."""
    limiter = site.limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(kind, client)
    if not wait:
        return None
    headers = {"Retry-After": str(int(wait) + 1)}
    message = "too many requests from this address; please try again in a few minutes"
    if request.url.path.startswith("/api/"):
        response: Response = json_error(429, None, message)
        response.headers.update(headers)
        return response
    return HTMLResponse(f"<p>{message}</p>", status_code=429, headers=headers)


def _is_upload(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "multipart/form-data" or kind.startswith(("image/", "video/")) or kind in (
        "application/octet-stream", "application/zip")


async def _body(request: Request) -> bytes:
    """The request body, refused over MAX_BODY (read in chunks, never stored)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise _TooLarge
    return bytes(data)


class _TooLarge(Exception):
    pass


def _new_report(body: ReportIn, request: Request, site: ReportsSite,
                source: Source) -> NewReport:
    keep_ip = body.keep_ip and site.keep_ip
    role = ReporterRole.CHILD if body.for_child else body.reporter_role
    return NewReport(
        source=Source.CHILD_FORM if body.for_child and source is Source.WEB else source,
        case_type=body.case_type,
        url=body.url,
        account=body.account,
        description=body.description,
        reporter_role=role,
        contact=body.contact or None,
        reporter_ip=request.client.host if keep_ip and request.client else None,
        imminent_danger=body.imminent_danger,
    )


def _status_dict(status: ReportStatus) -> dict[str, Any]:
    return {
        "code": status.code,
        "received_at": status.received_at.isoformat(),
        "state": status.state.value,
        "state_text": status.state_text,
        "decision": status.decision,
        "appeal_open": status.appeal_open,
        "can_appeal": status.can_appeal,
    }


# -- public pages ---------------------------------------------------------------------------------


def _form_context(site: ReportsSite, values: dict[str, Any], error: str = "",
                  field: str = "") -> dict[str, Any]:
    child = values.get("for") == "child" or values.get("for_child") in ("1", "true", True)
    return {
        "child": child,
        "types": CHILD_TYPES if child else ADULT_TYPES,
        "roles": ROLES,
        "values": values,
        "error": error,
        "error_field": field,
        "helplines": _helplines(site),
        "keep_ip_offered": site.keep_ip,
        "no_uploads": NO_UPLOADS,
    }


async def intake_form(request: Request, site: ReportsSite) -> Response:
    values = {k: v for k, v in request.query_params.items()
              if k in ("for", "url", "type", "draft")}
    if "type" in values:
        values["case_type"] = values.pop("type")
    return render("intake.html", **_form_context(site, values))


async def intake_submit(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited(request, site, "submit")) is not None:
        return limited
    if _is_upload(request):
        return render("refused.html", 415, message=NO_UPLOADS,
                      child=request.query_params.get("for") == "child")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return render("refused.html", 413, message="That report is too long.", child=False)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if len(values) != len(form) or upload_field(values):
        return render("refused.html", 415, message=NO_UPLOADS, child="for_child" in values)
    data: dict[str, Any] = {
        k: v for k, v in values.items()
        if k in ReportIn.model_fields and k not in ("keep_ip", "imminent_danger", "for_child")
    }
    data["keep_ip"] = values.get("keep_ip") == "1"
    data["imminent_danger"] = values.get("imminent_danger") == "yes"
    data["for_child"] = values.get("for_child") == "1"
    for optional in ("url", "account", "contact"):
        if not data.get(optional):
            data.pop(optional, None)
    try:
        body = ReportIn.model_validate(data)
        service = site.service
        receipt = await run_in_threadpool(service.submit,
                                          _new_report(body, request, site, Source.WEB))
    except ValidationError as exc:
        field, message = first_error(exc)
        return render("intake.html", 422, **_form_context(site, values, message, field))
    except InputError as exc:
        return render("intake.html", 422, **_form_context(site, values, str(exc), "url"))
    if body.draft_token:
        await run_in_threadpool(service.store.delete_draft, body.draft_token)
    query = urlencode({"new": "1", **({"for": "child"} if body.for_child else {})})
    return RedirectResponse(f"/report/status/{receipt.code}?{query}", status_code=303)


async def status_page(request: Request, site: ReportsSite) -> Response:
    code = request.path_params.get("code") or request.query_params.get("code", "")
    child = request.query_params.get("for") == "child"
    if not code:
        return render("status.html", status=None, child=child, error="")
    if (limited := _limited(request, site, "status")) is not None:
        return limited
    try:
        status = await run_in_threadpool(site.service.status, code)
    except (CaseNotFound, InputError) as exc:
        return render("status.html", 404, status=None, child=child, error=str(exc), code=code)
    return render("status.html", status=status, child=child, error="",
                  new=request.query_params.get("new") == "1", helplines=_helplines(site))


async def status_appeal(request: Request, site: ReportsSite) -> Response:
    code = request.path_params["code"]
    form = await request.form()
    reason = str(form.get("reason", ""))[:4000]
    try:
        await run_in_threadpool(site.service.appeal, code, reason)
    except (KidshieldError, ValueError) as exc:
        return render("status.html", 409, status=None, child=False, error=str(exc), code=code)
    return RedirectResponse(f"/report/status/{code}", status_code=303)


# -- public API -----------------------------------------------------------------------------------


async def _json(request: Request) -> dict[str, Any] | Response:
    if _is_upload(request):
        return json_error(415, "body", NO_UPLOADS)
    try:
        data = json.loads(await _body(request) or b"{}")
    except _TooLarge:
        return json_error(413, "body", f"the body is larger than {MAX_BODY} bytes")
    except ValueError:
        return json_error(400, "body", "the body is not valid JSON")
    if not isinstance(data, dict):
        return json_error(400, "body", "the body must be a JSON object")
    field = upload_field(data)
    if field is not None:
        return json_error(415, field, NO_UPLOADS)
    return data


async def api_submit(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited(request, site, "submit")) is not None:
        return limited
    data = await _json(request)
    if isinstance(data, Response):
        return data
    try:
        body = ReportIn.model_validate(data)
        receipt = await run_in_threadpool(
            site.service.submit, _new_report(body, request, site, Source.API))
    except ValidationError as exc:
        return json_error(422, *first_error(exc))
    except InputError as exc:
        return json_error(422, "url", str(exc))
    return JSONResponse(
        {"code": receipt.code, "status_url": f"/report/status/{receipt.code}",
         "api_url": f"/api/v1/reports/{receipt.code}"},
        status_code=201,
    )


async def api_status(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited(request, site, "status")) is not None:
        return limited
    try:
        status = await run_in_threadpool(site.service.status, request.path_params["code"])
    except InputError as exc:
        return json_error(422, "code", str(exc))
    except CaseNotFound as exc:
        return json_error(404, "code", str(exc))
    return JSONResponse(_status_dict(status))


async def api_appeal(request: Request, site: ReportsSite) -> Response:
    data = await _json(request)
    if isinstance(data, Response):
        return data
    try:
        body = AppealIn.model_validate(data)
        await run_in_threadpool(site.service.appeal, request.path_params["code"],
                                body.reason)
        status = await run_in_threadpool(site.service.status, request.path_params["code"])
    except ValidationError as exc:
        return json_error(422, *first_error(exc))
    except CaseNotFound as exc:
        return json_error(404, "code", str(exc))
    except InputError as exc:
        return json_error(409, "code", str(exc))
    return JSONResponse(_status_dict(status), status_code=201)


async def api_draft(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited(request, site, "draft")) is not None:
        return limited
    token = request.path_params["token"]
    service = site.service
    if request.method == "GET":
        draft = await run_in_threadpool(service.draft, token)
        if draft is None:
            return json_error(404, "token", "no draft with that token")
        return JSONResponse(draft)
    data = await _json(request)
    if isinstance(data, Response):
        return data
    clean = {k: v for k, v in data.items() if isinstance(v, str | bool) and len(k) < 40}
    try:
        await run_in_threadpool(service.save_draft, token, clean)
    except InputError as exc:
        return json_error(422, "token", str(exc))
    return JSONResponse({"saved": True})


def routes(site: ReportsSite) -> list[BaseRoute]:
    from kidshield.reports.staff import staff_routes

    return [
        Route("/report", bind(intake_form, site), methods=["GET"]),
        Route("/report", bind(intake_submit, site), methods=["POST"]),
        Route("/report/status", bind(status_page, site), methods=["GET"]),
        Route("/report/status/{code}", bind(status_page, site), methods=["GET"]),
        Route("/report/status/{code}/appeal", bind(status_appeal, site), methods=["POST"]),
        Mount("/report/assets", StaticFiles(directory=HERE / "static"), name="report-assets"),
        Route("/api/v1/reports", bind(api_submit, site), methods=["POST"]),
        Route("/api/v1/reports/drafts/{token}", bind(api_draft, site), methods=["GET", "PUT"]),
        Route("/api/v1/reports/{code}", bind(api_status, site), methods=["GET"]),
        Route("/api/v1/reports/{code}/appeal", bind(api_appeal, site), methods=["POST"]),
        *staff_routes(site),
    ]

