"""What the state source needs from storage (``StateStore``), and the records it reads and
writes. ``kidshield.storage.state_sql`` implements it with SQLAlchemy Core, the same code for
SQLite and PostgreSQL.

Every write is one transaction that also moves the version of what it changed (see
``Kind``), so every node sharing the database notices the change with one small read; a
write that is a parent's action takes the audit entry too, so the change and its record
cannot part. A multi-step decision (a request allowed with a grant or an allow-list edit) is
one call, one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from kidshield.policy.state import Grant
from kidshield.storage.protocols import AuditEntry


class Kind(StrEnum):
    """What a version counts changes of (one row each in ``state_versions``)."""

    GRANTS = "grants"
    PAUSES = "pauses"
    USAGE = "usage"
    EDITS = "edits"


PauseKind = Literal["protection", "internet"]


@dataclass(frozen=True, slots=True)
class PauseRecord:
    profile: str
    until: datetime
    created_at: datetime
    created_by: str = ""
    kind: PauseKind = "protection"  # "internet": the internet paused, not protection lifted


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """A child's request to reach a blocked name, and the parent's answer."""

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
class RequestDecision:
    """The parent's answer to a request (the typed update of its row)."""

    status: str  # allowed | declined
    decision: str  # 30min | tonight | always | decline
    until: datetime | None
    reply: str
    by: str
    at: datetime


class EditStatus(StrEnum):
    ACTIVE = "active"  # in force over the file
    REPLACED = "replaced"  # a later dashboard change of the same setting
    DISCARDED = "discarded"  # a parent went back to the file's value
    SUPERSEDED = "superseded"  # the file changed the setting after it: the file won
    MERGED = "merged"  # the file now says the same: nothing left to overlay
    REJECTED = "rejected"  # the file changed so that the edit no longer fits (e.g. both a
    # birth date and an age band): the file won, the message says why


@dataclass(frozen=True, slots=True)
class ConfigEdit:
    """One dashboard change of one setting, kept over the configuration file.

    ``target`` is the table the setting is in (``profiles.mia``, ``logging``, ``dns``,
    ``clients``), ``field`` the key in it (for ``clients``: the device's name; ``*``: the whole
    table). ``value`` and ``base`` are JSON: the new value, and the file's value when the
    change was made (None: absent, i.e. removed / not in the file). The file changing the
    setting after ``base`` is how the newer change is told (docs/configuration.md)."""

    target: str
    field: str
    value: str | None
    base: str | None
    made_at: datetime
    made_by: str
    status: EditStatus = EditStatus.ACTIVE
    ended_at: datetime | None = None
    note: str = ""
    id: int | None = None

    @property
    def path(self) -> str:
        return self.target if self.field == "*" else f"{self.target}.{self.field}"


@dataclass(frozen=True, slots=True)
class EditEnd:
    """An active edit that ends (the file won or took it in, or a parent discarded it)."""

    edit_id: int
    status: EditStatus
    note: str = ""


UsageKey = tuple[str, str, date]  # profile, service, the profile's local day


class StateStore(Protocol):
    # -- reading (each a consistent read; versions first, so what is read is at least that new)
    def versions(self) -> dict[Kind, int]: ...
    def active_grants(self, now: datetime) -> list[Grant]: ...
    def active_pauses(self, now: datetime) -> list[PauseRecord]: ...
    def minute_counts(self, since: date) -> dict[UsageKey, tuple[int, int]]:
        """(how many, the highest) minutes stored per key on ``since`` and later: enough to
        tell which keys gained minutes without reading them all. A minute is the minute of
        the profile's local day (0-1439; those carried over from per-day totals are
        negative)."""
        ...

    def minutes_of(self, key: UsageKey, after: int | None = None) -> set[int]:
        """The key's stored minutes (above ``after`` when given)."""
        ...

    def edits(self, statuses: Collection[EditStatus] = (EditStatus.ACTIVE,),
              limit: int = 1000) -> list[ConfigEdit]:
        """Newest first."""
        ...

    def request(self, request_id: int) -> AccessRequest | None: ...
    def requests(self, status: str | None = None, profile: str | None = None,
                 since: datetime | None = None, limit: int = 100) -> list[AccessRequest]: ...

    # -- writing: one transaction each, the kind's version moved, the audit entry with it ----
    def set_pauses(self, pauses: Sequence[PauseRecord], cleared: Sequence[str],
                   audit: AuditEntry | None = None, kind: PauseKind = "protection") -> None:
        """Pauses of one kind: ``pauses`` set, the ``cleared`` profiles' ended."""
        ...
    def add_grant(self, grant: Grant, now: datetime, audit: AuditEntry | None = None) -> Grant: ...
    def revoke_grant(self, grant_id: int, now: datetime,
                     audit: AuditEntry | None = None) -> Grant | None:
        """The grant ended, or None when there was no such active grant."""
        ...

    def add_minutes(self, minutes: Collection[tuple[str, str, date, int]]) -> None:
        """Mark minutes used (profile, service, day, minute); already marked ones stay."""
        ...

    def add_request(self, request: AccessRequest) -> AccessRequest: ...
    def decide_request(self, request_id: int, decision: RequestDecision,
                       grant: Grant | None = None, edits: Sequence[ConfigEdit] = (),
                       audit: AuditEntry | None = None) -> AccessRequest | None:
        """Answer a pending request, with the grant or edits that carry it out, all at once;
        None (and nothing written) when the request is unknown or no longer pending."""
        ...

    def put_edits(self, edits: Sequence[ConfigEdit],
                  audit: AuditEntry | None = None) -> list[ConfigEdit]:
        """Store new active edits; each ends the active edit of the same setting (and a whole
        table's edit ends its settings' edits, and the other way round)."""
        ...

    def end_edits(self, ends: Sequence[EditEnd], now: datetime,
                  audit: AuditEntry | None = None) -> int:
        """End active edits; returns how many were still active."""
        ...
