"""Weekly time windows in a profile's own time zone (DST-correct), and daily budgets.

A window is a start and an end wall-clock time on chosen weekdays. When the end is not after
the start the window crosses midnight: "Sun-Thu 21:00-07:00" covers Sunday 21:00 to Monday 07:00
and so on, the weekday naming the evening the window starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS = frozenset(range(7))
SCHOOL_NIGHTS = frozenset({6, 0, 1, 2, 3})  # Sunday to Thursday evenings
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def parse_hhmm(text: str) -> int:
    """'21:30' -> minutes after midnight. '24:00' is allowed as the end of the day."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{text!r} is not a time (HH:MM)")
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(f"{text!r} is not a time (HH:MM)")
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_days(items: list[str] | str) -> frozenset[int]:
    """['mon', 'tue'] or 'mon-fri' or 'school-nights' or 'weekend' or 'daily' -> weekday numbers."""
    words = [items] if isinstance(items, str) else list(items)
    days: set[int] = set()
    for raw in words:
        word = raw.strip().lower()
        if word in ("daily", "all", "every-day"):
            days |= ALL_DAYS
        elif word in ("weekdays", "mon-fri"):
            days |= {0, 1, 2, 3, 4}
        elif word == "weekend":
            days |= {5, 6}
        elif word == "school-nights":
            days |= {6, 0, 1, 2, 3}  # Sunday to Thursday evenings
        elif "-" in word:
            start, _, end = word.partition("-")
            if start not in WEEKDAYS or end not in WEEKDAYS:
                raise ValueError(f"{raw!r} is not a day range like 'mon-fri'")
            i = WEEKDAYS.index(start)
            while True:
                days.add(i)
                if i == WEEKDAYS.index(end):
                    break
                i = (i + 1) % 7
        elif len(word) >= 3 and any(full.startswith(word) for full in DAY_NAMES):
            days.add(WEEKDAYS.index(word[:3]))
        else:
            raise ValueError(
                f"{raw!r} is not a day (use mon..sun, 'mon-fri', 'weekend', 'school-nights', "
                "'daily')"
            )
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in minutes after local midnight, on the given weekdays (0 = Monday)."""

    start: int
    end: int
    days: frozenset[int] = ALL_DAYS

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def label(self) -> str:
        if self.days == ALL_DAYS:
            when = "daily"
        elif self.days == SCHOOL_NIGHTS:
            when = "school nights"
        elif self.days == frozenset({0, 1, 2, 3, 4}):
            when = "weekdays"
        elif self.days == frozenset({5, 6}):
            when = "weekend"
        else:
            when = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{when} {format_hhmm(self.start)}-{format_hhmm(self.end)}"

    def intervals(self) -> list[tuple[int, int]]:
        """The window as [start, end) minute-of-week intervals (a week starts Monday 00:00)."""
        out: list[tuple[int, int]] = []
        for d in sorted(self.days):
            base = d * MINUTES_PER_DAY
            if self.crosses_midnight:
                out.append((base + self.start, base + MINUTES_PER_DAY + self.end))
            else:
                out.append((base + self.start, base + self.end))
        return out

    def contains(self, local: datetime) -> bool:
        m = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        return any(a <= m < b or a <= m + MINUTES_PER_WEEK < b for a, b in self.intervals())

    def next_edge(self, local: datetime) -> int:
        """Minutes from ``local`` (wall clock) to the next start or end of this window."""
        m = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        best = MINUTES_PER_WEEK
        for a, b in self.intervals():
            for edge in (a, b % MINUTES_PER_WEEK):
                delta = (edge - m) % MINUTES_PER_WEEK
                if delta == 0:
                    delta = MINUTES_PER_WEEK
                best = min(best, delta)
        return best


def wall_to_utc(local: datetime, minutes_ahead: int, tz: ZoneInfo) -> datetime:
    """The instant when the wall clock in ``tz`` shows ``local`` + ``minutes_ahead`` minutes.

    Computed on the wall clock, not by adding a timedelta to an instant, so a window ending at
    07:00 ends at 07:00 local time also on the morning the clocks change. A wall time skipped by
    a spring-forward jump maps to the first instant after the gap.
    """
    naive = local.replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=minutes_ahead)
    utc = ZoneInfo("UTC")
    after = local.astimezone(utc)
    for step in range(0, 24 * 60 + 1):
        candidate = naive + timedelta(minutes=step)
        # A wall time repeated by a fall-back change happens twice: take the first one that is
        # still ahead of ``local``.
        for fold in (0, 1):
            aware = candidate.replace(tzinfo=tz, fold=fold)
            instant = aware.astimezone(utc)
            # A wall time inside a spring-forward gap does not survive the round trip.
            if instant.astimezone(tz).replace(tzinfo=None) == candidate and instant > after:
                return instant
    raise ValueError(f"no valid wall time near {naive} in {tz}")  # pragma: no cover


# (window, zone) -> (from, edge, inside): for every instant in [from, edge), next_change() is
# ``edge`` and the window's membership is ``inside``
_NEXT_EDGES: dict[tuple[Window, ZoneInfo], tuple[datetime, datetime, bool]] = {}


def window_at(window: Window, now: datetime, tz: ZoneInfo) -> tuple[bool, datetime | None]:
    """Whether ``now`` falls inside ``window`` on the wall clock in ``tz``, and the next instant
    after ``now`` at which that can change (``next_change``; None: never). Both hold until that
    instant, so they are remembered per window: a resolver asks again for each new name at nearly
    the same instant, and converting to the zone and walking the window cost more than the rest
    of a schedule check."""
    if not window.days:
        # no days (``bedtime_days = []``): never inside, on any clock, so nothing to wait for;
        # a week ahead as the edge made every decision recompute it (it was never remembered)
        return False, None
    if window.start == window.end and window.days == ALL_DAYS:
        # midnight to midnight every day: always inside, clock changes included
        return True, None
    key = (window, tz)
    known = _NEXT_EDGES.get(key)
    if known is not None and known[0] <= now < known[1]:
        return known[2], known[1]
    local = now.astimezone(tz)
    inside = window.contains(local)
    minutes = window.next_edge(local)
    edge = wall_to_utc(local, minutes, tz)
    back = _clocks_go_back(now, edge, tz)
    if back is None:
        if minutes < MINUTES_PER_WEEK:
            # Every instant from ``now`` up to ``edge`` has this same next edge (there is no
            # other edge, and no clock change, in between), and so the same membership.
            if len(_NEXT_EDGES) >= 4096:
                _NEXT_EDGES.clear()
            _NEXT_EDGES[key] = (now, edge, inside)
        return inside, edge
    after = back.astimezone(tz)
    if window.contains(after) != inside:
        return inside, back
    return inside, min(edge, wall_to_utc(after, window.next_edge(after), tz))


def next_change(window: Window, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The next instant after ``now`` at which ``window.contains`` can change (None: never, for
    a window with no days or one covering every minute of the week).

    Usually the window's next start or end on the wall clock. When the clocks go back before
    then, the repeated hour can enter or leave the window again: the answer is then the moment of
    the change itself (if membership changes there) or the next edge counted from the wall time
    after it.
    """
    return window_at(window, now, tz)[1]


def _clocks_go_back(start: datetime, end: datetime, tz: ZoneInfo) -> datetime | None:
    """The instant in (start, end] when the clocks in ``tz`` go back, if they do (to the second;
    assumes at most one change in between, true of every zone over a week)."""
    before = start.astimezone(tz).utcoffset()
    later = end.astimezone(tz).utcoffset()
    if before is None or later is None or later >= before:
        return None
    base = start.replace(microsecond=0)
    lo, hi = 0, int((end - base).total_seconds())  # the offset is ``before`` at lo, not at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (base + timedelta(seconds=mid)).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return base + timedelta(seconds=hi)


def next_local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    tomorrow: date = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
