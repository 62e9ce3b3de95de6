"""Pausing the internet (issue 16 item 4) and "always allow, free time only" (item 3), decided
by the pure engine: a paused internet blocks everything but helplines and the profile's
learning sites until the pause ends; a pause of protection (lifting filtering) is a different
thing. A name allowed for free time only still sleeps at bedtime and stops when its budget is
used up, while the always-allow list overrides both."""

from __future__ import annotations

from datetime import timedelta

from kidshield.policy.domains import SuffixMap
from kidshield.policy.reason import Action, Reason, RuleSource
from kidshield.policy.state import Grant, ProfileState
from tests.policy.helpers import LONDON, block_lists, decide, engine, local, make_profile

DAY = local(LONDON, 2026, 12, 1, 15, 0)  # Tuesday afternoon
BEDTIME = local(LONDON, 2026, 12, 1, 23, 0)  # the 9-12 default bedtime (school night)
LISTS = block_lists([("casino.example", "gambling")])


def learning(*names: str) -> SuffixMap[RuleSource]:
    return SuffixMap((n, RuleSource("learning sites")) for n in names)


def test_a_paused_internet_blocks_every_name_until_it_ends() -> None:
    until = DAY + timedelta(minutes=30)
    state = ProfileState(internet_paused_until=until)
    prof = make_profile(learning=learning("khanacademy.org"))
    d = decide(engine(LISTS), "example.org", prof, DAY, state)
    assert (d.action, d.reason, d.valid_until) == (Action.BLOCK, Reason.INTERNET_PAUSED, until)
    after = decide(engine(LISTS), "example.org", prof, until, state)
    assert (after.action, after.reason) == (Action.ALLOW, Reason.ALLOWED)


def test_helplines_and_learning_sites_stay_open_while_paused() -> None:
    state = ProfileState(internet_paused_until=DAY + timedelta(hours=1))
    prof = make_profile(learning=learning("khanacademy.org"))
    helpline = decide(engine(LISTS), "www.childline.org.uk", prof, DAY, state)
    assert (helpline.action, helpline.reason) == (Action.ALLOW, Reason.HELPLINE)
    school = decide(engine(LISTS), "www.khanacademy.org", prof, DAY, state)
    assert (school.action, school.reason) == (Action.ALLOW, Reason.ALLOW_LIST)
    assert school.detail == {"learning": True}


def test_grants_and_the_allow_list_do_not_open_a_paused_internet() -> None:
    state = ProfileState(internet_paused_until=DAY + timedelta(hours=1), grants=(
        Grant("kid", "games.example", DAY + timedelta(hours=2)),))
    prof = make_profile(allow=("games.example",))
    d = decide(engine(LISTS), "games.example", prof, DAY, state)
    assert (d.action, d.reason) == (Action.BLOCK, Reason.INTERNET_PAUSED)


def test_pausing_protection_is_not_pausing_the_internet() -> None:
    state = ProfileState(paused_until=DAY + timedelta(minutes=30))
    d = decide(engine(LISTS), "casino.example", make_profile(), DAY, state)
    assert (d.action, d.reason) == (Action.ALLOW, Reason.PAUSED)


def free_time(*names: str) -> SuffixMap[RuleSource]:
    return SuffixMap((n, RuleSource("allow list (free time only)")) for n in names)


def test_free_time_only_sleeps_at_bedtime_but_always_allow_does_not() -> None:
    prof = make_profile(allow_free_time=free_time("casino.example"), allow=("games.example",))
    day = decide(engine(LISTS), "casino.example", prof, DAY)
    assert (day.action, day.reason) == (Action.ALLOW, Reason.ALLOW_LIST)
    assert day.detail == {"free_time_only": True}
    night = decide(engine(LISTS), "casino.example", prof, BEDTIME)
    assert (night.action, night.reason) == (Action.BLOCK, Reason.BEDTIME)
    always = decide(engine(block_lists([("games.example", "gambling")])), "games.example",
                    prof, BEDTIME)
    assert (always.action, always.reason) == (Action.ALLOW, Reason.ALLOW_LIST)


def test_free_time_only_stops_when_the_budget_is_used_up() -> None:
    prof = make_profile(allow_free_time=free_time("minecraft.net"), budgets={"minecraft": 30})
    used = ProfileState(usage_minutes={"minecraft": 30.0})
    d = decide(engine(block_lists([("minecraft.net", "gambling")])), "minecraft.net", prof,
               DAY, used)
    assert (d.action, d.reason) == (Action.BLOCK, Reason.BUDGET)
