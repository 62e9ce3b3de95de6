"""Staff API for hotline work, registered on the cases API group (``staff.api``): the second
reviewer's sign-off, the referral assessment, the emergency sheet and police notifications,
concluding an escalation, the exact preserved copy of an evidence record, the chain's public
key and check, and statements of reasons for the EU Transparency Database."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from kidshield.errors import NotFound
from kidshield.reports.api_answers import (
    ChainCheck,
    Ok,
    PoliceRecorded,
    SignedOff,
    statements_schema,
)
from kidshield.reports.api_models import (
    OutcomeIn,
    PoliceIn,
    ReferralIn,
    SignOffIn,
    StatementsQuery,
)
from kidshield.reports.staff import CASE, ESCALATE, WORK, actor_of, api, case_id_of, period_of
from kidshield.reports.web import ReportsSite
from kidshield.web.access import User
from kidshield.web.api.registry import row_id

REFERRAL_SCHEMA: dict[str, Any] = {"type": "object", "description": "the analyst's referral "
                                   "assessment (docs/reports.md, escalation format)"}
EMERGENCY_SCHEMA: dict[str, Any] = {"type": "object", "required": ["call", "tell_them"],
                                    "description": "who to call and what to tell them"}


@api("POST", f"{CASE}/sign-off", "A second reviewer confirms (approve) or rejects the "
     "decision waiting on a critical case", body=SignOffIn, response=SignedOff, errors=(409,),
     allow=WORK)
async def api_sign_off(request: Request, site: ReportsSite, user: User | None,
                       body: SignOffIn) -> Any:
    decision = await run_in_threadpool(site.service.sign_off, case_id_of(request),
                                       actor_of(user), body.approve, body.reason)
    return {"id": decision.id, "status": "final" if body.approve else "rejected"}


@api("GET", f"{CASE}/referral", "The analyst's referral assessment", allow=ESCALATE,
     response=REFERRAL_SCHEMA)
async def api_referral(request: Request, site: ReportsSite, user: User | None,
                       _b: None) -> Any:
    referral = await run_in_threadpool(site.service.referral, case_id_of(request))
    return referral.as_json()


@api("PUT", f"{CASE}/referral", "Change fields of the referral assessment (only those given)",
     body=ReferralIn, errors=(409,), allow=ESCALATE, response=REFERRAL_SCHEMA)
async def api_set_referral(request: Request, site: ReportsSite, user: User | None,
                           body: ReferralIn) -> Any:
    referral = await run_in_threadpool(site.service.set_referral, case_id_of(request),
                                       actor_of(user), body.root)
    return referral.as_json()


@api("GET", f"{CASE}/emergency", "Who to call and what to tell them when a child's life or "
     "safety is at risk (DSA Art. 18); nothing is sent by kidshield", response=EMERGENCY_SCHEMA)
async def api_emergency(request: Request, site: ReportsSite, user: User | None,
                        _b: None) -> Any:
    return await run_in_threadpool(site.service.emergency_sheet, case_id_of(request),
                                   actor_of(user))


@api("POST", f"{CASE}/police", "Record when, how and whom the police were told",
     body=PoliceIn, response=PoliceRecorded, status=201, errors=(409,), allow=WORK)
async def api_police(request: Request, site: ReportsSite, user: User | None,
                     body: PoliceIn) -> Any:
    record = await run_in_threadpool(partial(
        site.service.record_police, case_id_of(request), actor_of(user),
        notified_at=body.notified_at, authority=body.authority, method=body.method,
        reference=body.reference, summary=body.summary))
    return {"id": record.id, "notified_at": record.notified_at.isoformat()}


@api("POST", f"{CASE}/escalation-closed", "The authority concluded the referral: the case's "
     "evidence follows the normal retention again", body=OutcomeIn, allow=ESCALATE,
     response=Ok, errors=(409,))
async def api_escalation_closed(request: Request, site: ReportsSite, user: User | None,
                                body: OutcomeIn) -> Any:
    await run_in_threadpool(site.service.close_escalation, case_id_of(request), actor_of(user),
                            body.outcome)
    return {"ok": True}


@api("GET", f"{CASE}/evidence/{{record_id}}", "A preserved evidence record byte for byte, as "
     "a download (X-Content-SHA256 and X-Record-Hash say what the chain holds)",
     allow=ESCALATE, response={"type": "object"})
async def api_evidence_record(request: Request, site: ReportsSite, user: User | None,
                              _b: None) -> Any:
    record_id = row_id(request.path_params["record_id"])
    if record_id is None:
        raise NotFound("no such evidence record", field="record_id")
    record = await run_in_threadpool(site.service.preserved_copy, case_id_of(request),
                                     record_id, actor_of(user))
    assert record.content is not None
    name = f"case-{record.case_id}-evidence-{record.id}-{record.kind}.json"
    return Response(record.content.encode("utf-8"), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-SHA256": record.content_sha256,
        "X-Record-Hash": record.record_hash,
        "X-Previous-Hash": record.prev_hash,
        "Cache-Control": "no-store",
    })


@api("GET", "/evidence/public-key", "The public key that checks the evidence chain's signed "
     "heads (PEM)", allow=ESCALATE, media_type="application/x-pem-file",
     response={"type": "string"})
async def api_public_key(request: Request, site: ReportsSite, user: User | None,
                         _b: None) -> Any:
    from kidshield.reports.signing import public_pem

    signer = site.service.signer
    if signer is None:
        raise NotFound("this server has no evidence signing key yet")
    return PlainTextResponse(public_pem(signer.public), media_type="application/x-pem-file",
                             headers={"X-Key-Id": signer.key_id})


@api("GET", "/evidence/verify", "The evidence chain check of `kidshield report verify-chain`, "
     "with this server's key", allow=ESCALATE, response=ChainCheck)
async def api_verify_chain(request: Request, site: ReportsSite, user: User | None,
                           _b: None) -> Any:
    report = await run_in_threadpool(site.service.verify_chain)
    return {"ok": report.ok and (report.signed or not report.records),
            "records": report.records, "purged": report.purged, "head": report.head,
            "signed": report.signed, "first_bad_id": report.first_bad_id,
            "problem": report.problem}


@api("GET", "/statements", "Statements of reasons of a period, as the body of the EU "
     "Transparency Database API's multiple-statement endpoint (100 per page)",
     query=StatementsQuery, allow=ESCALATE, response=statements_schema(), errors=(404,))
async def api_statements(request: Request, site: ReportsSite, user: User | None,
                         query: StatementsQuery) -> Any:
    from kidshield.reports.statements import batches, statements_between
    from kidshield.web.i18n import Translator

    start, end = period_of(request, site)
    bodies = batches(await run_in_threadpool(statements_between, site.service.store,
                                             start, end))
    if query.page > len(bodies):
        raise NotFound(Translator("en").ngettext("there is {n} page", "there are {n} pages",
                                                 len(bodies), n=len(bodies)), field="page")
    return Response(json.dumps(bodies[query.page - 1]), media_type="application/json",
                    headers={"X-Pages": str(len(bodies))})
