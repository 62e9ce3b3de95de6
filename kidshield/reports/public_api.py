"""The reports API anyone may use, without an account (``/api/v1/reports``): file a report,
read its state and decision by receipt code, appeal, and keep a draft while writing."""


from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from kidshield.errors import InputError, NotFound, UnsupportedMedia
from kidshield.reports.api_answers import (
    ReceiptOut,
    ReportStatusOut,
    Saved,
)
from kidshield.reports.api_models import (
    NO_UPLOADS,
    AppealIn,
    DraftIn,
    ReportIn,
    upload_field,
)
from kidshield.reports.model import Source
from kidshield.reports.service import CaseNotFound, ReportStatus
from kidshield.reports.web import MAX_BODY, ReportsSite, is_upload, new_report, rate_limit
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api, read_json

# -- public API -----------------------------------------------------------------------------------
api: Api[ReportsSite] = Api(
    "reports", "Report something harmful, anonymously if you like: no account, never a picture "
    "or file (give the web address). A receipt code shows the report's state and decision.",
    allow=Permission.PUBLIC)


async def read_report_json(request: Request, limit: int) -> Any:
    """A report's JSON body; pictures and files are refused with an explanation."""
    if is_upload(request):
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
    rate_limit(request, site, "submit")
    receipt = await run_in_threadpool(
        site.service.submit, new_report(body, request, site, Source.API))
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
    rate_limit(request, site, "receipt")
    return await _status(site, request.path_params["code"])


@api("POST", "/reports/{code}/appeal", "Ask for another look at the decision (by someone else)",
     body=AppealIn, response=ReportStatusOut, status=201, errors=(409, 415, 429),
     reader=read_report_json, max_body=MAX_BODY, wrong_body=NO_UPLOADS)
async def api_appeal(request: Request, site: ReportsSite, _user: User | None,
                     body: AppealIn) -> Any:
    rate_limit(request, site, "receipt")
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
    rate_limit(request, site, "draft")
    draft = await run_in_threadpool(site.service.draft, request.path_params["token"])
    if draft is None:
        raise NotFound("no draft with that token", field="token")
    return draft


@api("PUT", "/reports/drafts/{token}", "Save a report being written (kept for the drafts "
     "retention time)", body=DraftIn, response=Saved, errors=(415, 429),
     reader=read_report_json, max_body=MAX_BODY, wrong_body=NO_UPLOADS)
async def api_save_draft(request: Request, site: ReportsSite, _user: User | None,
                         body: DraftIn) -> Any:
    rate_limit(request, site, "draft")
    clean = {k: v for k, v in body.root.items() if len(k) < 40}
    await run_in_threadpool(site.service.save_draft, request.path_params["token"], clean)
    return {"saved": True}
