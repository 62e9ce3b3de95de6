"""Time used per profile and service, from query timestamps.

A minute counts as used when the profile's devices asked for a service's names during it.
Apps keep talking in the background, so this over-counts a little; it is the measure DNS can
give and is documented as such (docs/policy.md).

Minutes are kept one by one (minute of the profile's local day), not as a running total: the
minutes this server saw and those every server sharing the database stored are merged as
sets, so a minute two servers both saw (a device asking both, a primary and a secondary
resolver) counts once."""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kidshield.state.store import UsageKey

# local dates of two zones are at most two days apart (UTC+14 and UTC-12)
FORGET_AFTER_DAYS = 2


class UsedMinutes:
    def __init__(self) -> None:
        self._seen: dict[UsageKey, set[int]] = {}
        # per profile, moves whenever its minutes do: a reader may keep what ``minutes``
        # gave for as long as this stays the same (and the day does)
        self.versions: dict[str, int] = {}

    def _moved(self, profile: str) -> None:
        self.versions[profile] = self.versions.get(profile, 0) + 1

    def record(self, profile: str, service: str, when: datetime,
               tz: ZoneInfo) -> tuple[date, int] | None:
        """Count ``when``'s minute; its (local day, minute) when it was not counted before."""
        local = when.astimezone(tz)
        key = (profile, service, local.date())
        minute = local.hour * 60 + local.minute
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = set()
            self._forget_old(local.date())
        if minute in seen:
            return None
        seen.add(minute)
        self._moved(profile)
        return local.date(), minute

    def merge(self, stored: Mapping[UsageKey, Set[int]]) -> set[tuple[str, str]]:
        """Take in minutes read from the database; the (profile, service) whose count grew."""
        grew: set[tuple[str, str]] = set()
        for key, minutes in stored.items():
            seen = self._seen.setdefault(key, set())
            if not minutes <= seen:
                seen |= minutes
                grew.add((key[0], key[1]))
        for profile, _service in grew:
            self._moved(profile)
        return grew

    def minutes(self, profile: str, day: date) -> dict[str, float]:
        """Minutes used per service on the profile's local ``day``."""
        return {service: float(len(seen)) for (p, service, d), seen in self._seen.items()
                if p == profile and d == day and seen}

    def _forget_old(self, today: date) -> None:
        # ``today`` is one profile's local date; another profile's can be two days behind
        # it (UTC+14 against UTC-12 for a couple of hours a day), and its today must stay
        for key in [k for k in self._seen if (today - k[2]).days > FORGET_AFTER_DAYS]:
            del self._seen[key]
            self._moved(key[0])
