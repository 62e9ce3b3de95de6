"""What the rest of kidshield needs from storage. Code depends on these, not on SQLAlchemy."""

from __future__ import annotations

import builtins
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


class ListMetaStore(Protocol):
    def get(self, name: str) -> ListMeta | None: ...
    def put(self, meta: ListMeta) -> None: ...
    def all(self) -> list[ListMeta]: ...
    def delete(self, name: str) -> None: ...


# ---------------------------------------------------------------------------------------------
# Web app (issue 4): accounts, sessions, tokens, audit log, settings. (Grants, pauses, usage and
# access requests belong to the state source: kidshield/state/store.py.)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    name: str
    password_hash: str
    roles: frozenset[str]
    pin_hash: str | None = None
    created_at: datetime | None = None
    pin_length: int | None = None  # None: a PIN set before its length was kept


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    scopes: frozenset[str] = frozenset()
    expires_at: datetime | None = None
    parent_id: int | None = None  # the token that issued this one

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str = ""
    detail: str = ""
    id: int | None = None


def account_key(name: str) -> str:
    """An account name as one identity, however it is typed (case, width, spaces): two
    accounts never share one, and signing in finds the account by it."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())[:128]


class UserStore(Protocol):
    def count(self) -> int: ...
    def create(self, name: str, password_hash: str, roles: frozenset[str],
               now: datetime) -> WebUser: ...
    def create_first(self, name: str, password_hash: str, roles: frozenset[str],
                     now: datetime) -> WebUser | None:
        """The first account, or None when there is one already (once, even when several
        requests or servers on one database try at the same moment)."""
        ...
    def by_name(self, name: str) -> WebUser | None:
        """The account of this name: as typed, else the one whose ``account_key`` it has."""
        ...
    def by_id(self, user_id: int) -> WebUser | None: ...
    def all(self) -> list[WebUser]: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
    def set_pin(self, user_id: int, pin_hash: str | None, length: int | None) -> None: ...


class SessionStore(Protocol):
    def create(self, token_hash: str, user_id: int, now: datetime,
               expires_at: datetime, keep: int) -> None:
        """A new session; the account's oldest are ended so it has at most ``keep``."""
        ...
    def user_for(self, token_hash: str, now: datetime) -> int | None: ...
    def delete(self, token_hash: str) -> None: ...
    def delete_for_user(self, user_id: int, keep: str | None = None) -> int:
        """End every session of the account but ``keep``; how many ended."""
        ...


class ApiTokenStore(Protocol):
    def create(self, user_id: int, name: str, token_hash: str, now: datetime,
               scopes: frozenset[str], expires_at: datetime,
               parent_id: int | None = None) -> ApiTokenInfo: ...
    def find(self, token_hash: str, now: datetime) -> ApiTokenInfo | None:
        """The active (not revoked, not expired) token with this hash; marks it used."""
        ...
    def get(self, token_id: int) -> ApiTokenInfo | None: ...
    def list(self, user_id: int | None = None) -> list[ApiTokenInfo]: ...
    def revoke(self, token_id: int, now: datetime) -> builtins.list[int]:
        """Revoke the token and every token issued from it; the ids revoked now."""
        ...
    def revoke_for_user(self, user_id: int, now: datetime) -> int: ...


class SettingStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
