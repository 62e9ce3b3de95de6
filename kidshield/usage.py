"""Time used per profile and service, from query timestamps.

A minute counts as used when the profile's devices asked for a service's names during it.
Apps keep talking in the background, so this over-counts a little; it is the measure DNS can
give and is documented as such (docs/policy.md)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


class UsageTracker:
    def __init__(self) -> None:
        self._minutes: dict[tuple[str, str, date], set[int]] = {}
        self._base: dict[tuple[str, str, date], float] = {}

    def seed(self, profile: str, service: str, day: date, minutes: float) -> None:
        """Minutes already stored (from before a restart)."""
        self._base[(profile, service, day)] = minutes

    def record(self, profile: str, service: str, when: datetime, tz: ZoneInfo) -> bool:
        """Count ``when``'s minute; True when it is a newly used minute."""
        local = when.astimezone(tz)
        key = (profile, service, local.date())
        minute = local.hour * 60 + local.minute
        seen = self._minutes.get(key)
        if seen is None:
            seen = self._minutes[key] = set()
            self._forget_old(local.date())
        if minute in seen:
            return False
        seen.add(minute)
        return True

    def minutes(self, profile: str, day: date) -> dict[str, float]:
        out: dict[str, float] = {}
        for (p, service, d), base in self._base.items():
            if p == profile and d == day:
                out[service] = base
        for (p, service, d), seen in self._minutes.items():
            if p == profile and d == day:
                out[service] = out.get(service, 0.0) + len(seen)
        return out

    def _forget_old(self, today: date) -> None:
        for store in (self._minutes, self._base):
            for key in [k for k in store if (today - k[2]).days > 1]:
                del store[key]
