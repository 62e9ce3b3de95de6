"""``valid_until``: the next instant at which the clock alone could change a decision."""

from __future__ import annotations

from datetime import date, timedelta

from kidshield.policy.ages import AgeBand
from kidshield.policy.model import ScheduleRule
from kidshield.policy.reason import Reason
from kidshield.policy.schedule import Window, parse_hhmm
from kidshield.policy.state import Grant, ProfileState
from tests.policy.helpers import LONDON, block_lists, decide, engine, local, make_profile, utc

DAY = local(LONDON, 2026, 12, 1, 10, 0)  # Tuesday, GMT
TEEN = AgeBand.AGE_16_17  # no default bedtime: no schedule edge in the way


def test_allowed_during_the_day_is_valid_until_bedtime_starts() -> None:
    d = decide(engine(), "example.org", make_profile(), DAY)
    assert d.reason is Reason.ALLOWED
    assert d.valid_until == utc(2026, 12, 1, 21, 0)


def test_blocked_at_bedtime_is_valid_until_wake_up() -> None:
    d = decide(engine(), "example.org", make_profile(), local(LONDON, 2026, 12, 1, 22, 0))
    assert d.valid_until == utc(2026, 12, 2, 7, 0)


def test_allowed_without_any_schedule_has_no_end() -> None:
    d = decide(engine(), "example.org", make_profile(fixed_band=TEEN), DAY)
    assert d.valid_until is None


def test_a_bedtime_on_no_days_puts_no_end_on_a_decision() -> None:
    # ``bedtime_days = []``: bedtime never applies, so it must not bound the decision (it used
    # to end it a week ahead, recomputed for every new name)
    rule = ScheduleRule("bedtime", Window(parse_hhmm("21:00"), parse_hhmm("07:00"), frozenset()),
                        "block", bedtime=True)
    for now in (DAY, local(LONDON, 2026, 12, 1, 22, 0), local(LONDON, 2026, 10, 25, 1, 30)):
        d = decide(engine(), "example.org", make_profile(fixed_band=TEEN, bedtime=rule), now)
        assert (d.reason, d.valid_until) == (Reason.ALLOWED, None), now


def test_category_block_without_schedules_has_no_end() -> None:
    lists = block_lists([("casino.example", "gambling")])
    d = decide(engine(lists), "casino.example", make_profile(fixed_band=TEEN), DAY)
    assert (d.reason, d.valid_until) == (Reason.CATEGORY, None)


def test_grant_is_valid_until_it_expires() -> None:
    until = DAY + timedelta(minutes=45)
    state = ProfileState(grants=(Grant("kid", "example.org", until),))
    d = decide(engine(), "example.org", make_profile(), DAY, state)
    assert (d.reason, d.valid_until) == (Reason.GRANT, until)


def test_permanent_grant_has_no_end() -> None:
    state = ProfileState(grants=(Grant("kid", "example.org", None),))
    d = decide(engine(), "example.org", make_profile(), DAY, state)
    assert (d.reason, d.valid_until) == (Reason.GRANT, None)


def test_first_active_covering_grant_decides() -> None:
    state = ProfileState(grants=(Grant("kid", "other.org", None),
                                 Grant("kid", "example.org", DAY - timedelta(minutes=1)),
                                 Grant("kid", "example.org", DAY + timedelta(hours=1))))
    d = decide(engine(), "www.example.org", make_profile(), DAY, state)
    assert (d.reason, d.valid_until) == (Reason.GRANT, DAY + timedelta(hours=1))


def test_budget_with_minutes_left_is_valid_until_they_run_out() -> None:
    prof = make_profile(fixed_band=TEEN, budgets={"minecraft": 60})
    state = ProfileState(usage_minutes={"minecraft": 30})
    d = decide(engine(), "minecraft.net", prof, DAY, state)
    assert (d.reason, d.valid_until) == (Reason.ALLOWED, DAY + timedelta(minutes=30))


def test_budget_with_minutes_left_late_in_the_day_is_valid_until_local_midnight() -> None:
    prof = make_profile(fixed_band=TEEN, budgets={"minecraft": 60})
    at = local(LONDON, 2026, 12, 1, 23, 45)
    d = decide(engine(), "minecraft.net", prof, at, ProfileState(usage_minutes={"minecraft": 0}))
    assert d.valid_until == utc(2026, 12, 2, 0, 0)


def test_budget_used_up_is_valid_until_local_midnight() -> None:
    prof = make_profile(fixed_band=TEEN, budgets={"minecraft": 60})
    at = local(LONDON, 2026, 7, 1, 18, 0)  # BST: local midnight is 23:00 UTC
    d = decide(engine(), "minecraft.net", prof, at, ProfileState(usage_minutes={"minecraft": 75}))
    assert (d.reason, d.valid_until) == (Reason.BUDGET, utc(2026, 7, 1, 23, 0))
    assert d.detail == {"used_minutes": 75}


def test_budget_does_not_shorten_validity_of_unrelated_names() -> None:
    prof = make_profile(fixed_band=TEEN, budgets={"minecraft": 60})
    d = decide(engine(), "example.org", prof, DAY, ProfileState(usage_minutes={"minecraft": 59}))
    assert d.valid_until is None


def test_schedule_edge_earlier_than_budget_end_wins() -> None:
    prof = make_profile(budgets={"minecraft": 600})  # 9-12: bedtime at 21:00
    at = local(LONDON, 2026, 12, 1, 20, 0)
    d = decide(engine(), "minecraft.net", prof, at)
    assert d.valid_until == utc(2026, 12, 1, 21, 0)


def test_pause_is_valid_until_it_ends() -> None:
    state = ProfileState(paused_until=DAY + timedelta(minutes=20))
    d = decide(engine(), "example.org", make_profile(), DAY, state)
    assert d.valid_until == DAY + timedelta(minutes=20)


def test_birthday_that_changes_the_band_limits_validity() -> None:
    prof = make_profile(birth_date=date(2010, 1, 15))  # 16 on 15 January 2026
    at = local(LONDON, 2026, 1, 14, 9, 0)  # Wednesday: outside bedtime for 13-15 (22:30-06:30)
    d = decide(engine(), "example.org", prof, at)
    assert d.band == "13-15"
    assert d.valid_until == utc(2026, 1, 14, 22, 30)  # bedtime first
    d = decide(engine(), "example.org", prof, local(LONDON, 2026, 1, 14, 23, 0))
    assert d.valid_until == utc(2026, 1, 15, 0, 0)  # the birthday comes before wake-up


def test_birthday_limits_validity_of_an_otherwise_open_ended_block() -> None:
    lists = block_lists([("date.example", "dating")])
    prof = make_profile(birth_date=date(2010, 5, 16))  # 16 on Saturday 16 May 2026 (BST)
    d = decide(engine(lists), "date.example", prof, local(LONDON, 2026, 5, 15, 23, 30))
    assert d.reason is Reason.CATEGORY  # 13-15 block dating; 16-17 do not
    assert d.valid_until == utc(2026, 5, 15, 23, 0)  # local midnight in BST
    after = decide(engine(lists), "date.example", prof, utc(2026, 5, 15, 23, 0))
    assert (after.reason, after.band) == (Reason.ALLOWED, "16-17")


def test_adult_decision_never_expires() -> None:
    prof = make_profile(birth_date=date(2000, 1, 1))
    d = decide(engine(), "example.org", prof, DAY)
    assert (d.reason, d.valid_until) == (Reason.ADULT, None)
