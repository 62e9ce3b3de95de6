"""The case page's no-JavaScript forms for hotline work: the second reviewer's sign-off, the
police record, the referral assessment, concluding an escalation, and the decision form's DSA
fields. Each form posts to ``/cases/<id>/<action>``, a route that declares the permission it
needs (``staff.FORM_ACTIONS``); ``staff.case_form`` dispatches here."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from kidshield.reports.api_models import OutcomeIn, PoliceIn, SignOffIn
from kidshield.reports.referral import TIMES
from kidshield.reports.service import ReportService

ACTIONS = frozenset({"signoff", "police", "referral", "escalation-closed"})


def decision(form: dict[str, str]) -> dict[str, Any]:
    """The decision form's fields as the API body (DSA fields under ``dsa``)."""
    keys = ("legal_ground", "legal_explanation", "terms_clause", "terms_explanation",
            "reference_url", "content_language", "account_type")
    dsa: dict[str, Any] = {k: form[k] for k in keys if form.get(k)}
    if form.get("territorial_scope"):
        dsa["territorial_scope"] = form["territorial_scope"].replace(",", " ").split()
    if form.get("content_type"):
        dsa["content_type"] = [form["content_type"]]
    if form.get("end_date"):
        dsa["end_date"] = form["end_date"]
    body: dict[str, Any] = {k: form[k] for k in ("facts", "ground", "action", "appeal")
                            if k in form}
    body["dsa"] = dsa
    body["unfounded"] = form.get("unfounded") == "1"
    return body


def utc_if_unmarked(text: str) -> str:
    """A time typed in a form whose label says UTC: without an offset it is UTC (the API
    asks for the offset; an analyst on the emergency path was sent back to add "Z")."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # the body's validation names what is wrong
    return when.replace(tzinfo=UTC).isoformat() if when.tzinfo is None else text


def referral(form: dict[str, str]) -> dict[str, Any]:
    """The referral form as changes to the assessment: an empty input leaves a field as it
    is; the staff-viewed box is sent as 0/1 by a hidden input, so unticking works."""
    changes: dict[str, Any] = {}
    for key, value in form.items():
        if key == "hosting_ips":
            changes[key] = [v for v in value.replace(",", " ").split() if v]
        elif key == "viewed_by_staff":
            changes[key] = value == "1"
        elif key in TIMES and value.strip():
            changes[key] = utc_if_unmarked(value)
        elif value != "":
            changes[key] = value
    return changes


async def handle(request: Request, service: ReportService, case_id: int, actor: str,
                 action: str, form: dict[str, str]) -> None:
    if action == "signoff":
        body = SignOffIn.model_validate({"approve": form.get("approve") == "1",
                                         "reason": form.get("reason", "")})
        await run_in_threadpool(service.sign_off, case_id, actor, body.approve, body.reason)
    elif action == "police":
        fields = {k: form.get(k, "") for k in (
            "notified_at", "authority", "method", "reference", "summary")}
        fields["notified_at"] = utc_if_unmarked(fields["notified_at"])
        police = PoliceIn.model_validate(fields)
        await run_in_threadpool(partial(
            service.record_police, case_id, actor, notified_at=police.notified_at,
            authority=police.authority, method=police.method, reference=police.reference,
            summary=police.summary))
    elif action == "referral":
        await run_in_threadpool(service.set_referral, case_id, actor, referral(form))
    elif action == "escalation-closed":
        outcome = OutcomeIn.model_validate({"outcome": form.get("outcome", "")})
        await run_in_threadpool(service.close_escalation, case_id, actor, outcome.outcome)
