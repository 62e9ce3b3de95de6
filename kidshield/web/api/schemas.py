"""What the dashboard API answers (``/api/v1``), as pydantic models: the OpenAPI document's
response schemas come from here. The views (``web/views.py``) build plain dicts of these
shapes; the end-to-end tests check every answer against the document, so the two cannot drift
apart unnoticed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Created(_Out):
    id: int
    name: str


class SignedIn(_Out):
    name: str
    roles: list[str]


class Me(_Out):
    id: int
    name: str
    roles: list[str]
    csrf: str = Field(description="send as X-CSRF-Token with cookie-authenticated writes")


class Ok(_Out):
    ok: bool


class Bedtime(_Out):
    from_: str = Field(alias="from", description="HH:MM")
    to: str = Field(description="HH:MM")
    days: list[int] = Field(description="0 = Monday")
    label: str
    default: bool = Field(description="the age band's bedtime (none set for the profile)")


class Schedule(_Out):
    name: str
    label: str
    action: str
    services: list[str]
    categories: list[str]


class Budget(_Out):
    service: str
    minutes: int
    used: float = Field(description="minutes used today")


class EditView(_Out):
    """A dashboard change of a setting, kept over the configuration file."""

    id: int
    setting: str = Field(description="profiles.mia.bedtime, logging.retention_days, "
                         "clients.<device name>, profiles.<id> (the whole profile)")
    value: Any = Field(description="the value set (null: removed, back to the default)")
    file_value: Any = Field(description="what the file said when the change was made")
    by: str
    at: str
    status: str = Field(description="active (in force), replaced, discarded, superseded (the "
                        "file changed the setting later and won), merged (the file now says "
                        "the same), rejected (no longer fits the file)")
    ended_at: str | None
    note: str


class Edits(_Out):
    in_force: list[EditView]
    overtaken: list[EditView] = Field(description="changes the file won over, newest first")


class ProfileView(_Out):
    id: str
    name: str
    shared: bool = Field(description="used by several people: the child page greets everyone, "
                                     "not by name")
    age_band: str
    age: int | None
    birth_date: str | None
    filtering: bool
    bedtime: Bedtime | None
    schedules: list[Schedule]
    blocked_categories: list[str]
    blocked_services: list[str]
    safe_search: str
    youtube: str
    bypass_protection: bool
    budgets: list[Budget]
    allow: list[str]
    deny: list[str]
    paused_until: str | None
    internet_paused_until: str | None = Field(
        description="the internet is paused until then (all but helplines and learning sites)")
    internet_paused_at: str | None = Field(description="the same, as HH:MM in the child's "
                                           "time zone")
    edits: list[EditView] = Field(description="dashboard changes in force for this profile")
    overtaken: list[EditView] = Field(
        description="this profile's dashboard changes the file won over in the last 30 days")


class ProfileWithWeek(ProfileView):
    week: list[list[str]] = Field(
        description="7 days (Monday first) x 24 hours: bedtime, schedule or empty")


class RuleSource(_Out):
    list: str
    file: str
    line: int | None


class DecisionView(_Out):
    action: str = Field(description="allow, block or rewrite")
    reason: str = Field(description="the Reason (docs/policy.md)")
    rule: str | None
    source: RuleSource | None
    valid_until: str | None
    target: str | None
    category: str | None
    service: str | None
    band: str | None
    detail: dict[str, object] | None = None


class ClientView(_Out):
    index: int
    name: str
    profile: str
    addresses: list[str]
    macs: list[str]
    client_ids: list[str]
    secret: bool = Field(False, description="the device has a secret for encrypted DNS (the "
                         "secret itself is shown only on the dashboard's Encrypted DNS page)")
    seen: bool = Field(description="this device has asked since the server started")


class Clients(_Out):
    clients: list[ClientView]


class DeviceSecret(_Out):
    device: str
    secret: str = Field(description="random, 128 bits; replaces the device's old secrets")
    doh_url: str = Field(description="DNS over HTTPS address for the device")
    dot_name: str | None = Field(description="DNS over TLS name (Android's Private DNS); "
                                 "null without dns.tls_name and dns.dot_listen")


class ListView(_Out):
    name: str
    source: str
    format: str
    category: str | None
    enabled: bool
    allow: bool
    rules: int
    errors: int
    error_lines: list[str]
    status: str
    message: str
    fetched_at: str | None
    builtin: bool = Field(False, description="shipped with kidshield (works offline)")
    added_in_dashboard: bool = Field(False, description="added in the dashboard (kept in the "
                                     "database over the configuration file)")


class ListResult(_Out):
    name: str
    status: str
    message: str


class ListResults(_Out):
    results: list[ListResult]


class LogRow(_Out):
    id: int
    at: str
    client: str | None
    profile: str
    name: str
    qtype: str
    action: str
    reason: str
    rule: str | None
    category: str | None
    service: str | None
    upstream: str | None
    latency_ms: float
    rcode: int
    count: int = Field(description="identical answers to the device within the minute")


class LogRows(_Out):
    rows: list[LogRow]


class Series(_Out):
    queries: list[int]
    blocks: list[int]


class Totals(_Out):
    queries: int
    blocks: int


class Overview(_Out):
    hours: list[str]
    profiles: dict[str, Series]
    totals: dict[str, Totals]
    by_reason: dict[str, int]
    by_category: dict[str, int]
    top_blocked: dict[str, int]
    budgets: dict[str, list[Budget]]


class RequestView(_Out):
    id: int | None
    profile: str
    domain: str
    reason: str
    message: str
    status: str = Field(description="pending, allowed or declined")
    decision: str | None
    until: str | None
    reply: str
    created_at: str | None
    decided_at: str | None
    decided_by: str | None


class GrantView(_Out):
    id: int | None
    profile: str
    domain: str
    until: str | None
    granted_by: str
    note: str


class Paused(_Out):
    profile: str
    paused_until: str | None


class Notifications(_Out):
    kind: str = Field(description="none, webhook or ntfy")
    url: str


class SettingsView(_Out):
    retention_days: int
    anonymize_clients: bool
    only_blocked: bool
    block_mode: str
    country: str
    notifications: Notifications


class Delivered(_Out):
    delivered: bool


class UserView(_Out):
    id: int
    name: str
    roles: list[str]
    has_pin: bool
    pin_too_short: bool = Field(description="set before PINs had 6 digits: choose a new one")
    created_at: str | None


class AuditView(_Out):
    id: int | None
    at: str | None
    actor: str
    action: str
    target: str
    detail: str


class TokenView(_Out):
    id: int
    name: str
    user_id: int = Field(description="the account the token acts for")
    scopes: list[str] = Field(description="what it may do (docs/web.md, API tokens)")
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked: bool
    expired: bool
    issued_by: int | None = Field(description="the token that issued it (revoked with it)")


class Revoked(_Out):
    ok: bool
    revoked: list[int] = Field(description="this token and the tokens issued from it")


class NewToken(TokenView):
    token: str = Field(description="shown once: store it now")
