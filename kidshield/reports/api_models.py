"""Request bodies of the reports and cases API (pydantic): unknown fields are refused, and
every error names the field it is about."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

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

    @model_validator(mode="before")
    @classmethod
    def _values(cls, data: Any) -> Any:
        # one error naming the field as sent: pydantic's own for the union named its members
        # ("url.str", "url.bool"), which a script checking field == "url" missed
        if isinstance(data, dict):
            for key, value in data.items():
                if not isinstance(value, str | bool):
                    raise InputError(f"{key}: a draft holds text or true/false",
                                     field=str(key))
        return data


class AppealIn(_Body):
    reason: str = Field("", max_length=4000)


class AssignIn(_Body):
    assignee: str = Field(min_length=1, max_length=128)


class MergeIn(_Body):
    into: int = Field(ge=1, description="the case this one is merged into (A); this case "
                      "(B) is closed as merged into it")


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
        try:
            check(fields)
        except InputError as exc:  # named by its path in the body, as pydantic names its own
            raise InputError(f"dsa.{exc}", field=f"dsa.{exc.field}") from None
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


MAX_OFFSET = 10_000_000  # as the dashboard's lists: larger overflows the database's integer


class CasesQuery(_Body):
    """The queue by pages, as the dashboard's lists (``/api/v1/audit``): ``limit`` and
    ``offset``."""

    limit: int = Field(200, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


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
