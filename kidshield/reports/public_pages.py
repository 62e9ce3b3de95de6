"""The reporter's pages: the intake form (adult and child-friendly), the receipt and status
page with its appeal form, and the published transparency report. No JavaScript needed; each
form posts back here and lands on the status page."""


from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kidshield.errors import InputError, KidshieldError
from kidshield.reports.api_models import (
    NO_UPLOADS,
    ReportIn,
    first_error,
    upload_field,
)
from kidshield.reports.model import Source
from kidshield.reports.service import CaseNotFound
from kidshield.reports.web import (
    ADULT_TYPES,
    CHILD_TYPES,
    MAX_BODY,
    ROLES,
    ReportsSite,
    helplines_for,
    is_upload,
    limited_page,
    new_report,
    render,
)
from kidshield.web.errors import status_of
from kidshield.web.render import translator_for
from kidshield.web.routing import ErrorPage
from kidshield.web.texts import door_text

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
        "helplines": helplines_for(site),
        "keep_ip_offered": site.keep_ip,
        "no_uploads": NO_UPLOADS,
    }


async def intake_form(request: Request, site: ReportsSite) -> Response:
    values = {k: v for k, v in request.query_params.items()
              if k in ("for", "url", "type", "draft")}
    if "type" in values:
        values["case_type"] = values.pop("type")
    return render("intake.html", request=request, **_form_context(site, values))


def child_intake_refused(site: ReportsSite) -> ErrorPage:
    """The child's report form (it posts to ``/report?for=child``) refused at the door (a
    stale page's token, a NUL): the child's form again, saying why in their language (it
    was the dashboard's error page). The adult form keeps the server's error page."""

    async def refused(request: Request, exc: Exception) -> Response:
        if request.query_params.get("for") != "child":
            raise exc
        status = status_of(exc)
        if status == 415:  # a picture or a file: the page that says why not
            return render("refused.html", 415, message=NO_UPLOADS, request=request, child=True)
        text = translator_for(request)(door_text(status, exc))
        page = render("intake.html", status, request=request,
                      **_form_context(site, {"for": "child"}, text))
        if isinstance(exc, HTTPException) and exc.headers:
            page.headers.update(exc.headers)
        return page

    return refused


async def intake_submit(request: Request, site: ReportsSite) -> Response:
    if (limited := limited_page(request, site, "submit")) is not None:
        return limited
    if is_upload(request):
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
                                          new_report(body, request, site, Source.WEB))
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
    if (limited := limited_page(request, site, "receipt")) is not None:
        return limited
    try:
        status = await run_in_threadpool(site.service.status, code)
    except (CaseNotFound, InputError) as exc:
        return render("status.html", 404, status=None, child=child, error=str(exc), code=code,
                      request=request)
    return render("status.html", status=status, child=child, error="", request=request,
                  new=request.query_params.get("new") == "1", helplines=helplines_for(site))


async def status_appeal(request: Request, site: ReportsSite) -> Response:
    if (limited := limited_page(request, site, "receipt")) is not None:
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


async def public_transparency(request: Request, site: ReportsSite) -> Response:
    """The transparency report for anyone, when the organisation publishes it (off by
    default): HTML, or CSV with ``format=csv``, over any period (``from``, ``to``)."""
    from kidshield.reports import transparency as tr
    from kidshield.reports.staff import period_of

    if not site.public_transparency:
        raise HTTPException(404, "this server does not publish transparency figures")
    if (limited := limited_page(request, site, "receipt")) is not None:
        return limited
    try:
        start, end = period_of(request, site)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    service = site.service
    figures = await run_in_threadpool(tr.figures_from_store, service.store, start, end,
                                      service.clock.now())
    if request.query_params.get("format") == "csv":
        return Response(tr.to_csv(figures), media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="transparency.csv"'})
    return HTMLResponse(tr.to_html(figures, service.settings.organisation))
