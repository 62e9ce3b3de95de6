"""Age bands from birth dates: birthdays in the profile's own time zone, 29 February, and the
end of oversight at 18."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from kidshield.policy.ages import AgeBand, age_on, band_for_age, next_band_change
from kidshield.policy.reason import Action, Reason
from tests.policy.helpers import LONDON, block_lists, decide, engine, local, make_profile, utc

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("age", "before", "on"),
    [(9, "under-9", "9-12"), (13, "9-12", "13-15"), (16, "13-15", "16-17"),
     (18, "16-17", "adult")],
)
def test_band_changes_on_the_birthday_not_the_day_before(age: int, before: str, on: str) -> None:
    birth = date(2026 - age, 6, 10)
    prof = make_profile(birth_date=birth, keep_filtering_after_18=True)
    assert prof.band_at(local(LONDON, 2026, 6, 9, 23, 59)).value == before
    assert prof.band_at(local(LONDON, 2026, 6, 10, 0, 0)).value == on
    assert prof.age_at(local(LONDON, 2026, 6, 10, 0, 0)) == age


def test_birthday_counts_in_the_profiles_time_zone() -> None:
    birth = date(2017, 12, 2)  # 9 on 2 December 2026
    at = utc(2026, 12, 1, 12, 0)  # already 2 December 01:00 in Auckland
    assert make_profile(birth_date=birth, tz=AUCKLAND).band_at(at) is AgeBand.AGE_9_12
    assert make_profile(birth_date=birth, tz=LONDON).band_at(at) is AgeBand.UNDER_9


def test_band_change_instant_is_local_midnight_of_the_birthday() -> None:
    prof = make_profile(birth_date=date(2017, 12, 2), tz=AUCKLAND)
    assert prof.band_change_at(utc(2026, 11, 1, 0, 0)) == utc(2026, 12, 1, 11, 0)


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2025, 2, 28), 8), (date(2025, 3, 1), 9), (date(2028, 2, 28), 11),
     (date(2028, 2, 29), 12), (date(2029, 2, 28), 12), (date(2029, 3, 1), 13)],
)
def test_29_february_birthday_counts_on_1_march_in_other_years(day: date, age: int) -> None:
    assert age_on(date(2016, 2, 29), day) == age


def test_29_february_birthday_band_change_date() -> None:
    birth = date(2016, 2, 29)
    assert next_band_change(birth, date(2024, 6, 1)) == date(2025, 3, 1)  # 9th
    assert next_band_change(birth, date(2028, 6, 1)) == date(2029, 3, 1)  # 13th
    assert next_band_change(birth, date(2031, 6, 1)) == date(2032, 2, 29)  # 16th, a leap year


def test_no_band_change_after_18() -> None:
    assert next_band_change(date(2000, 1, 1), date(2026, 1, 1)) is None


@pytest.mark.parametrize(("age", "band"), [(0, "under-9"), (8, "under-9"), (12, "9-12"),
                                           (15, "13-15"), (17, "16-17"), (40, "adult")])
def test_band_for_age(age: int, band: str) -> None:
    assert band_for_age(age).value == band


def test_at_18_oversight_ends_and_everything_is_allowed_as_adult() -> None:
    lists = block_lists([("malware.example", "malware")])
    prof = make_profile(birth_date=date(2008, 6, 10))
    d = decide(engine(lists), "malware.example", prof, local(LONDON, 2026, 6, 10, 0, 0))
    assert (d.action, d.reason, d.band) == (Action.ALLOW, Reason.ADULT, "adult")
    day_before = decide(engine(lists), "malware.example", prof, local(LONDON, 2026, 6, 9, 12))
    assert day_before.reason is Reason.CATEGORY


def test_keep_filtering_after_18_gives_adult_defaults() -> None:
    lists = block_lists([("malware.example", "malware"), ("casino.example", "gambling")])
    prof = make_profile(birth_date=date(2008, 6, 10), keep_filtering_after_18=True)
    at = local(LONDON, 2026, 6, 10, 12, 0)
    eng = engine(lists)
    assert decide(eng, "malware.example", prof, at).reason is Reason.CATEGORY
    assert decide(eng, "casino.example", prof, at).reason is Reason.ALLOWED


def test_explicit_adult_age_band_keeps_adult_filtering() -> None:
    lists = block_lists([("phishing.example", "phishing")])
    prof = make_profile(fixed_band=AgeBand.ADULT)
    d = decide(engine(lists), "phishing.example", prof, local(LONDON, 2026, 6, 10, 12, 0))
    assert (d.reason, d.band) == (Reason.CATEGORY, "adult")


def test_helpline_still_reachable_for_under_9() -> None:
    prof = make_profile(birth_date=date(2020, 1, 1))
    d = decide(engine(), "childline.org.uk", prof, local(LONDON, 2026, 6, 10, 23, 0))
    assert (d.reason, d.band) == (Reason.HELPLINE, "under-9")


def test_day_before_18th_birthday_is_valid_until_the_birthday() -> None:
    prof = make_profile(birth_date=date(2008, 6, 10))
    d = decide(engine(), "example.org", prof, local(LONDON, 2026, 6, 9, 12, 0))
    assert (d.reason, d.band) == (Reason.ALLOWED, "16-17")
    assert d.valid_until == utc(2026, 6, 9, 23, 0)  # midnight BST


