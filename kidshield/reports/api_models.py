"""Request bodies of the reports and cases API (pydantic): unknown fields are refused, and
every error names the field it is about."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
