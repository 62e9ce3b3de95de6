"""Request bodies of the reports and cases API (pydantic): unknown fields are refused, and
every error names the field it is about."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator

from kidshield.errors import InputError
from kidshield.reports.dsa import DsaFields, check
from kidshield.reports.model import (
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    ReporterRole,
    normalize_url,
)

# Field names that mean someone is trying to send a picture or a file: refused with an
# explanation instead of a generic "unknown field".
UPLOAD_FIELDS = frozenset(
    {"image", "images", "file", "files", "photo", "photos", "picture", "video", "upload",
     "attachment", "attachments", "media", "screenshot"}
)

NO_UPLOADS = (
    "We never accept pictures, videos or files with a report. If they show a child being "
    "abused, copying or sending them can hurt the child again and can be a crime, even when "
    "you mean well. Please give us the web address (URL) where you saw it instead, and do "
    "not copy, forward or share the material. We will find it from the address."
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ReportIn(_Body):
    url: str | None = Field(None, max_length=2048)
    case_type: CaseType = CaseType.OTHER
    imminent_danger: bool = False
    account: str | None = Field(None, max_length=512)
    description: str = Field("", max_length=10_000)
    reporter_role: ReporterRole = ReporterRole.ANONYMOUS
    contact: str | None = Field(None, max_length=512)
    keep_ip: bool = False  # the reporter opts in to keeping their IP address
    good_faith: bool = False  # DSA Art. 16(2)(d): accurate and complete, in good faith
    for_child: bool = False
    draft_token: str | None = Field(None, max_length=64)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return normalize_url(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None


class DraftIn(RootModel[dict[str, str | bool]]):
    """The intake form's fields as the reporter has filled them so far."""


class AppealIn(_Body):
    reason: str = Field("", max_length=4000)


class AssignIn(_Body):
    assignee: str = Field(min_length=1, max_length=128)


class StateIn(_Body):
    state: CaseState


class NoteIn(_Body):
    text: str = Field(min_length=1, max_length=10_000)


class DsaIn(_Body):
    """The statement of reasons' DSA fields; what is left out is filled from the case."""

    legal_ground: str = Field("", max_length=500)
    legal_explanation: str = Field("", max_length=2000)
    terms_clause: str = Field("", max_length=500)
    terms_explanation: str = Field("", max_length=2000)
    reference_url: str = Field("", max_length=500, pattern=r"^(https?://\S+)?$")
    also_illegal: bool | None = None
    territorial_scope: list[str] = Field(default_factory=list, max_length=40)
    end_date: date | None = None
    content_type: list[str] = Field(default_factory=list, max_length=8)
    content_language: str = Field("", max_length=2)
    automated_decision: str = "not_automated"
    account_type: str = ""
    category_specification_other: str = Field("", max_length=500)

    @field_validator("territorial_scope")
    @classmethod
    def _scope(cls, value: list[str]) -> list[str]:
        from kidshield.config import EEA_COUNTRIES

        codes = [v.strip().upper() for v in value if v.strip()]
        bad = [c for c in codes if c not in EEA_COUNTRIES]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an EU/EEA country code")
        return codes

    def fields(self) -> DsaFields:
        values = self.model_dump()
        values["territorial_scope"] = tuple(values["territorial_scope"])
        values["content_type"] = tuple(values["content_type"])
        values["content_language"] = values["content_language"].lower()
        fields = DsaFields(**values)
        check(fields)  # an InputError naming the field
        return fields


class DecisionIn(_Body):
    facts: str = Field(min_length=1, max_length=10_000)
    ground: Ground
    action: DecisionAction
    appeal: str = Field("", max_length=2000)
    dsa: DsaIn = Field(default_factory=DsaIn)
    unfounded: bool = False  # the notice was manifestly unfounded (DSA Art. 23)


class SignOffIn(_Body):
    approve: bool = True
    reason: str = Field("", max_length=2000)


class PoliceIn(_Body):
    notified_at: datetime
    authority: str = Field(min_length=1, max_length=500)
    method: Literal["phone", "email", "portal", "in_person", "other"]
    reference: str = Field("", max_length=200)
    summary: str = Field("", max_length=4000)


class OutcomeIn(_Body):
    outcome: str = Field(min_length=1, max_length=2000)


class ReferralIn(RootModel[dict[str, Any]]):
    """Fields of the referral assessment to change (``referral.Referral``)."""


class StatementsQuery(_Body):
    from_: str = Field("", alias="from")
    to: str = ""
    page: int = Field(1, ge=1)


class EscalateIn(_Body):
    authority: str = Field("", max_length=256)
    hosting_ips: list[str] = Field(default_factory=list, max_length=64)
    referral: dict[str, Any] = Field(default_factory=dict)  # fields of the assessment

    @field_validator("hosting_ips")
    @classmethod
    def _ips(cls, value: list[str]) -> list[str]:
        import ipaddress

        try:
            return [str(ipaddress.ip_address(v.strip())) for v in value]
        except ValueError as exc:
            raise ValueError(str(exc)) from None


class HoldIn(_Body):
    on: bool


class ExportQuery(_Body):
    format: Literal["json", "xml"] = "json"


class TransparencyQuery(_Body):
    from_: str | None = Field(None, alias="from", description="first day, e.g. 2026-01-01 "
                              "(default: 30 days ago)")
    to: str | None = Field(None, description="last day (default: today)")
    format: Literal["json", "csv", "html"] = "json"


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(field, message) of the first problem, for a 4xx body."""
    error: Any = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return field, message


def upload_field(data: dict[str, Any]) -> str | None:
    return next((k for k in data if k.lower() in UPLOAD_FIELDS), None)


# -- answers (the OpenAPI response schemas) ------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiptOut(_Out):
    code: str = Field(description="the reporter's receipt code, e.g. KS-7QPM-X2HD")
    status_url: str
    api_url: str
    held_until: str | None = Field(None, description="notices from this source are held "
                                   "(DSA Art. 23) until then")


class Statement(_Out):
    """A statement of reasons (DSA Art. 17), in the words the affected person reads."""

    facts: str
    ground: str
    ground_text: str
    action: str
    action_text: str
    how_to_appeal: str
    appeal_custom: bool = Field(description="how_to_appeal is the organisation's own text "
                                "(show it as written), not the service's sentence")
    appeal_days: int = Field(description="days after the decision in which to appeal")


class Notice(Statement):
    """The statement for the affected account, with the last day to appeal."""

    appeal_deadline: str


class ReportStatusOut(_Out):
    code: str
    received_at: str
    state: str
    state_text: str
    decision: Statement | None
    appeal_open: bool
    can_appeal: bool
    appeal_deadline: str | None
    held_until: str | None


class Saved(_Out):
    saved: bool


class CaseOut(_Out):
    id: int
    type: str
    state: str
    priority: int
    imminent_danger: bool
    reports: int
    url: str | None
    account: str | None
    assignee: str | None
    created_at: str
    escalated_at: str | None
    legal_hold: bool
    critical: bool = Field(description="a child in danger now, or abuse material")
    target_at: str | None = Field(description="act by then (on-call)")
    seconds_left: int | None = Field(None, description="to target_at; negative once passed")
    police_notified_at: str | None
    escalation_closed_at: str | None
    trusted_flagger: bool


class Queue(_Out):
    cases: list[CaseOut]


class ReportDetail(_Out):
    source: str
    type: str
    received_at: str
    reporter_role: str
    url: str | None
    account: str | None
    file_hash: str | None
    bank: str | None
    description: str | None = Field(description="text evidence: only once revealed")
    description_hidden: bool


class DecisionOut(_Out):
    id: int | None
    at: str
    reviewer: str
    facts: str
    ground: str
    action: str
    on_appeal: bool
    reverses: bool
    status: str = Field(description="final, pending (waits for a second reviewer) or rejected")
    signed_off_by: str | None
    statement: dict[str, Any] = Field(description="the DSA statement-of-reasons fields")
    unfounded: bool


class AlertOut(_Out):
    at: str
    reason: str
    channel: str
    ok: bool


class PoliceOut(_Out):
    notified_at: str
    authority: str
    method: str
    reference: str
    recorded_by: str


class AppealView(_Out):
    at: str
    reason: str
    previous_reviewer: str
    assignee: str | None


class NoteOut(_Out):
    at: str
    author: str
    text: str


class EvidenceOut(_Out):
    id: int | None
    kind: str
    at: str
    record_hash: str
    purged: bool


class AuditOut(_Out):
    at: str
    actor: str
    action: str
    detail: str


class CaseDetail(CaseOut):
    reports_detail: list[ReportDetail]
    decisions: list[DecisionOut]
    appeal: AppealView | None
    notes: list[NoteOut]
    evidence: list[EvidenceOut]
    audit: list[AuditOut]
    referral: dict[str, Any] = Field(description="the analyst's referral assessment")
    alerts: list[AlertOut]
    police: list[PoliceOut]


class Created(_Out):
    id: int | None


class Decided(_Out):
    id: int | None
    status: str = Field(description="final, or pending until a second reviewer signs off")
    statement: Statement
    dsa: dict[str, Any]


class SignedOff(_Out):
    id: int | None
    status: str


class PoliceRecorded(_Out):
    id: int | None
    notified_at: str


class ChainCheck(_Out):
    ok: bool
    records: int
    purged: int
    head: str | None
    signed: bool
    first_bad_id: int | None
    problem: str


class AppealRecorded(_Out):
    id: int | None
    previous_reviewer: str


class Hold(_Out):
    legal_hold: bool


class Revealed(_Out):
    reveals_today: int
    reports: list[ReportDetail]


class Durations(_Out):
    count: int
    median_hours: float | None
    p90_hours: float | None
    target_hours: int
    within_target: int


class Transparency(_Out):
    start: str
    end: str
    reports_by_type: dict[str, int]
    reports_by_source: dict[str, int]
    actions: dict[str, int]
    to_first_action: Durations
    to_decision: Durations
    appeals: int
    reversals: int
    hash_matches_by_bank: dict[str, int]
    not_yet_acted_on: int
    reports_by_source_type: dict[str, int]
    detection: dict[str, int]
    decisions_by_basis: dict[str, int]
    decisions_automated: dict[str, int]
    escalations: int
    police_notifications: int
    appeals_decided: int
    to_appeal_decision: Durations
    appeals_pending: int
    backlog: dict[str, int]
    backlog_oldest_hours: float | None
    misuse: dict[str, int]


class Ok(_Out):
    ok: bool


def statements_schema() -> dict[str, Any]:
    """The Transparency Database body (schemas/dsa-statement.schema.json) for the OpenAPI
    document, with its definitions as components named ``Dsa<name>``."""
    return _file_schema("dsa-statement.schema.json", "Dsa")


def escalation_schema() -> dict[str, Any]:
    """The escalation package's own JSON Schema (schemas/escalation.schema.json) for the
    OpenAPI document: its definitions become components named ``Escalation<name>`` (the
    registry moves ``$defs`` into the components, as for pydantic models)."""
    return _file_schema("escalation.schema.json", "Escalation")


def _file_schema(file: str, prefix: str) -> dict[str, Any]:
    import json
    from pathlib import Path

    text = (Path(__file__).parent / "schemas" / file).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    names = {name: prefix + name[:1].upper() + name[1:] for name in schema.get("$defs", {})}

    def local(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (_ref(v) if k == "$ref" else local(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [local(v) for v in node]
        return node

    def _ref(ref: str) -> str:
        name = ref.removeprefix("#/$defs/")
        return f"#/components/schemas/{names[name]}" if name in names else ref

    defs = {names[k]: local(v) for k, v in schema.pop("$defs", {}).items()}
    return {**local(schema), "$defs": defs}
