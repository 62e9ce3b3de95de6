"""Drill canaries: proof that a device's own resolver path reaches kidshield.

``kidshield drill`` looks up a unique name, ``ks-<token>.drill.kidshield.home.arpa``, through the
device's system resolver. When the query reaches us we answer it (so the lookup succeeds) and
remember which client address asked and which profile it was matched to. The drill then asks us
directly for ``ks-<token>.seen.drill.kidshield.home.arpa`` (TXT) and reads whether the canary
was seen, from which client, as which profile, and which profile its own direct queries get.
Another resolver on the path never knows the unique name, so "not seen" means this device does
not use kidshield. Tokens are kept for 15 minutes, at most 1,024 of them.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

SUFFIX = ".drill.kidshield.home.arpa"
SEEN = ".seen" + SUFFIX
QTYPE_TXT = 16
CANARY_ADDRESS = "192.0.2.53"  # TEST-NET-1 (RFC 5737): never a real host
_TOKEN = re.compile(r"^ks-[a-z0-9]{8,40}$")
KEEP_SECONDS = 900.0
MAX_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class Sighting:
    client: str
    profile: str
    at: float  # monotonic seconds


def is_drill_name(name: str) -> bool:
    return name.endswith(SUFFIX)


class CanaryLog:
    """The canaries seen lately: token -> who asked (bounded, expiring)."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._seen: OrderedDict[str, Sighting] = OrderedDict()
        self._clock = clock or time.monotonic

    def _expire(self, now: float) -> None:
        while self._seen:
            token, first = next(iter(self._seen.items()))
            if now - first.at < KEEP_SECONDS and len(self._seen) <= MAX_TOKENS:
                break
            del self._seen[token]

    def answer(self, name: str, client: str, profile: str) -> tuple[str, list[str]] | None:
        """For a drill name: ("A", [address]) for a canary (now recorded), ("TXT", strings)
        for a "seen" question; None for a name that is not a well-formed drill name."""
        now = self._clock()
        self._expire(now)
        if name.endswith(SEEN):
            token = name[: -len(SEEN)]
            if not _TOKEN.match(token):
                return None
            found = self._seen.get(token)
            if found is None:
                return "TXT", ["seen=no", f"asker-profile={profile}"]
            return "TXT", ["seen=yes", f"client={found.client}", f"profile={found.profile}",
                           f"asker-profile={profile}"]
        token = name[: -len(SUFFIX)]
        if not _TOKEN.match(token):
            return None
        if token not in self._seen:
            self._seen[token] = Sighting(client, profile, now)
        return "A", [CANARY_ADDRESS]
