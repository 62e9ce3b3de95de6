"""Request bodies and query parameters of ``/api/v1`` (pydantic): the OpenAPI schemas come
from here, and a validation error names the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from kidshield.config import BlockMode, check_domain, check_hhmm
from kidshield.policy.ages import AgeBand, SafeSearchMode
from kidshield.policy.schedule import parse_days


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")




class SetupIn(_In):
    token: str
    name: Annotated[str, Field(min_length=1, max_length=128)]
    password: Annotated[str, Field(min_length=10, max_length=1024)]


class LoginIn(_In):
    name: str
    password: str


class BedtimeIn(_In):
    bedtime: str = Field(description="HH:MM, or \"off\" for no bedtime")
    wake_up: str | None = Field(None, description="HH:MM (not with bedtime \"off\")")
    days: str | None = Field(None, description="daily, school-nights, weekdays, weekend, mon-fri")

    @field_validator("bedtime")
    @classmethod
    def _bedtime(cls, v: str) -> str:
        return v if v == "off" else check_hhmm(v)

    @field_validator("wake_up")
    @classmethod
    def _wake(cls, v: str | None) -> str | None:
        return None if v is None else check_hhmm(v)

    @field_validator("days")
    @classmethod
    def _days(cls, v: str | None) -> str | None:
        if v is not None:
            parse_days(v)
        return v


class ProfilePatch(_In):
    name: str | None = None
    shared: StrictBool | None = Field(
        None, description="used by several people: the child page greets everyone, not by "
                          "name (null: the configuration file's value)")
    age_band: AgeBand | None = None
    safe_search: SafeSearchMode | None = None
    youtube: SafeSearchMode | None = None
    extra_blocked_categories: list[str] | None = None
    unblocked_categories: list[str] | None = None
    extra_blocked_services: list[str] | None = None
    unblocked_services: list[str] | None = None
    allow: list[str] | None = None
    deny: list[str] | None = None
    budgets: dict[str, Annotated[int, Field(ge=0, le=1440)]] | None = None

    @field_validator("allow", "deny")
    @classmethod
    def _domains(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [check_domain(d) for d in v]


class ClientIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    profile: str
    addresses: Annotated[list[str], Field(min_length=1)]


class DecisionIn(_In):
    decision: Literal["30min", "tonight", "always", "decline"]
    reply: Annotated[str, Field(max_length=500)] = ""


class GrantIn(_In):
    profile: str
    domain: str
    decision: Literal["30min", "tonight"] = "30min"

    @field_validator("domain")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_domain(v)


class PauseIn(_In):
    profile: str = Field(description="a profile id, or \"all\"")
    minutes: Annotated[int, Field(ge=0, le=1440)] = Field(description="0 resumes")


class SettingsPatch(_In):
    retention_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    anonymize_clients: bool | None = None
    only_blocked: bool | None = None
    block_mode: BlockMode | None = None


class NotifyIn(_In):
    kind: Literal["none", "webhook", "ntfy"]
    url: str = ""


class PinIn(_In):
    # the pattern for the OpenAPI document only: pydantic's own message for a mismatch
    # ("String should match pattern '^\\d{6,12}$'") is no answer for a parent
    pin: Annotated[str, Field(description="6 to 12 digits",
                              json_schema_extra={"pattern": r"^\d{6,12}$"})]

    @field_validator("pin")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit() and 6 <= len(value) <= 12):
            raise ValueError("a PIN has 6 to 12 digits (0-9), nothing else")
        return value


class UserIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    password: Annotated[str, Field(min_length=10, max_length=1024)]
    roles: Annotated[list[Literal["parent", "moderator", "analyst", "admin"]],
                     Field(min_length=1)]


class PasswordIn(_In):
    current_password: str
    new_password: Annotated[str, Field(min_length=10, max_length=1024)]


Scope = Literal["read", "dns", "household", "reports", "media", "assess", "metrics", "tokens"]


class TokenIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    scopes: Annotated[list[Scope], Field(min_length=1, description="what the token may do")]
    expires_in_days: Annotated[int, Field(ge=1, le=366)] = 90


class ListUpdateIn(_In):
    name: str | None = None


class ListIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=64, description="lower-case letters, "
                               "digits, - and _")]
    source: Annotated[str, Field(max_length=2048, description="an http:// or https:// address "
                                 "(a file on the server goes in the configuration file)")]
    category: Annotated[str, Field(description="what the list's sites are: adult, gambling...")]
    format: Literal["auto", "hosts", "domains", "adblock"] = "auto"


MAX_OFFSET = 10_000_000  # past any real log; larger numbers overflow the database's integer


class LogQuery(_In):
    q: str = ""
    profile: str = ""
    action: Literal["", "allow", "block", "rewrite"] = ""
    reason: str = ""
    since_hours: Annotated[int, Field(ge=1, le=24 * 366)] = 24
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class RequestQuery(_In):
    status: Literal["", "pending", "allowed", "declined"] = ""
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class PageQuery(_In):
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class CheckQuery(_In):
    profile: str
    name: str
