"""What the rest of kidshield needs from storage. Code depends on these, not on SQLAlchemy."""

from __future__ import annotations

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
