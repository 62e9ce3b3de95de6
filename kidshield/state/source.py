"""The state source: the one place run-time state a parent changes is read and changed.

Grants, pauses, minutes used, access requests and dashboard edits of settings live in the
database (``StateStore``). The state source keeps what the resolver reads on every decision
(grants, pauses, minutes, the edits in force) in memory, and every reader uses it: the
resolver through ``for_profile``, ``kidshield check``, the dashboard, the block and child
pages. So they all give the same answer.

Changes reach every node that shares the database: each write moves a version of its kind
(``state_versions``), and ``sync`` (run every second by the application, off the event loop)
reads those few rows and re-reads only the kinds that moved. A change made here is in force
here at once (the cache is updated by the write itself) and on the other nodes after their
next sync. Listeners hear which profiles' state changed (the resolver drops their ready
answers and decisions) and when the edits in force changed (the application rebuilds the
configuration in force, kidshield/state/overlay.py).

Threads: reads and writes of the database may run in any thread; ``apply`` and the writes'
cache updates run on the thread that owns the listeners (the event loop in ``serve``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from types import MappingProxyType

from kidshield.clock import Clock
from kidshield.policy.model import Profile
from kidshield.policy.state import Grant, ProfileState
from kidshield.state.localday import local_day
from kidshield.state.store import (
    AccessRequest,
    ConfigEdit,
    EditEnd,
    EditStatus,
    Kind,
    PauseKind,
    PauseRecord,
    RequestDecision,
    StateStore,
    UsageKey,
)
from kidshield.state.usage import UsedMinutes
from kidshield.storage.protocols import AuditEntry

# Called with the id of a profile whose state changed (decisions cached for it are stale).
StateListener = Callable[[str], None]
# Called when the dashboard edits in force changed (the configuration in force is stale).
EditsListener = Callable[[], object]
# Called with (profile, service) whose minutes used grew with minutes from other nodes (a
# budget of that service may now be spent).
UsageListener = Callable[[str, str], None]


@dataclass(frozen=True)
class Snapshot:
    """What one ``read`` found: only the kinds whose version moved are filled in."""

    versions: dict[Kind, int]
    local: int  # this process's change count when the read began
    grants: tuple[Grant, ...] | None = None
    pauses: dict[str, datetime] | None = None
    internet: dict[str, datetime] | None = None  # the internet paused, per profile
    minutes: dict[UsageKey, set[int]] | None = None  # only keys that gained minutes
    minute_counts: dict[UsageKey, tuple[int, int]] | None = None
    edits: tuple[ConfigEdit, ...] | None = None
    kinds: frozenset[Kind] = field(default_factory=frozenset)


@dataclass(slots=True)
class _Built:
    """A profile's state as ``for_profile`` last built it, and how long it holds: while the
    zone is the same, the clock is in [since, until) (the same local day) and the minutes'
    version has not moved. Changes of grants and pauses drop it."""

    tz: tzinfo
    since: datetime
    until: datetime
    day: date
    minutes: int
    state: ProfileState


def _by_profile(grants: Iterable[Grant]) -> dict[str, tuple[Grant, ...]]:
    found: dict[str, list[Grant]] = {}
    for grant in grants:
        found.setdefault(grant.profile, []).append(grant)
    return {pid: tuple(items) for pid, items in found.items()}


class StateSource:
    def __init__(self, store: StateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._versions: dict[Kind, int] = {}
        self._grants: dict[str, tuple[Grant, ...]] = {}
        self._pauses: dict[str, datetime] = {}
        self._internet: dict[str, datetime] = {}
        self._minutes = UsedMinutes()
        # per key, (count, highest minute) stored in the database when last read: a sync
        # reads only the minutes above it (and all of a key's when that does not add up)
        self._stored: dict[UsageKey, tuple[int, int]] = {}
        self._edits: tuple[ConfigEdit, ...] = ()
        self._listeners: list[StateListener] = []
        self._edit_listeners: list[EditsListener] = []
        self._usage_listeners: list[UsageListener] = []
        # counts this process's own changes: a read that began before one may miss it
        self._local = 0
        # every cache miss asks for its profile's state: built once, kept until it changes.
        # A build (any thread: the web's too) and a change of grants or pauses (which drops
        # it) hold the lock, so a build that read the old grants cannot be kept after the
        # change; minutes need not: their version is read before them
        self._built: dict[str, _Built] = {}
        self._building = threading.Lock()

    # -- reading (from memory: cheap, any number of times per query) ------------------------
    def for_profile(self, profile: Profile, now: datetime) -> ProfileState:
        """What the engine needs besides the configuration, for ``profile`` at ``now``."""
        built = self._built.get(profile.id)
        if (built is not None and built.tz is profile.tz and built.since <= now < built.until
                and built.minutes == self._minutes.versions.get(profile.id, 0)):
            return built.state
        return self._build(profile, now, built)

    def _build(self, profile: Profile, now: datetime, old: _Built | None) -> ProfileState:
        if old is not None and old.tz is profile.tz and old.since <= now < old.until:
            day, since, until = old.day, old.since, old.until  # only the minutes moved
        else:
            since = now
            day, until = local_day(now, profile.tz)
        version = self._minutes.versions.get(profile.id, 0)
        minutes = MappingProxyType(self._minutes.minutes(profile.id, day))
        with self._building:
            state = ProfileState(grants=self._grants.get(profile.id, ()),
                                 usage_minutes=minutes,
                                 paused_until=self._pauses.get(profile.id),
                                 internet_paused_until=self._internet.get(profile.id))
            self._built[profile.id] = _Built(profile.tz, since, until, day, version, state)
        return state

    def paused_until(self, profile_id: str) -> datetime | None:
        """The end of the profile's pause (it may have passed: compare with the time)."""
        return self._pauses.get(profile_id)

    def internet_paused_until(self, profile_id: str) -> datetime | None:
        """The end of the profile's internet pause (it may have passed)."""
        return self._internet.get(profile_id)

    def grants(self, profile_id: str) -> tuple[Grant, ...]:
        return self._grants.get(profile_id, ())

    def minutes_used(self, profile: Profile, now: datetime) -> dict[str, float]:
        """Minutes used per service on the profile's local day at ``now``, on every node."""
        return self._minutes.minutes(profile.id, now.astimezone(profile.tz).date())

    def edits(self) -> tuple[ConfigEdit, ...]:
        """The dashboard edits in force over the configuration file, oldest first."""
        return self._edits

    # -- reading (from the database: call it off the event loop) ------------------------------
    def requests(self, status: str | None = None, profile: str | None = None,
                 since: datetime | None = None, limit: int = 100) -> list[AccessRequest]:
        return self.store.requests(status, profile, since, limit)

    def request(self, request_id: int) -> AccessRequest | None:
        return self.store.request(request_id)

    def edit_history(self, limit: int = 200) -> list[ConfigEdit]:
        """Edits that ended (replaced, discarded, or overtaken by the file), newest first."""
        ended = [s for s in EditStatus if s is not EditStatus.ACTIVE]
        return self.store.edits(ended, limit)

    # -- keeping up with the database ---------------------------------------------------------
    def load(self) -> None:
        """At start: everything, whatever the versions."""
        self._versions, self._stored = {}, {}
        self.apply(self.read())

    def read(self) -> Snapshot:
        """The kinds that moved since the last ``apply``, from the database (blocking)."""
        local = self._local
        versions = self.store.versions()  # first: what follows is at least this new
        moved = frozenset(k for k, v in versions.items() if self._versions.get(k) != v)
        if not moved:
            return Snapshot(versions, local)
        now = self.clock.now()
        minutes, counts = (self._read_minutes(now.date() - timedelta(days=1))
                           if Kind.USAGE in moved else (None, None))
        paused = self.store.active_pauses(now) if Kind.PAUSES in moved else None
        return Snapshot(
            versions, local,
            grants=tuple(self.store.active_grants(now)) if Kind.GRANTS in moved else None,
            pauses=None if paused is None else {p.profile: p.until for p in paused
                                                if p.kind == "protection"},
            internet=None if paused is None else {p.profile: p.until for p in paused
                                                  if p.kind == "internet"},
            minutes=minutes, minute_counts=counts,
            edits=(tuple(sorted(self.store.edits(), key=lambda e: (e.made_at, e.id or 0)))
                   if Kind.EDITS in moved else None),
            kinds=moved)

    def _read_minutes(self, since: date) -> tuple[dict[UsageKey, set[int]],
                                                  dict[UsageKey, tuple[int, int]]]:
        """The minutes stored since the last read: per key, only those above the highest one
        read before, unless the count says some came in below it (then all of the key's)."""
        counts = self.store.minute_counts(since)
        found: dict[UsageKey, set[int]] = {}
        for key, (count, top) in counts.items():
            known = self._stored.get(key)
            if known == (count, top):
                continue
            if known is not None and count > known[0]:
                new = self.store.minutes_of(key, known[1])
                if known[0] + len(new) == count:
                    found[key] = new
                    continue
            found[key] = self.store.minutes_of(key)
        return found, counts

    def apply(self, snap: Snapshot) -> None:
        """Take what ``read`` found; listeners hear of what changed. A read that began
        before a change made here is dropped (it may miss that change): the next sync reads
        again."""
        if snap.local != self._local:
            return
        self._versions = {**self._versions, **{k: snap.versions[k] for k in snap.kinds}}
        changed: set[str] = set()
        if snap.grants is not None:
            changed |= self._take_grants(_by_profile(snap.grants))
        if snap.pauses is not None:
            changed |= self._take_pauses(snap.pauses)
        if snap.internet is not None:
            changed |= self._take_internet(snap.internet)
        for pid in sorted(changed):
            self._changed(pid)
        if snap.minute_counts is not None:
            self._stored = snap.minute_counts
        if snap.minutes is not None:
            for pid, service in sorted(self._minutes.merge(snap.minutes)):
                for usage_listener in self._usage_listeners:
                    usage_listener(pid, service)
        if snap.edits is not None:
            self._take_edits(snap.edits)

    def sync(self) -> None:
        """``read`` then ``apply``, on the caller's thread."""
        self.apply(self.read())

    def subscribe(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def on_edits(self, listener: EditsListener) -> None:
        self._edit_listeners.append(listener)

    def on_usage(self, listener: UsageListener) -> None:
        self._usage_listeners.append(listener)

    def _take_grants(self, grants: dict[str, tuple[Grant, ...]]) -> set[str]:
        with self._building:
            old, self._grants = self._grants, grants
            return self._drop_built({pid for pid in old.keys() | grants.keys()
                                     if old.get(pid, ()) != grants.get(pid, ())})

    def _take_pauses(self, pauses: dict[str, datetime]) -> set[str]:
        with self._building:
            old, self._pauses = self._pauses, pauses
            return self._drop_built({pid for pid in old.keys() | pauses.keys()
                                     if old.get(pid) != pauses.get(pid)})

    def _take_internet(self, paused: dict[str, datetime]) -> set[str]:
        with self._building:
            old, self._internet = self._internet, paused
            return self._drop_built({pid for pid in old.keys() | paused.keys()
                                     if old.get(pid) != paused.get(pid)})

    def _drop_built(self, changed: set[str]) -> set[str]:
        """The built states of the profiles whose grants or pauses changed go (the caller
        holds the lock)."""
        for pid in changed:
            self._built.pop(pid, None)
        return changed

    def _take_edits(self, edits: tuple[ConfigEdit, ...]) -> None:
        if edits != self._edits:
            self._edits = edits
            for listener in self._edit_listeners:
                listener()

    def _changed(self, profile_id: str) -> None:
        for listener in self._listeners:
            listener(profile_id)

    def _wrote(self, kind: Kind) -> None:
        """A change made here: reads in flight are stale; the kind is re-read at the next
        sync (which also brings what other nodes changed meanwhile)."""
        self._local += 1
        self._versions.pop(kind, None)

    # -- changes ------------------------------------------------------------------------------
    def pause(self, profile_ids: Sequence[str], until: datetime | None, actor: str,
              audit: AuditEntry | None = None, kind: PauseKind = "protection") -> None:
        """Pause protection (``kind="internet"``: pause the internet) for the profiles until
        ``until`` (None ends the pause), as one change."""
        now = self.clock.now()
        if until is None:
            self.store.set_pauses([], profile_ids, audit, kind)
        else:
            self.store.set_pauses([PauseRecord(p, until, now, actor, kind)
                                   for p in profile_ids], [], audit, kind)
        self._wrote(Kind.PAUSES)
        pauses = dict(self._pauses if kind == "protection" else self._internet)
        for pid in profile_ids:
            if until is None:
                pauses.pop(pid, None)
            else:
                pauses[pid] = until
        take = self._take_pauses if kind == "protection" else self._take_internet
        for pid in sorted(take(pauses)):
            self._changed(pid)

    def add_grant(self, grant: Grant, audit: AuditEntry | None = None) -> Grant:
        stored = self.store.add_grant(grant, self.clock.now(), audit)
        self._add_local_grant(stored)
        return stored

    def _add_local_grant(self, grant: Grant) -> None:
        self._wrote(Kind.GRANTS)
        grants = dict(self._grants)
        grants[grant.profile] = (*grants.get(grant.profile, ()), grant)
        for pid in sorted(self._take_grants(grants)):
            self._changed(pid)

    def revoke_grant(self, grant_id: int, audit: AuditEntry | None = None) -> Grant | None:
        """End a grant now; None when there is no such active grant."""
        ended = self.store.revoke_grant(grant_id, self.clock.now(), audit)
        if ended is None:
            return None
        self._wrote(Kind.GRANTS)
        grants = {pid: tuple(g for g in items if g.id != grant_id)
                  for pid, items in self._grants.items()}
        for pid in sorted(self._take_grants(grants)):
            self._changed(pid)
        return ended

    def add_usage_minute(self, profile: Profile, service: str,
                         when: datetime) -> tuple[date, int] | None:
        """Count ``when``'s minute as used here; its (local day, minute) when it is new (the
        caller stores it, batched, with the query log)."""
        return self._minutes.record(profile.id, service, when, profile.tz)

    def add_request(self, request: AccessRequest) -> AccessRequest:
        return self.store.add_request(request)

    def decide_request(self, request_id: int, decision: RequestDecision,
                       grant: Grant | None = None, edits: Sequence[ConfigEdit] = (),
                       audit: AuditEntry | None = None) -> AccessRequest | None:
        """Answer a request together with the grant or edits that carry it out: one
        transaction. None when there is no such request."""
        decided = self.store.decide_request(request_id, decision, grant, edits, audit)
        if decided is None:
            return None
        if grant is not None:
            self._wrote(Kind.GRANTS)
            self.sync()  # the grant's id is the store's: read it back with the rest
        if edits:
            self._wrote(Kind.EDITS)
            self.sync()
        return decided

    def put_edits(self, edits: Sequence[ConfigEdit], audit: AuditEntry | None = None) -> None:
        """Store dashboard edits (validated by the caller) and put them in force here."""
        self.store.put_edits(edits, audit)
        self._wrote(Kind.EDITS)
        self.sync()

    def end_edits(self, ends: Sequence[EditEnd], audit: AuditEntry | None = None) -> int:
        count = self.store.end_edits(ends, self.clock.now(), audit)
        if count:
            self._wrote(Kind.EDITS)
            self.sync()
        return count
