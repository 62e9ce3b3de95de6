"""A small in-memory limit on public report routes (anonymous submissions, draft saves and
receipt-code lookups), so one client cannot flood the queue or guess codes. Client addresses
are held in memory for the window only, never written anywhere."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    events: int
    window_seconds: float


# Generous: a school behind one NAT address must still be able to report.
LIMITS: dict[str, Limit] = {
    "submit": Limit(30, 600),
    "draft": Limit(600, 600),
    "status": Limit(120, 600),
}


class RateLimiter:
    def __init__(self, limits: dict[str, Limit] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self._now = now
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, kind: str, client: str) -> float:
        """0 when the event is allowed (and counted); otherwise seconds to wait."""
        limit = self.limits.get(kind)
        if limit is None:
            return 0.0
        now = self._now()
        with self._lock:
            if len(self._seen) > 50_000:  # forget idle clients rather than grow without end
                self._seen = {k: q for k, q in self._seen.items()
                              if q and q[-1] > now - limit.window_seconds}
            events = self._seen.setdefault((kind, client), deque())
            while events and events[0] <= now - limit.window_seconds:
                events.popleft()
            if len(events) >= limit.events:
                return max(0.1, events[0] + limit.window_seconds - now)
            events.append(now)
            return 0.0
