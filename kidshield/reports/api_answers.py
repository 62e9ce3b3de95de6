"""The answers of the reports and cases API (pydantic models: the OpenAPI response schemas),
and the JSON Schemas of the files it gives (DSA statements, escalation packages)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    merged_into: int | None = Field(None, description="closed by a merge into that case")


class Merged(_Out):
    into: int = Field(description="the case that goes on (A)")
    merged: int = Field(description="the case merged into it, now closed (B)")
    evidence_record: int | None = Field(description="A's chain record naming B and its head")


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
