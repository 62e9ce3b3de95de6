"""What the engine cannot know by itself, handed in by the caller: grants, usage, pauses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """A parent's permission for one profile to reach ``domain`` (and its subdomains)."""

    profile: str
    domain: str
    until: datetime | None  # None: no end (kept until revoked)
    granted_by: str = ""
    note: str = ""
    id: int | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class ProfileState:
    """Per-profile runtime facts. Empty by default, which is what ``kidshield check`` assumes
    unless told otherwise."""

    grants: tuple[Grant, ...] = ()
    usage_minutes: Mapping[str, float] = field(default_factory=dict)  # service id -> today
    paused_until: datetime | None = None  # protection lifted until then
    internet_paused_until: datetime | None = None  # everything but helplines and learning
    # sites blocked until then ("pause the internet now")


EMPTY_STATE = ProfileState()
