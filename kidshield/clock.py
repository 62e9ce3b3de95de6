"""Time is an input: I/O code passes a Clock in, pure code receives ``now`` as an argument.

A clock tells two times: the wall clock (``now``: schedules, budgets, log times) and a
monotonic clock (``monotonic``: TTLs, rate limits, expiry), which never steps when the wall
clock is set. Tests move both with ``FixedClock.advance`` and step the wall clock alone with
``FixedClock.set``, so nothing has to sleep for time to pass.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes back, not moved by setting the clock."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    monotonic = staticmethod(time.monotonic)


class FixedClock:
    """A clock for tests and ``kidshield check --at``: it moves only when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return self._elapsed

    def set(self, at: datetime) -> None:
        """Set the wall clock (as NTP does after boot): a step, the monotonic clock stays."""
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Let time pass: both clocks move on."""
        self._at += delta
        self._elapsed += delta.total_seconds()
