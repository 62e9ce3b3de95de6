"""Ready answers: what the slow path decided, kept as bytes so a repeat of the same question
from a device of the same profile is answered without building Python objects
(``Resolver.answer_fast``), and the log template every reuse of it shares."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from itertools import islice
from typing import Any

from dns.rcode import Rcode

from kidshield.dns.wire import WireError, min_ttl_offsets, split_answer
from kidshield.policy.reason import Action, Reason

# Members looked up through an enum class cost about 0.15 µs each on Python 3.11
_ALLOW, _BLOCK, _REWRITE = Action.ALLOW, Action.BLOCK, Action.REWRITE

READY_MAX_SECONDS = 3600.0  # longest a ready answer is reused (TTLs age on the fast path)
POLICY_READY_MAX = 300.0  # longest an answer of our own (block, special name) is reused
READY_PER_MB = 512  # ready answers kept (all profiles together) per MiB of ``[dns] cache_mb``
_HEADS_MAX = 4096


@dataclass(slots=True, eq=False)
class LogTemplate:
    """What the log and metrics need about an answer; shared by every reuse of it (compared
    by identity, which is cheap to hash when the log pump counts answers). Never changed
    once built; not a frozen dataclass, whose every field is set through
    ``object.__setattr__``: 2.3 µs against 0.4 µs to build, on every cache miss."""

    profile: str
    name: str
    qtype: str
    action: Action
    reason: Reason
    rule: str | None
    category: str | None
    service: str | None
    upstream: str | None
    rcode: Rcode


# one pending log item from the slow path: (unix time, client address, template, latency ms)
LogItem = tuple[float, str, LogTemplate, float]


@dataclass(slots=True, eq=False)
class ReadyAnswer:
    """One ready answer. The fast path reads and ages it in place; the log pump takes its
    counts. Times are by the resolver's monotonic clock unless named otherwise."""

    expires: float  # the upstream TTL or the policy's, whichever ends first, a little early
    policy_until: float  # unix time by the service clock: schedules, budgets, grants
    head: bytes  # the response's bytes 2..12 (flags and counts; the query brings ID, question)
    tail: bytes  # the response after the question, TTLs aged
    template: LogTemplate
    next_ageing: float  # when the TTLs in ``tail`` are next counted down (once a second)
    # of each TTL in the whole response (the tail starts at ``qend``): the list the answer's
    # reading made, shared, not a copy made on every miss
    ttl_offsets: list[int]
    qend: int
    ttls: list[int] | None  # as created; read from ``original_tail`` when first aged
    created: float
    original_tail: bytes  # the tail as created, which ageing starts from
    size: int  # of the whole response
    usage: tuple[str, str] | None  # (profile, service) when answering is time on a service
    count: int = 0  # answers given from it since the log last took them
    per_client: dict[str, int] | None = None  # the same per client address, when logged


MAX_SEEN = 4096  # device addresses remembered for the set-up wizard


class ReadyAnswers:
    """Ready answers per profile, and each client address's profile once it passed the
    access control (the fast path looks a client's ready answers up in one step)."""

    def __init__(self, max_entries: int = 16 * READY_PER_MB) -> None:
        # about 700 bytes each with its log template and key (tracemalloc): when all profiles
        # together reach it, the oldest quarter of the largest profile's goes, so neither many
        # distinct names nor many profiles grow the process
        self.max_entries = max_entries
        self.by_profile: dict[str, dict[bytes, ReadyAnswer]] = {}
        self.by_client: dict[str, dict[bytes, ReadyAnswer]] = {}  # the same dicts
        self.client_profiles: dict[str, str] = {}  # address -> profile id
        # address -> when it last asked past the ready answers (time.perf_counter()), in
        # memory only (the log keeps no addresses by default): the set-up wizard offers the
        # devices seen recently; not forgotten on reloads, bounded
        self.seen: dict[str, float] = {}
        self._heads: dict[bytes, bytes] = {}
        # entries of all profiles together, kept up to date by every change here (the dicts
        # are changed nowhere else): summing every profile's on each miss cost a call per
        # profile, thousands of them at a small ISP
        self._total = 0

    def for_profile(self, pid: str) -> dict[bytes, ReadyAnswer]:
        found = self.by_profile.get(pid)
        if found is None:
            found = self.by_profile[pid] = {}
        return found

    def bind(self, client: str, pid: str) -> None:
        """``client`` is answered as profile ``pid``: its repeats may take the fast path."""
        self.client_profiles[client] = pid
        self.by_client[client] = self.for_profile(pid)

    def saw(self, client: str, at: float) -> None:
        seen = self.seen
        seen[client] = at
        if len(seen) > MAX_SEEN:  # keep the most recent half
            recent = sorted(seen.items(), key=lambda item: -item[1])[:MAX_SEEN // 2]
            seen.clear()
            seen.update(recent)

    def forget(self, profile: str | None = None) -> None:
        """Drop every ready answer (and client binding), or one profile's answers."""
        if profile is None:
            self.by_profile.clear()
            self.by_client.clear()
            self.client_profiles.clear()
            self._total = 0
            return
        # cleared in place: the client map holds the same dict
        entries = self.by_profile.get(profile, {})
        self._total -= len(entries)
        entries.clear()

    def __len__(self) -> int:
        return self._total

    def store(self, pid: str, key: bytes, qend: int, response: bytes, template: LogTemplate,
              ready_for: float, wall: float, now: float,
              offsets: list[int] | None = None) -> None:
        """Keep ``response`` (to the question ending at ``qend``) for ``ready_for`` seconds
        from ``now`` (monotonic) and ``wall`` (unix time); ``offsets``: where its TTLs are,
        when known (an upstream's answer was read when it arrived), else read here."""
        if template.action is _BLOCK:
            offsets = []
        elif offsets is None:
            try:
                offsets = min_ttl_offsets(response)[0]
            except WireError:
                return
        entries = self.for_profile(pid)
        if key not in entries:
            if self._total >= self.max_entries or len(entries) >= self.max_entries:
                largest = max(self.by_profile.values(), key=len)
                before = len(largest)
                drop_oldest(largest, before)
                self._total -= before - len(largest)
            self._total += 1
        # stagger expiry, so answers cached together are not all refreshed together
        upstream_for = ready_for * (0.9 + 0.1 * random.random())
        head, tail = split_answer(response, qend)
        if len(self._heads) > _HEADS_MAX:
            self._heads.clear()
        head = self._heads.setdefault(head, head)  # few distinct headers: share them
        # a safe-search rewrite (restricted YouTube) is still time spent on the service
        usage = (pid, template.service) if template.service and (
            template.action is _ALLOW or template.action is _REWRITE) else None
        # positional: keywords cost twice as much on every miss
        entries[key] = ReadyAnswer(now + upstream_for, wall + ready_for, head, tail, template,
                                   now + 1.0, offsets, qend, None, now, tail, len(response),
                                   usage)


def aged_tail(entry: ReadyAnswer, now: float) -> bytes:
    """The entry's tail with its TTLs counted down to ``now``. The TTLs as created are read
    here the first time (most answers are never reused a second later: not on every miss)."""
    base, tail, offsets = entry.qend, entry.original_tail, entry.ttl_offsets
    ttls = entry.ttls
    if ttls is None:
        ttls = entry.ttls = [_TTL.unpack_from(tail, offset - base)[0] for offset in offsets]
    age = int(now - entry.created)
    out = bytearray(tail)
    for offset, ttl in zip(offsets, ttls, strict=True):
        _TTL.pack_into(out, offset - base, max(0, ttl - age))
    return bytes(out)


_TTL = struct.Struct("!I")


def drop_oldest(entries: dict[Any, Any], bound: int) -> None:
    """Make room in a dict bounded to ``bound`` entries: the oldest quarter (by insertion) goes
    in one pass, so the cost per insertion stays constant and the dict is edited in place (the
    fast path holds it)."""
    for key in list(islice(entries, len(entries) - bound + 1 + bound // 4)):
        del entries[key]
