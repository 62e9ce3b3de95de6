"""Web routes of reports: the public intake form (adult and child-friendly), the reporter's
receipt and status page, the reports API, and (from ``staff``) the case queue.

``routes(site)`` gives the routes with their ``ReportsSite`` (the service, the country for
helplines, whether reporters may choose to keep their IP address, the rate limiter of the
public routes) bound in. Links other pages use:

- child page / block page: ``/report?for=child`` (add ``&url=...`` to prefill the address)
- block page "this should be open": ``/report?type=over_blocking&url=<blocked address>``
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from kidshield.errors import InputError, KidshieldError, NotFound, TooManyRequests, UnsupportedMedia
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helplines import Helpline, HelplineBook, HelplineProvider
from kidshield.reports import child_status
from kidshield.reports.api_models import (
    NO_UPLOADS,
    AppealIn,
    DraftIn,
    ReceiptOut,
    ReportIn,
    ReportStatusOut,
    Saved,
    first_error,
    upload_field,
)
from kidshield.reports.model import CaseType, ReporterRole, Source
from kidshield.reports.service import CaseNotFound, NewReport, ReportService, ReportStatus
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api, read_json
from kidshield.web.csrf import page_token
from kidshield.web.errors import N_
from kidshield.web.feature import bind
from kidshield.web.ratelimit import RateLimiter, client_key
from kidshield.web.render import translator_for
from kidshield.web.routing import FORM, Assets, page

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape()
)
templates.globals["child_status"] = child_status.words  # the child's status page, translated

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
# the child's form is translated (the English labels are msgids of the children's catalog)
CHILD_TYPES: list[tuple[CaseType, str]] = [
    (CaseType.GROOMING, N_("Someone I met online makes me feel uncomfortable or asks for "
                           "photos")),
    (CaseType.ABUSE_MATERIAL, N_("I saw sexual pictures or videos of a child")),
    (CaseType.SELF_HARM, N_("Someone talks about hurting themselves")),
    (CaseType.BULLYING, N_("Someone is being mean, threatening or bullying")),
    (CaseType.PRIVACY, N_("Someone shared my photo or my details")),
    (CaseType.OVER_BLOCKING, N_("A page I need for school is blocked")),
    (CaseType.UNDER_BLOCKING, N_("A page showed me something scary or not OK")),
    (CaseType.OTHER, N_("Something else")),
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
    limiter: RateLimiter  # the server's (kinds report.submit, report.draft, report.receipt)
    country: str = ""  # ISO code: which helplines the pages show
    keep_ip: bool = False  # offer reporters the choice to keep their IP address
    # the helplines in force (the operator's own too); None: the shipped ones for ``country``
    helplines: HelplineProvider | None = None
    public_transparency: bool = False  # /transparency open to everyone


def _helplines(site: ReportsSite) -> tuple[Helpline, ...]:
    """The helplines of the served app (with the operator's own), else the shipped ones."""
    if site.helplines is not None:
        book = site.helplines()
    else:
        book = HelplineBook(tuple(default_catalog().helplines), site.country)
    return book.choose()[:6]


def render(name: str, status_code: int = 200, request: Request | None = None,
           **context: Any) -> HTMLResponse:
    """A page; the child's version in the visitor's language (the adult form is English)."""
    t = translator_for(request) if request is not None and context.get("child") else None
    if request is not None:
        context.setdefault("csrf", page_token(request))  # every form carries it
    html = templates.get_template(name).render(
        _=t or (lambda text, **values: text.format(**values) if values else text),
        lang=t.lang if t else "en", dir=t.dir if t else "ltr", **context)
    return HTMLResponse(html, status_code=status_code)


LIMITED = "too many requests from this address; please try again in a few minutes"


def _wait(request: Request, site: ReportsSite, kind: str) -> float:
    """Seconds this client must wait before it may do ``kind`` again (0: go ahead; the
    event is counted). Kinds: submit, draft, receipt (a receipt code looked up or appealed:
    one allowance, so codes cannot be guessed through either)."""
    client = request.client.host if request.client else "unknown"
    return site.limiter.acquire((f"report.{kind}", client_key(client)))


def _limited_page(request: Request, site: ReportsSite, kind: str) -> Response | None:
    """A 429 page when this client has used up its allowance for ``kind``."""
    wait = _wait(request, site, kind)
    if not wait:
        return None
    return HTMLResponse(f"<p>{LIMITED}</p>", status_code=429,
                        headers={"Retry-After": str(int(wait) + 1)})


def _limit(request: Request, site: ReportsSite, kind: str) -> None:
    """For the API: refuse (429, Retry-After) when this client has used up ``kind``."""
    wait = _wait(request, site, kind)
    if wait:
        raise TooManyRequests(LIMITED, retry_after=wait)


def _is_upload(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "multipart/form-data" or kind.startswith(("image/", "video/")) or kind in (
        "application/octet-stream", "application/zip")


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
        good_faith=body.good_faith and not body.for_child,
        flagger_key=request.headers.get("x-flagger-key") or None,
    )


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
    return render("intake.html", request=request, **_form_context(site, values))


async def intake_submit(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited_page(request, site, "submit")) is not None:
        return limited
    if _is_upload(request):
        return render("refused.html", 415, message=NO_UPLOADS, request=request,
                      child=request.query_params.get("for") == "child")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return render("refused.html", 413, message="That report is too long.", child=False)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if len(values) != len(form) or upload_field(values):
        return render("refused.html", 415, message=NO_UPLOADS, child="for_child" in values,
                      request=request)
    data: dict[str, Any] = {
        k: v for k, v in values.items()
        if k in ReportIn.model_fields
        and k not in ("keep_ip", "imminent_danger", "for_child", "good_faith")
    }
    data["keep_ip"] = values.get("keep_ip") == "1"
    data["good_faith"] = values.get("good_faith") == "1"
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
        return render("intake.html", 422, request=request,
                      **_form_context(site, values, message, field))
    except InputError as exc:
        return render("intake.html", 422, request=request,
                      **_form_context(site, values, str(exc), "url"))
    if body.draft_token:
        await run_in_threadpool(service.store.delete_draft, body.draft_token)
    query = urlencode({"new": "1", **({"for": "child"} if body.for_child else {})})
    return RedirectResponse(f"/report/status/{receipt.code}?{query}", status_code=303)


async def status_page(request: Request, site: ReportsSite) -> Response:
    code = request.path_params.get("code") or request.query_params.get("code", "")
    child = request.query_params.get("for") == "child"
    if not code:
        return render("status.html", status=None, child=child, error="", request=request)
    if (limited := _limited_page(request, site, "receipt")) is not None:
        return limited
    try:
        status = await run_in_threadpool(site.service.status, code)
    except (CaseNotFound, InputError) as exc:
        return render("status.html", 404, status=None, child=child, error=str(exc), code=code,
                      request=request)
    return render("status.html", status=status, child=child, error="", request=request,
                  new=request.query_params.get("new") == "1", helplines=_helplines(site))


async def status_appeal(request: Request, site: ReportsSite) -> Response:
    if (limited := _limited_page(request, site, "receipt")) is not None:
        return limited
    code = request.path_params["code"]
    form = await request.form()
    reason = str(form.get("reason", ""))[:4000]
    child = form.get("for_child") == "1"
    try:
        await run_in_threadpool(site.service.appeal, code, reason)
    except (KidshieldError, ValueError) as exc:
        return render("status.html", 409, status=None, child=child, error=str(exc), code=code,
                      appeal_refused=True, request=request)
    return RedirectResponse(f"/report/status/{code}{'?for=child' if child else ''}",
                            status_code=303)


# -- public API -----------------------------------------------------------------------------------
api: Api[ReportsSite] = Api(
    "reports", "Report something harmful, anonymously if you like: no account, never a picture "
    "or file (give the web address). A receipt code shows the report's state and decision.",
    allow=Permission.PUBLIC)


async def read_report_json(request: Request, limit: int) -> Any:
    """A report's JSON body; pictures and files are refused with an explanation."""
    if _is_upload(request):
        raise UnsupportedMedia(NO_UPLOADS, field="body")
    data = await read_json(request, limit)
    if isinstance(data, dict) and (field := upload_field(data)) is not None:
        raise UnsupportedMedia(NO_UPLOADS, field=field)
    return data


@api("POST", "/reports", "File a report (anonymous allowed; never a picture or file). A "
     "trusted flagger sends its key as the X-Flagger-Key header.",
     body=ReportIn, response=ReceiptOut, status=201, errors=(401, 415, 429),
     reader=read_report_json, max_body=MAX_BODY, wrong_body=NO_UPLOADS)
async def api_submit(request: Request, site: ReportsSite, _user: User | None,
                     body: ReportIn) -> Any:
    _limit(request, site, "submit")
    receipt = await run_in_threadpool(
        site.service.submit, _new_report(body, request, site, Source.API))
    if body.draft_token:
        await run_in_threadpool(site.service.store.delete_draft, body.draft_token)
    return {"code": receipt.code, "status_url": f"/report/status/{receipt.code}",
            "api_url": f"/api/v1/reports/{receipt.code}",
            "held_until": None if receipt.held_until is None else receipt.held_until.isoformat()}


def _status_dict(status: ReportStatus) -> dict[str, Any]:
    return {
        "code": status.code,
        "received_at": status.received_at.isoformat(),
        "state": status.state.value,
        "state_text": status.state_text,
        "decision": status.decision,
        "appeal_open": status.appeal_open,
        "can_appeal": status.can_appeal,
        "appeal_deadline": None if status.appeal_deadline is None
        else status.appeal_deadline.isoformat(),
        "held_until": None if status.held_until is None else status.held_until.isoformat(),
    }


async def _status(site: ReportsSite, code: str) -> dict[str, Any]:
    try:
        return _status_dict(await run_in_threadpool(site.service.status, code))
    except (CaseNotFound, InputError) as exc:
        exc.field = exc.field or "code"
        raise


@api("GET", "/reports/{code}", "The report's state and, once decided, the statement of reasons",
     response=ReportStatusOut, errors=(422, 429))
async def api_status(request: Request, site: ReportsSite, _user: User | None,
                     _body: None) -> Any:
    _limit(request, site, "receipt")
    return await _status(site, request.path_params["code"])


@api("POST", "/reports/{code}/appeal", "Ask for another look at the decision (by someone else)",
     body=AppealIn, response=ReportStatusOut, status=201, errors=(409, 415, 429),
     reader=read_report_json, max_body=MAX_BODY, wrong_body=NO_UPLOADS)
async def api_appeal(request: Request, site: ReportsSite, _user: User | None,
                     body: AppealIn) -> Any:
    _limit(request, site, "receipt")
    code = request.path_params["code"]
    try:
        await run_in_threadpool(site.service.appeal, code, body.reason)
    except CaseNotFound as exc:
        exc.field = "code"
        raise
    return await _status(site, code)


@api("GET", "/reports/drafts/{token}", "A report being written, saved on the server so it "
     "can be finished in another browser",
     response=dict[str, str | bool], errors=(429,))
async def api_draft(request: Request, site: ReportsSite, _user: User | None,
                    _body: None) -> Any:
    _limit(request, site, "draft")
    draft = await run_in_threadpool(site.service.draft, request.path_params["token"])
    if draft is None:
        raise NotFound("no draft with that token", field="token")
    return draft


@api("PUT", "/reports/drafts/{token}", "Save a report being written (kept for the drafts "
     "retention time)", body=DraftIn, response=Saved, errors=(415, 429),
     reader=read_report_json, max_body=MAX_BODY, wrong_body=NO_UPLOADS)
async def api_save_draft(request: Request, site: ReportsSite, _user: User | None,
                         body: DraftIn) -> Any:
    _limit(request, site, "draft")
    clean = {k: v for k, v in body.root.items() if len(k) < 40}
    await run_in_threadpool(site.service.save_draft, request.path_params["token"], clean)
    return {"saved": True}


async def public_transparency(request: Request, site: ReportsSite) -> Response:
    """The transparency report for anyone, when the organisation publishes it (off by
    default): HTML, or CSV with ``format=csv``, over any period (``from``, ``to``)."""
    from kidshield.reports import transparency as tr
    from kidshield.reports.staff import _period

    if not site.public_transparency:
        raise HTTPException(404, "this server does not publish transparency figures")
    if (limited := _limited_page(request, site, "receipt")) is not None:
        return limited
    try:
        start, end = _period(request, site)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    service = site.service
    figures = await run_in_threadpool(tr.figures_from_store, service.store, start, end,
                                      service.clock.now())
    if request.query_params.get("format") == "csv":
        return Response(tr.to_csv(figures), media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="transparency.csv"'})
    return HTMLResponse(tr.to_html(figures, service.settings.organisation))


def routes(site: ReportsSite) -> list[BaseRoute]:
    """The public pages and API (anyone may report, without an account) and the staff's."""
    from kidshield.reports.staff import staff_routes

    anyone = Permission.PUBLIC
    form: dict[str, Any] = {"methods": ("POST",), "bodies": (FORM,), "max_body": MAX_BODY,
                            "wrong_body": NO_UPLOADS}
    return [
        page("/report", bind(intake_form, site), anyone),
        page("/report", bind(intake_submit, site), anyone, **form),
        page("/report/status", bind(status_page, site), anyone),
        page("/report/status/{code}", bind(status_page, site), anyone),
        page("/report/status/{code}/appeal", bind(status_appeal, site), anyone, **form),
        # published or not, the figures have no personal data (public_transparency decides)
        page("/transparency", bind(public_transparency, site), anyone),
        Assets("/report/assets", HERE / "static", name="report-assets"),
        *api.routes(site),
        *staff_routes(site),
    ]

