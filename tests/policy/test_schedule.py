"""Weekly windows in the profile's own time zone: midnight crossing, DST days, parsing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kidshield.policy.ages import AgeBand
from kidshield.policy.model import Profile, ScheduleRule
from kidshield.policy.reason import Reason
from kidshield.policy.schedule import (
    Window,
    next_local_midnight,
    parse_days,
    parse_hhmm,
    wall_to_utc,
)
from kidshield.policy.state import ProfileState
from tests.policy.helpers import LONDON, NEW_YORK, UTC, decide, engine, local, make_profile, utc

NIGHT = Window(parse_hhmm("21:00"), parse_hhmm("07:00"))  # daily 21:00-07:00


def bedtime_profile(tz: ZoneInfo = LONDON, start: str = "21:00", end: str = "07:00",
                    days: str = "daily") -> Profile:
    rule = ScheduleRule("bedtime", Window(parse_hhmm(start), parse_hhmm(end), parse_days(days)),
                        "block", bedtime=True)
    return make_profile(tz=tz, bedtime=rule)


# -- parsing -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("07:30", 450), ("24:00", 1440)])
def test_parse_hhmm_accepts_times(text: str, minutes: int) -> None:
    assert parse_hhmm(text) == minutes


@pytest.mark.parametrize("text", ["25:00", "24:01", "7:00", "07:60", "0700", "", "ab:cd"])
def test_parse_hhmm_rejects_non_times(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_hhmm(text)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("daily", set(range(7))),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekend", {5, 6}),
        ("school-nights", {6, 0, 1, 2, 3}),
        ("fri-mon", {4, 5, 6, 0}),
        (["Monday", "wed"], {0, 2}),
        ("sun", {6}),
    ],
)
def test_parse_days(days: str | list[str], expected: set[int]) -> None:
    assert parse_days(days) == frozenset(expected)


@pytest.mark.parametrize("word", ["someday", "mon-xyz", "monkey", "tuesdays-ish"])
def test_parse_days_rejects_words_that_are_not_days(word: str) -> None:
    with pytest.raises(ValueError, match="is not a day"):
        parse_days(word)


# -- midnight crossing -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hour", "minute", "inside"),
    [(23, 0, True), (1, 30, True), (7, 0, False), (20, 59, False), (21, 0, True), (6, 59, True),
     (12, 0, False)],
)
def test_window_crossing_midnight_contains(hour: int, minute: int, inside: bool) -> None:
    assert NIGHT.contains(local(LONDON, 2026, 12, 2, hour, minute)) is inside


def test_bedtime_window_crossing_midnight_blocks_at_2300() -> None:
    d = decide(engine(), "example.org", bedtime_profile(), local(LONDON, 2026, 12, 1, 23, 0))
    assert d.reason is Reason.BEDTIME
    assert d.valid_until == utc(2026, 12, 2, 7, 0)


def test_bedtime_window_crossing_midnight_blocks_at_0130() -> None:
    d = decide(engine(), "example.org", bedtime_profile(), local(LONDON, 2026, 12, 2, 1, 30))
    assert d.reason is Reason.BEDTIME
    assert d.valid_until == utc(2026, 12, 2, 7, 0)


def test_bedtime_window_crossing_midnight_ends_at_0700_exactly() -> None:
    d = decide(engine(), "example.org", bedtime_profile(), local(LONDON, 2026, 12, 2, 7, 0))
    assert d.reason is Reason.ALLOWED
    assert d.valid_until == utc(2026, 12, 2, 21, 0)


def test_bedtime_window_crossing_midnight_not_yet_at_2059() -> None:
    d = decide(engine(), "example.org", bedtime_profile(), local(LONDON, 2026, 12, 1, 20, 59, 30))
    assert d.reason is Reason.ALLOWED
    assert d.valid_until == utc(2026, 12, 1, 21, 0)


def test_window_on_chosen_evening_runs_into_next_morning_only() -> None:
    friday_night = Window(parse_hhmm("22:00"), parse_hhmm("08:00"), parse_days("fri"))
    assert friday_night.contains(local(LONDON, 2026, 12, 5, 7, 59))  # Saturday morning
    assert not friday_night.contains(local(LONDON, 2026, 12, 4, 7, 59))  # Friday morning
    assert not friday_night.contains(local(LONDON, 2026, 12, 5, 22, 30))  # Saturday night


def test_sunday_night_window_wraps_the_week_into_monday() -> None:
    sunday = Window(parse_hhmm("21:00"), parse_hhmm("07:00"), parse_days("sun"))
    monday_0100 = local(LONDON, 2026, 11, 30, 1, 0)
    assert sunday.contains(monday_0100)
    assert wall_to_utc(monday_0100, sunday.next_edge(monday_0100), LONDON) == utc(
        2026, 11, 30, 7, 0)


def test_window_label() -> None:
    assert NIGHT.label() == "daily 21:00-07:00"
    assert Window(600, 660, parse_days(["mon", "wed"])).label() == "mon,wed 10:00-11:00"


# -- DST ---------------------------------------------------------------------------------------
# Europe/London 2026: 29 March 01:00 GMT -> 02:00 BST; 25 October 02:00 BST -> 01:00 GMT.
# America/New_York 2026: 8 March 02:00 EST -> 03:00 EDT; 1 November 02:00 EDT -> 01:00 EST.

@pytest.mark.parametrize(
    ("tz", "evening", "morning_utc"),
    [
        (LONDON, datetime(2026, 3, 28, 23, 0), utc(2026, 3, 29, 6, 0)),  # spring forward
        (LONDON, datetime(2026, 10, 24, 23, 0), utc(2026, 10, 25, 7, 0)),  # fall back
        (NEW_YORK, datetime(2026, 3, 7, 23, 0), utc(2026, 3, 8, 11, 0)),
        (NEW_YORK, datetime(2026, 10, 31, 23, 0), utc(2026, 11, 1, 12, 0)),
    ],
)
def test_night_window_ends_at_0700_local_on_dst_change_days(
    tz: ZoneInfo, evening: datetime, morning_utc: datetime
) -> None:
    prof = bedtime_profile(tz)
    eng = engine()
    d = decide(eng, "example.org", prof, evening.replace(tzinfo=tz))
    assert d.reason is Reason.BEDTIME
    assert d.valid_until == morning_utc
    assert morning_utc.astimezone(tz).hour == 7
    assert decide(eng, "example.org", prof, morning_utc - timedelta(minutes=1)).reason is (
        Reason.BEDTIME)
    assert decide(eng, "example.org", prof, morning_utc).reason is Reason.ALLOWED


def test_window_edge_inside_the_skipped_hour_maps_to_the_end_of_the_gap() -> None:
    # 01:30 does not exist in London on 29 March 2026: the window starts at 02:00 BST.
    prof = bedtime_profile(LONDON, "01:30", "05:00")
    d = decide(engine(), "example.org", prof, local(LONDON, 2026, 3, 29, 0, 30))
    assert d.reason is Reason.ALLOWED
    assert d.valid_until == utc(2026, 3, 29, 1, 0)
    assert decide(engine(), "example.org", prof, utc(2026, 3, 29, 1, 0)).reason is Reason.BEDTIME


def test_window_end_inside_the_skipped_hour_in_new_york() -> None:
    prof = bedtime_profile(NEW_YORK, "22:00", "02:30")
    d = decide(engine(), "example.org", prof, local(NEW_YORK, 2026, 3, 8, 1, 0))
    assert d.reason is Reason.BEDTIME
    assert d.valid_until == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first instant after the gap
    assert decide(engine(), "example.org", prof, d.valid_until).reason is Reason.ALLOWED


def test_valid_until_is_in_the_future_during_the_repeated_hour() -> None:
    # 01:30 GMT (the second 01:30) on 25 October 2026; the window ends at 01:45 local.
    prof = bedtime_profile(LONDON, "23:00", "01:45")
    second_0130 = local(LONDON, 2026, 10, 25, 1, 30, fold=1)
    assert second_0130.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    d = decide(engine(), "example.org", prof, second_0130)
    assert d.reason is Reason.BEDTIME
    assert d.valid_until is not None and d.valid_until > second_0130
    assert d.valid_until == utc(2026, 10, 25, 1, 45)


def test_next_local_midnight_on_a_25_hour_day() -> None:
    assert next_local_midnight(utc(2026, 10, 25, 12, 0), LONDON) == utc(2026, 10, 26, 0, 0)
    assert next_local_midnight(utc(2026, 3, 29, 0, 30), LONDON) == utc(2026, 3, 29, 23, 0)


# -- per-profile time zones --------------------------------------------------------------------

def test_same_instant_is_bedtime_in_one_zone_and_not_in_another() -> None:
    at = utc(2026, 12, 2, 2, 0)  # 02:00 in London, 21:00 (previous evening) in New York
    eng = engine()
    london = bedtime_profile(LONDON, "21:00", "07:00")
    new_york = bedtime_profile(NEW_YORK, "22:00", "07:00")
    assert decide(eng, "example.org", london, at).reason is Reason.BEDTIME
    d = decide(eng, "example.org", new_york, at)
    assert d.reason is Reason.ALLOWED
    assert d.valid_until == utc(2026, 12, 2, 3, 0)  # 22:00 EST


def test_budget_day_ends_at_the_profiles_local_midnight() -> None:
    prof = make_profile(tz=NEW_YORK, fixed_band=AgeBand.AGE_16_17, budgets={"minecraft": 30})

    at = local(NEW_YORK, 2026, 12, 1, 23, 50)
    d = decide(engine(), "minecraft.net", prof, at, ProfileState(usage_minutes={"minecraft": 0}))
    assert d.valid_until == utc(2026, 12, 2, 5, 0)  # midnight EST, before the 30 minutes end
