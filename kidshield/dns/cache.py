"""Answer cache: positive and negative (RFC 2308) answers with min/max TTL, bounded in entries
and in bytes (LRU), and serve-stale (RFC 8767) for when every upstream fails.

The byte bound (``[dns] cache_mb``) counts what an entry costs the process, not only its answer:
the answer and key bytes plus the Python objects around them (measured with tracemalloc: about
420 bytes for a one-record answer), so the cache's share of the resolver's memory stays within
it on a Raspberry Pi as on a server.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from kidshield.dns.strict import AnswerShape, check_answer
from kidshield.dns.wire import WireError, set_ttls

STALE_ANSWER_TTL = 30  # RFC 8767 recommends 30 s for answers served stale
ENTRY_OVERHEAD = 350  # bytes of Python objects per entry besides its answer, key and records
RECORD_OVERHEAD = 72  # per record: its TTL offset and TTL (two list slots and two ints)
TARGET_OVERHEAD = 57  # per alias target besides its characters: a str and its list slot


@dataclass(slots=True)
class Entry:
    response: bytes  # as received, ID zeroed
    offsets: list[int]
    ttls: list[int]
    targets: Sequence[str]  # the names its aliases lead to (AnswerShape.targets)
    stored: float
    expires: float
    stale_until: float
    cost: int  # bytes this entry holds (see ENTRY_OVERHEAD and RECORD_OVERHEAD)


class AnswerCache:
    def __init__(
        self,
        max_entries: int = 100_000,
        min_ttl: int = 0,
        max_ttl: int = 86_400,
        negative_max_ttl: int = 3_600,
        stale_for: int = 86_400,
        max_bytes: int = 16 << 20,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0  # what the entries cost, in bytes
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.negative_max_ttl = negative_max_ttl
        self.stale_for = stale_for
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.stale_served = 0

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: bytes, response: bytes, now: float, shape: AnswerShape | None = None,
            negative: bool = False) -> int:
        """Store an upstream answer (``shape``: what reading it found, read here if not
        given); ``negative``: kept for its SOA's negative TTL (RFC 2308), not at all without
        one. Returns the TTL used (0: not cached)."""
        if self.max_entries == 0 or self.max_bytes == 0:
            return 0
        if shape is None:
            try:
                shape = check_answer(response)
            except WireError:
                return 0
        if negative:
            if shape.negative_ttl is None:
                return 0
            ttl = min(shape.negative_ttl, self.negative_max_ttl)
        else:
            ttl = shape.min_ttl
        ttl = max(self.min_ttl, min(self.max_ttl, ttl))
        if ttl <= 0:
            return 0
        offsets = shape.ttl_offsets
        targets = shape.targets
        cost = ENTRY_OVERHEAD + len(response) + len(key) + RECORD_OVERHEAD * len(offsets)
        for target in targets:
            cost += TARGET_OVERHEAD + len(target)
        entry = Entry(b"\x00\x00" + response[2:], offsets, shape.ttls, targets or (),
                      now, now + ttl, now + ttl + self.stale_for, cost)
        entries = self._entries
        old = entries.get(key)
        entries[key] = entry
        if old is not None:  # a new key is inserted last already
            self.bytes -= old.cost
            entries.move_to_end(key)
        self.bytes += cost
        if len(entries) > self.max_entries or self.bytes > self.max_bytes:
            self.trim()
        return ttl

    def trim(self) -> None:
        """Drop the least recently used entries until both bounds hold."""
        entries = self._entries
        while entries and (len(entries) > self.max_entries or self.bytes > self.max_bytes):
            _key, dropped = entries.popitem(last=False)
            self.bytes -= dropped.cost

    def get(self, key: bytes, now: float) -> tuple[bytes, float, Entry] | None:
        """A fresh answer with aged TTLs, its remaining lifetime and its entry (where its
        TTLs and alias targets are), or None."""
        entry = self._entries.get(key)
        if entry is None or now >= entry.expires:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        age = int(now - entry.stored)
        response = entry.response if age == 0 else set_ttls(
            entry.response, entry.offsets, entry.ttls, age)
        return response, entry.expires - now, entry

    def has_stale(self, key: bytes, now: float) -> bool:
        """Whether ``get_stale`` would find an answer (without counting one served)."""
        entry = self._entries.get(key)
        return entry is not None and now < entry.stale_until

    def get_stale(self, key: bytes, now: float) -> tuple[bytes, Entry] | None:
        entry = self._entries.get(key)
        if entry is None or now >= entry.stale_until:
            return None
        self.stale_served += 1
        return set_ttls(entry.response, entry.offsets,
                        [STALE_ANSWER_TTL] * len(entry.offsets), 0), entry

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
