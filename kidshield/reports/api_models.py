"""Request bodies of the reports and cases API (pydantic): unknown fields are refused, and
every error names the field it is about."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator

from kidshield.errors import InputError
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


class DecisionIn(_Body):
    facts: str = Field(min_length=1, max_length=10_000)
    ground: Ground
    action: DecisionAction
    appeal: str = Field("", max_length=2000)


class EscalateIn(_Body):
    authority: str = Field("", max_length=256)
    hosting_ips: list[str] = Field(default_factory=list, max_length=64)

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


class Statement(_Out):
    """A statement of reasons (DSA Art. 17), in the words the affected person reads."""

    facts: str
    ground: str
    ground_text: str
    action: str
    action_text: str
    how_to_appeal: str


class ReportStatusOut(_Out):
    code: str
    received_at: str
    state: str
    state_text: str
    decision: Statement | None
    appeal_open: bool
    can_appeal: bool


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
    at: str
    reviewer: str
    facts: str
    ground: str
    action: str
    on_appeal: bool
    reverses: bool


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


class Created(_Out):
    id: int | None


class Decided(_Out):
    id: int | None
    statement: Statement


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


class Ok(_Out):
    ok: bool


def escalation_schema() -> dict[str, Any]:
    """The escalation package's own JSON Schema (schemas/escalation.schema.json) for the
    OpenAPI document: its definitions become components named ``Escalation<name>`` (the
    registry moves ``$defs`` into the components, as for pydantic models)."""
    import json
    from pathlib import Path

    text = (Path(__file__).parent / "schemas" / "escalation.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    names = {name: "Escalation" + name[:1].upper() + name[1:] for name in schema.get("$defs", {})}

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
