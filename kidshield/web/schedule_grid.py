"""Schedules as hours of a week and back: what the dashboard's week-grid editor shows and
saves. A painted grid becomes the fewest schedules that cover it exactly (one per run of
hours, days with the same run together); hours are whole, so a window that starts or ends
within an hour is shown on the hours it touches and written back on the hour only when the
parent paints that schedule again. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kidshield.policy.schedule import Window, parse_days, parse_hhmm

DAY_IDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Cell = tuple[int, int]  # (day 0 = Monday, hour 0-23)


def window_of(schedule: Mapping[str, Any]) -> Window:
    """A schedule table (as the file writes it: ``from``, ``to``, ``days``) as a window."""
    return Window(parse_hhmm(str(schedule["from"])), parse_hhmm(str(schedule["to"])),
                  parse_days(schedule.get("days", "daily")))


def cells_of(window: Window) -> set[Cell]:
    """The hours of a week that ``window`` covers for at least part of the hour."""
    cells: set[Cell] = set()
    for start, end in window.intervals():  # minutes of a week from Monday 00:00
        for hour in range(start // 60, (end + 59) // 60):
            cells.add(((hour // 24) % 7, hour % 24))
    return cells


def runs(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted hours as (first, end) runs: [9, 10, 11, 15] -> [(9, 12), (15, 16)]."""
    found: list[tuple[int, int]] = []
    for hour in sorted(set(hours)):
        if found and found[-1][1] == hour:
            found[-1] = (found[-1][0], hour + 1)
        else:
            found.append((hour, hour + 1))
    return found


def schedules_from_cells(cells: Iterable[Cell], name: str, action: str,
                         scope: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Schedule tables covering exactly ``cells``: one per run of hours, the days that share
    the run together (Monday to Friday 16-18 is one schedule). A run to midnight ends at
    "00:00". ``scope``: the ``services``/``categories`` each one keeps."""
    by_run: dict[tuple[int, int], list[int]] = {}
    per_day: dict[int, list[int]] = {}
    for day, hour in cells:
        if not (0 <= day < 7 and 0 <= hour < 24):
            raise ValueError(f"no hour {hour} on day {day}")
        per_day.setdefault(day, []).append(hour)
    for day in sorted(per_day):
        for run in runs(per_day[day]):
            by_run.setdefault(run, []).append(day)
    extra = {k: list(v) for k, v in (scope or {}).items() if v}
    out = []
    for (start, end), days in sorted(by_run.items(), key=lambda item: (item[1][0], item[0])):
        out.append({"name": name, "days": days_value(days), "from": f"{start:02d}:00",
                    "to": f"{end % 24:02d}:00", "action": action, **extra})
    return out


def days_value(days: Iterable[int]) -> str | list[str]:
    """Weekday numbers as the configuration writes them ("daily", "weekdays" or a list)."""
    chosen = sorted(set(days))
    if chosen == list(range(7)):
        return "daily"
    if chosen == list(range(5)):
        return "weekdays"
    if chosen == [5, 6]:
        return "weekend"
    return [DAY_IDS[d] for d in chosen]
