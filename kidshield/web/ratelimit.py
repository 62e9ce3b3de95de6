"""One rate limiter for the whole web server: sign-in, the parent PIN, the setup link, the
children's requests, reports, receipt codes (status pages and appeals) and DNS over HTTPS.

Each limit allows ``events`` in a burst and then one more every ``per / events`` seconds
(GCRA, the "generic cell rate algorithm": one number per key, no list of timestamps).
Keys are normalised identities: a device address (an IPv6 address by its /64, the block a
home or phone gets, so a device cannot step around its limit by changing its address
within it; an IPv4-mapped address as IPv4) and a name (Unicode NFKC, case-folded, trimmed
and with single spaces, so "Parent " and "parent" are one name).

Memory is bounded without forgetting anyone who is being held back: when the table is full
(``capacity`` keys), keys whose wait has run out are dropped (they hold nothing), and while
it stays full, new keys share one "everyone else" key per limit, which is slowed down as a
whole. A key that is
being held back is never dropped to make room, so flooding the table with new names or
addresses cannot release a blocked one.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

OVERFLOW = "*"


@dataclass(frozen=True, slots=True)
class Limit:
    events: int  # allowed at once (the burst)
    per: float  # seconds in which ``events`` are allowed

    @property
    def interval(self) -> float:
        return self.per / self.events


# What each limit counts, and per what (docs/web.md, "Rate limits").
LIMITS: dict[str, Limit] = {
    # sign-in: failures per device address (any name), per address or known browser and
    # name, and per name from devices that name never signed in on (docs/web.md explains
    # why a child cannot use these to keep a parent out)
    "signin.client": Limit(20, 900),
    "signin.attempt": Limit(5, 300),
    "signin.name": Limit(30, 3600),
    # the parent PIN on the child page: per device, and for the whole household per day
    # (fewer for a PIN shorter than 6 digits, so it is as slow to guess as a 6-digit one)
    "pin.client": Limit(5, 900),
    "pin.household": Limit(10, 86400),
    "pin.household.short": Limit(3, 86400),
    "setup.client": Limit(10, 900),  # wrong setup links
    "ask.client": Limit(20, 600),  # a child's requests for a blocked site
    # reports: generous, as a school behind one address must still be able to report
    "report.submit": Limit(30, 600),
    "report.draft": Limit(600, 600),
    "report.receipt": Limit(120, 600),  # receipt codes looked up or appealed: no guessing
}


def client_key(address: str) -> str:
    """A device address as one identity: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address.strip().lower()[:64] or "?"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def is_this_machine(address: str) -> bool:
    """127.0.0.1 or ::1: a browser on the kidshield machine itself (other loopback addresses
    are not what a browser there uses)."""
    return address in ("127.0.0.1", "::1", "::ffff:127.0.0.1")


class RateLimiter:
    """``acquire`` takes one event from every key it is given, or none when any of them must
    wait; ``release`` gives one back (a sign-in that succeeded); ``reset`` forgets a key.
    Thread-safe: the sign-in and PIN checks run in worker threads."""

    def __init__(self, limits: Mapping[str, Limit], now: Callable[[], float],
                 capacity: int = 50_000) -> None:
        self.limits = dict(limits)
        self._now = now
        self.capacity = capacity
        self._tat: dict[tuple[str, str], float] = {}  # theoretical arrival time per key
        self._lock = threading.Lock()
        self._purged_at = float("-inf")

    def __len__(self) -> int:
        return len(self._tat)

    def set_limit(self, kind: str, limit: Limit | None) -> None:
        """Change (or with None, lift) a limit that follows the configuration."""
        with self._lock:
            if limit is None:
                self.limits.pop(kind, None)
            elif self.limits.get(kind) != limit:
                self.limits[kind] = limit

    def _slot(self, kind: str, key: str, now: float) -> tuple[str, str]:
        slot = (kind, key)
        if slot in self._tat or len(self._tat) < self.capacity:
            return slot
        if now - self._purged_at >= 1.0:  # at most once a second: it walks the table
            self._purged_at = now
            self._tat = {k: t for k, t in self._tat.items() if t > now}
            if len(self._tat) < self.capacity:
                return slot
        return kind, OVERFLOW

    def wait(self, kind: str, key: str) -> float:
        """Seconds before ``key`` may do ``kind`` again (0: now); nothing is taken."""
        limit = self.limits[kind]
        with self._lock:
            now = self._now()
            tat = max(self._tat.get((kind, key), now), now)
            return max(0.0, tat - (limit.per - limit.interval) - now)

    def acquire(self, *keys: tuple[str, str]) -> float:
        """Take one event from each ``(kind, key)``: 0 when done, else the seconds to wait
        before the first of them allows one (then nothing was taken)."""
        with self._lock:
            now = self._now()
            plan: list[tuple[tuple[str, str], float]] = []
            longest = 0.0
            for kind, key in keys:
                limit = self.limits.get(kind)
                if limit is None:
                    continue
                slot = self._slot(kind, key, now)
                tat = max(self._tat.get(slot, now), now)
                wait = tat - (limit.per - limit.interval) - now
                if wait > 0:
                    longest = max(longest, wait)
                plan.append((slot, tat + limit.interval))
            if longest > 0:
                return longest
            for slot, tat in plan:
                self._tat[slot] = tat
            return 0.0

    def release(self, kind: str, key: str) -> None:
        """Give back one event of ``key`` (the attempt it counted went well)."""
        limit = self.limits.get(kind)
        if limit is None:
            return
        with self._lock:
            tat = self._tat.get((kind, key))
            if tat is None:
                return
            back = tat - limit.interval
            if back <= self._now():
                del self._tat[(kind, key)]
            else:
                self._tat[(kind, key)] = back

    def reset(self, kind: str, key: str | None = None) -> None:
        """Forget ``key`` of ``kind`` (every key of ``kind`` when None)."""
        with self._lock:
            if key is not None:
                self._tat.pop((kind, key), None)
                return
            for slot in [s for s in self._tat if s[0] == kind]:
                del self._tat[slot]
