"""What the rest of kidshield needs from storage. Code depends on these, not on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from kidshield.policy.state import Grant


@dataclass(frozen=True, slots=True)
class ListMeta:
    name: str
    source: str
    fetched_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    rules: int = 0
    skipped: int = 0
    errors: int = 0
    error_samples: str = ""
    status: str = "never"  # never | ok | not_modified | rejected | failed
    message: str = ""


class GrantStore(Protocol):
    def add(self, grant: Grant, now: datetime) -> Grant: ...
    def active(self, profile: str, now: datetime) -> list[Grant]: ...
    def revoke(self, grant_id: int, now: datetime) -> bool: ...


class UsageStore(Protocol):
    def add_minutes(
        self, profile: str, service: str, day: date, minutes: float, at: datetime
    ) -> None: ...
    def minutes(self, profile: str, day: date) -> dict[str, float]: ...


class ListMetaStore(Protocol):
    def get(self, name: str) -> ListMeta | None: ...
    def put(self, meta: ListMeta) -> None: ...
    def all(self) -> list[ListMeta]: ...


# ---------------------------------------------------------------------------------------------
# Media hash banks (issue 6). Hashes are 64-char lower-case hex; image bytes never get here.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaBank:
    name: str
    kind: str = "match"  # match | negative
    threshold: int = 31
    enabled: bool = True
    signal_type: str = "pdq"
    description: str = ""
    created_at: datetime | None = None
    created_by: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class BankHash:
    hash: str
    source: str = ""
    reference_id: str = ""
    added_at: datetime | None = None
    added_by: str = ""
    bank_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MediaMatchRecord:
    at: datetime
    bank_id: int
    bank_hash_id: int | None
    query_hash: str
    matched_hash: str
    distance: int
    quality: int | None = None
    variant: str = "original"
    caller: str = ""
    cancelled_by: str | None = None
    id: int | None = None


class MediaBankStore(Protocol):
    def create_bank(self, bank: MediaBank, now: datetime) -> MediaBank: ...
    def bank(self, name: str) -> MediaBank | None: ...
    def banks(self) -> list[MediaBank]: ...
    def set_enabled(self, name: str, enabled: bool) -> bool: ...
    def existing(self, bank_id: int, hashes: Sequence[str]) -> set[str]: ...
    def add_hashes(self, bank_id: int, hashes: Sequence[BankHash], now: datetime) -> int: ...
    def hash_ids(self, bank_id: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(id, hex) of the bank's hashes with id > after_id, in id order (to build indexes)."""
        ...

    def hashes(self, bank_id: int) -> Iterator[BankHash]: ...
    def hashes_by_id(self, ids: Sequence[int]) -> dict[int, BankHash]: ...
    def count(self, bank_id: int) -> int: ...
    def record_matches(self, records: Sequence[MediaMatchRecord]) -> None: ...
    def match_records(self, limit: int = 100) -> list[MediaMatchRecord]: ...


# ---------------------------------------------------------------------------------------------
# Web app (issue 4): accounts, sessions, tokens, audit log, access requests, pauses, settings.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    name: str
    password_hash: str
    roles: frozenset[str]
    pin_hash: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str = ""
    detail: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AccessRequest:
    profile: str
    domain: str
    created_at: datetime
    reason: str = ""
    message: str = ""
    status: str = "pending"  # pending | allowed | declined
    decision: str | None = None  # 30min | tonight | always | decline
    until: datetime | None = None
    reply: str = ""
    decided_at: datetime | None = None
    decided_by: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class PauseRecord:
    profile: str
    until: datetime
    created_at: datetime
    created_by: str = ""


class UserStore(Protocol):
    def count(self) -> int: ...
    def create(self, name: str, password_hash: str, roles: frozenset[str],
               now: datetime) -> WebUser: ...
    def by_name(self, name: str) -> WebUser | None: ...
    def by_id(self, user_id: int) -> WebUser | None: ...
    def all(self) -> list[WebUser]: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
    def set_pin(self, user_id: int, pin_hash: str | None) -> None: ...
    def pin_hashes(self) -> list[str]: ...


class SessionStore(Protocol):
    def create(self, token_hash: str, user_id: int, now: datetime,
               expires_at: datetime) -> None: ...
    def user_for(self, token_hash: str, now: datetime) -> int | None: ...
    def delete(self, token_hash: str) -> None: ...


class ApiTokenStore(Protocol):
    def create(self, user_id: int, name: str, token_hash: str,
               now: datetime) -> ApiTokenInfo: ...
    def user_for(self, token_hash: str, now: datetime) -> int | None: ...
    def list(self) -> list[ApiTokenInfo]: ...
    def revoke(self, token_id: int, now: datetime) -> bool: ...


class AuditLog(Protocol):
    """Append-only by design: there is no update and no delete."""

    def append(self, entry: AuditEntry) -> AuditEntry: ...
    def recent(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]: ...


class AccessRequestStore(Protocol):
    def add(self, request: AccessRequest) -> AccessRequest: ...
    def get(self, request_id: int) -> AccessRequest | None: ...
    def list(self, status: str | None = None, profile: str | None = None,
             since: datetime | None = None, limit: int = 100) -> list[AccessRequest]: ...
    def decide(self, request_id: int, status: str, decision: str, until: datetime | None,
               reply: str, by: str, now: datetime) -> AccessRequest | None: ...


class PauseStore(Protocol):
    def set(self, record: PauseRecord) -> None: ...
    def clear(self, profile: str) -> None: ...
    def active(self, now: datetime) -> list[PauseRecord]: ...


class SettingStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
