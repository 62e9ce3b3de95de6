"""Run-time state of each profile that the configuration file does not hold: grants a parent
gave, pauses, and the minutes used today. The policy engine reads it as a ``ProfileState``.

One ``StateSource`` is built by the composition root (``kidshield.app``) and read by every
consumer: the resolver (through ``for_profile``), ``kidshield check`` and the web pages. Writes
(pause, grant, revoke) go through it too, so the resolver hears of them at once.

Grants and pauses live in the database and are re-read by ``refresh`` (the application runs
it every few seconds, and after every change it makes itself), so a change made by another
process sharing the database arrives with the next refresh. Usage minutes are counted by
this process's resolver on top of what the database held when it started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kidshield.clock import Clock
from kidshield.policy.model import Profile
from kidshield.policy.state import Grant, ProfileState
from kidshield.storage.db import Database
from kidshield.storage.protocols import PauseRecord
from kidshield.storage.sql import SqlGrantStore, SqlUsageStore
from kidshield.storage.web_sql import SqlPauseStore
from kidshield.usage import UsageTracker

# Called with the id of a profile whose state changed (decisions cached for it are stale).
StateListener = Callable[[str], None]


@dataclass(frozen=True)
class StoredFacts:
    """Grants and pauses as read from the database at one moment."""

    grants: dict[str, tuple[Grant, ...]] = field(default_factory=dict)
    pauses: dict[str, datetime] = field(default_factory=dict)
    version: int = 0  # of this process's own changes when the read began


class StateSource:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.clock = clock
        self._grant_store = SqlGrantStore(db)
        self._usage_store = SqlUsageStore(db)
        self._pause_store = SqlPauseStore(db)
        self.usage = UsageTracker()
        self._facts = StoredFacts()
        self._listeners: list[StateListener] = []
        # counts this process's own changes: a read that began before one is out of date
        self._version = 0

    # -- reading ------------------------------------------------------------------------------
    def for_profile(self, profile: Profile, now: datetime) -> ProfileState:
        """What the engine needs besides the configuration, for ``profile`` at ``now``."""
        usage = self.usage.minutes(profile.id, now.astimezone(profile.tz).date())
        return ProfileState(grants=self._facts.grants.get(profile.id, ()),
                            usage_minutes=usage, paused_until=self.paused_until(profile.id))

    def paused_until(self, profile_id: str) -> datetime | None:
        """The end of the profile's pause (it may have passed: compare with the time)."""
        return self._facts.pauses.get(profile_id)

    def grants(self, profile_id: str) -> tuple[Grant, ...]:
        return self._facts.grants.get(profile_id, ())

    # -- loading and refreshing ---------------------------------------------------------------
    def load(self, profiles: Iterable[Profile]) -> None:
        """At start: grants, pauses and today's stored usage minutes."""
        chosen = list(profiles)
        now = self.clock.now()
        for profile in chosen:
            day = now.astimezone(profile.tz).date()
            for service, minutes in self._usage_store.minutes(profile.id, day).items():
                self.usage.seed(profile.id, service, day, minutes)
        self._replace(self.read(p.id for p in chosen))

    def read(self, profile_ids: Iterable[str]) -> StoredFacts:
        """Grants and pauses from the database (blocking: call it off the event loop)."""
        version = self._version
        now = self.clock.now()
        pauses = {r.profile: r.until for r in self._pause_store.active(now)}
        return StoredFacts({pid: tuple(self._grant_store.active(pid, now))
                            for pid in profile_ids}, pauses, version)

    def apply(self, facts: StoredFacts) -> None:
        """Take what ``read`` found; listeners hear of every profile whose state changed. A
        read that began before a change made here is dropped (it may miss that change): the
        next refresh reads again."""
        if facts.version != self._version:
            return
        self._replace(facts)

    def _replace(self, facts: StoredFacts) -> None:
        old, self._facts = self._facts, facts
        changed = {pid for pid in facts.grants.keys() | old.grants.keys()
                   if facts.grants.get(pid, ()) != old.grants.get(pid, ())}
        changed |= {pid for pid in facts.pauses.keys() | old.pauses.keys()
                    if facts.pauses.get(pid) != old.pauses.get(pid)}
        for pid in sorted(changed):
            self._changed(pid)

    def refresh(self, profile_ids: Iterable[str]) -> None:
        self.apply(self.read(profile_ids))

    def subscribe(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def _changed(self, profile_id: str) -> None:
        for listener in self._listeners:
            listener(profile_id)

    # -- changes ------------------------------------------------------------------------------
    def pause(self, profile_id: str, until: datetime | None, actor: str) -> None:
        """Pause protection for a profile until ``until`` (None resumes)."""
        if until is None:
            self._pause_store.clear(profile_id)
        else:
            self._pause_store.set(PauseRecord(profile_id, until, self.clock.now(), actor))
        self._version += 1
        pauses = dict(self._facts.pauses)
        if until is None:
            pauses.pop(profile_id, None)
        else:
            pauses[profile_id] = until
        self._facts = StoredFacts(self._facts.grants, pauses, self._version)
        self._changed(profile_id)

    def add_grant(self, grant: Grant) -> Grant:
        stored = self._grant_store.add(grant, self.clock.now())
        self._reread_grants(grant.profile)
        return stored

    def revoke_grant(self, grant_id: int) -> bool:
        """End a grant now; False when there is no such active grant."""
        if not self._grant_store.revoke(grant_id, self.clock.now()):
            return False
        for pid in list(self._facts.grants):
            self._reread_grants(pid)
        return True

    def _reread_grants(self, profile_id: str) -> None:
        self._version += 1
        grants = dict(self._facts.grants)
        grants[profile_id] = tuple(self._grant_store.active(profile_id, self.clock.now()))
        self._replace(StoredFacts(grants, self._facts.pauses, self._version))

    def add_usage_minute(self, profile: Profile, service: str, when: datetime) -> bool:
        """Count ``when``'s minute as used; True when it was not counted before."""
        return self.usage.record(profile.id, service, when, profile.tz)
