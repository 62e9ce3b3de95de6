"""The engine's check order, step by step: each step decides on its own, and an earlier step wins
over a later one (helplines -> pause -> grants -> allow list -> bypass -> schedules -> budgets
-> services -> categories -> own block list -> safe search -> allow)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kidshield.policy.ages import AgeBand, SafeSearchMode
from kidshield.policy.model import ScheduleRule
from kidshield.policy.reason import Action, Reason
from kidshield.policy.schedule import Window, parse_days, parse_hhmm
from kidshield.policy.state import Grant, ProfileState
from tests.policy.helpers import LONDON, block_lists, decide, engine, local, make_profile

# Tuesday 1 December 2026, London (GMT): a school night for the 9-12 default bedtime 21:00-07:00
DAY = local(LONDON, 2026, 12, 1, 15, 0)
BEDTIME = local(LONDON, 2026, 12, 1, 23, 0)

LISTS = block_lists(
    [("casino.example", "gambling"), ("adult.example", "adult"), ("tiktok.com", "social"),
     ("childline.org.uk", "adult"), ("nordvpn.com", "adult"), ("khanacademy.org", "adult")]
)


def schedule(name: str, days: str, start: str, end: str, action: str = "block",
             services: frozenset[str] = frozenset(), categories: frozenset[str] = frozenset(),
             bedtime: bool = False) -> ScheduleRule:
    return ScheduleRule(name, Window(parse_hhmm(start), parse_hhmm(end), parse_days(days)),
                        action, services, categories, bedtime=bedtime)


# -- each step on its own ---------------------------------------------------------------------

def test_plain_name_is_allowed_with_reason_allowed() -> None:
    d = decide(engine(LISTS), "example.org", make_profile(), DAY)
    assert (d.action, d.reason, d.band) == (Action.ALLOW, Reason.ALLOWED, "9-12")


def test_helpline_is_always_reachable() -> None:
    d = decide(engine(LISTS), "www.childline.org.uk", make_profile(), DAY)
    assert (d.action, d.reason) == (Action.ALLOW, Reason.HELPLINE)
    assert d.rule == "childline.org.uk"
    assert d.detail == {"helpline": "Childline"}


def test_pause_allows_a_category_blocked_name_until_the_pause_ends() -> None:
    state = ProfileState(paused_until=DAY + timedelta(hours=1))
    d = decide(engine(LISTS), "casino.example", make_profile(), DAY, state)
    assert (d.action, d.reason, d.valid_until) == (Action.ALLOW, Reason.PAUSED,
                                                   DAY + timedelta(hours=1))


def test_pause_that_has_ended_changes_nothing() -> None:
    state = ProfileState(paused_until=DAY - timedelta(seconds=1))
    d = decide(engine(LISTS), "casino.example", make_profile(), DAY, state)
    assert d.reason is Reason.CATEGORY


def test_pause_ends_exactly_at_paused_until() -> None:
    state = ProfileState(paused_until=DAY)
    assert decide(engine(LISTS), "casino.example", make_profile(), DAY, state).blocked


def test_grant_allows_the_domain_and_its_subdomains_but_not_lookalikes() -> None:
    state = ProfileState(grants=(Grant("kid", "casino.example", None, granted_by="mum"),))
    eng = engine(LISTS)
    d = decide(eng, "www.casino.example", make_profile(), DAY, state)
    assert (d.action, d.reason, d.rule) == (Action.ALLOW, Reason.GRANT, "casino.example")
    assert d.detail == {"granted_by": "mum"}
    assert d.source is not None and d.source.list_name == "parent grant"
    assert decide(eng, "notcasino.example", make_profile(), DAY, state).reason is Reason.ALLOWED


def test_expired_grant_no_longer_allows() -> None:
    state = ProfileState(grants=(Grant("kid", "casino.example", DAY),))
    d = decide(engine(LISTS), "casino.example", make_profile(), DAY, state)
    assert d.reason is Reason.CATEGORY


def test_allow_list_allows_a_listed_name_and_its_subdomains() -> None:
    prof = make_profile(allow=["khanacademy.org"])
    d = decide(engine(LISTS), "cdn.khanacademy.org", prof, DAY)
    assert (d.action, d.reason, d.rule) == (Action.ALLOW, Reason.ALLOW_LIST, "khanacademy.org")


def test_bypass_tools_are_blocked_when_bypass_protection_is_on() -> None:
    d = decide(engine(), "dns.google", make_profile(), DAY)
    assert (d.action, d.reason, d.category) == (Action.BLOCK, Reason.BYPASS, "doh")


def test_bypass_tools_are_allowed_when_bypass_protection_is_off() -> None:
    d = decide(engine(), "dns.google", make_profile(bypass_protection=False), DAY)
    assert d.reason is Reason.ALLOWED


def test_adult_band_has_no_bypass_protection_by_default() -> None:
    d = decide(engine(), "nordvpn.com", make_profile(fixed_band=AgeBand.ADULT), DAY)
    assert d.reason is Reason.ALLOWED


def test_bedtime_blocks_everything_at_night() -> None:
    d = decide(engine(), "example.org", make_profile(), BEDTIME)
    assert (d.action, d.reason) == (Action.BLOCK, Reason.BEDTIME)
    assert d.rule == "bedtime school nights 21:00-07:00"


def test_daily_budget_used_up_blocks_the_service() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_13_15, budgets={"youtube": 60})
    state = ProfileState(usage_minutes={"youtube": 60})
    d = decide(engine(), "www.youtube.com", prof, DAY, state)
    assert (d.action, d.reason, d.service) == (Action.BLOCK, Reason.BUDGET, "youtube")
    assert d.rule == "youtube 60 min/day"
    assert d.detail == {"used_minutes": 60}


def test_daily_budget_with_minutes_left_does_not_block() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_13_15, budgets={"minecraft": 60})
    state = ProfileState(usage_minutes={"minecraft": 59.5})
    d = decide(engine(), "minecraft.net", prof, DAY, state)
    assert (d.action, d.reason, d.service) == (Action.ALLOW, Reason.ALLOWED, "minecraft")


def test_blocked_service_is_blocked_with_its_name() -> None:
    d = decide(engine(), "www.tiktok.com", make_profile(), DAY)
    assert (d.action, d.reason, d.service, d.rule) == (Action.BLOCK, Reason.SERVICE, "tiktok",
                                                       "tiktok.com")
    assert d.detail == {"service_name": "TikTok"}


def test_unblocked_service_is_allowed_despite_band_default() -> None:
    prof = make_profile(unblocked_services=frozenset({"tiktok"}))
    assert decide(engine(), "tiktok.com", prof, DAY).reason is Reason.ALLOWED


def test_explicit_blocked_services_replace_the_band_defaults() -> None:
    prof = make_profile(blocked_services=frozenset({"minecraft"}))
    eng = engine()
    assert decide(eng, "minecraft.net", prof, DAY).reason is Reason.SERVICE
    assert decide(eng, "tiktok.com", prof, DAY).reason is Reason.ALLOWED


def test_blocked_category_names_the_list_file_and_line() -> None:
    d = decide(engine(LISTS), "www.adult.example", make_profile(), DAY)
    assert (d.action, d.reason, d.category, d.rule) == (Action.BLOCK, Reason.CATEGORY, "adult",
                                                        "adult.example")
    assert d.source is not None
    assert (d.source.list_name, d.source.file, d.source.line) == ("adult-list",
                                                                  "/lists/adult.txt", 2)


def test_category_not_blocked_by_the_band_is_allowed_but_named() -> None:
    lists = block_lists([("shop.example", "shopping")])
    d = decide(engine(lists), "shop.example", make_profile(), DAY)
    assert (d.reason, d.category) == (Reason.ALLOWED, "shopping")


def test_unblocked_category_is_allowed() -> None:
    prof = make_profile(unblocked_categories=frozenset({"gambling"}))
    assert decide(engine(LISTS), "casino.example", prof, DAY).reason is Reason.ALLOWED


def test_own_block_list_blocks() -> None:
    prof = make_profile(deny=["roblox.com"])
    d = decide(engine(), "web.roblox.com", prof, DAY)
    assert (d.action, d.reason, d.rule) == (Action.BLOCK, Reason.DENY_LIST, "roblox.com")


@pytest.mark.parametrize(
    ("band", "host", "target"),
    [
        (AgeBand.AGE_9_12, "www.google.com", "forcesafesearch.google.com"),
        (AgeBand.AGE_16_17, "www.google.com", "forcesafesearch.google.com"),  # moderate
        (AgeBand.AGE_13_15, "www.youtube.com", "restrictmoderate.youtube.com"),
        (AgeBand.AGE_16_17, "www.bing.com", "strict.bing.com"),
    ],
)
def test_safe_search_rewrites_to_the_engine_safe_host(band: AgeBand, host: str,
                                                      target: str) -> None:
    d = decide(engine(), host, make_profile(fixed_band=band), DAY)
    assert (d.action, d.reason, d.target) == (Action.REWRITE, Reason.SAFE_SEARCH, target)


def test_youtube_strict_and_moderate_follow_the_youtube_setting() -> None:
    eng = engine()
    strict = make_profile(fixed_band=AgeBand.AGE_16_17, youtube=SafeSearchMode.STRICT)
    moderate = make_profile(fixed_band=AgeBand.AGE_16_17, youtube=SafeSearchMode.MODERATE)
    assert decide(eng, "m.youtube.com", strict, DAY).target == "restrict.youtube.com"
    assert decide(eng, "m.youtube.com", moderate, DAY).target == "restrictmoderate.youtube.com"
    d = decide(eng, "m.youtube.com", strict, DAY)
    assert d.detail == {"engine": "YouTube", "mode": "strict"}


def test_youtube_setting_is_independent_of_search_setting() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_16_17, safe_search=SafeSearchMode.OFF,
                        youtube=SafeSearchMode.STRICT)
    eng = engine()
    assert decide(eng, "www.google.com", prof, DAY).reason is Reason.ALLOWED
    assert decide(eng, "www.youtube.com", prof, DAY).target == "restrict.youtube.com"


def test_youtube_off_for_16_17_by_default() -> None:
    d = decide(engine(), "www.youtube.com", make_profile(fixed_band=AgeBand.AGE_16_17), DAY)
    assert (d.reason, d.service) == (Reason.ALLOWED, "youtube")


def test_safe_search_hosts_are_exact_not_suffixes() -> None:
    d = decide(engine(), "mail.google.com", make_profile(), DAY)
    assert d.reason is Reason.ALLOWED


def test_unsupported_search_engine_is_blocked_when_safe_search_is_on() -> None:
    d = decide(engine(), "uk.search.yahoo.com", make_profile(), DAY)
    assert (d.action, d.reason, d.rule) == (Action.BLOCK, Reason.SAFE_SEARCH_UNSUPPORTED,
                                            "search.yahoo.com")
    off = make_profile(safe_search=SafeSearchMode.OFF)
    assert decide(engine(), "uk.search.yahoo.com", off, DAY).reason is Reason.ALLOWED


def test_filtering_off_allows_everything_as_unfiltered() -> None:
    d = decide(engine(LISTS), "adult.example", make_profile(filtering=False), BEDTIME)
    assert (d.action, d.reason) == (Action.ALLOW, Reason.UNFILTERED)


# -- earlier steps win ------------------------------------------------------------------------

def test_helpline_beats_bedtime() -> None:
    d = decide(engine(LISTS), "childline.org.uk", make_profile(), BEDTIME)
    assert d.reason is Reason.HELPLINE


def test_helpline_beats_category_and_own_block_list() -> None:
    d = decide(engine(LISTS), "childline.org.uk", make_profile(deny=["childline.org.uk"]), DAY)
    assert d.reason is Reason.HELPLINE


def test_helpline_beats_pause_reason() -> None:
    state = ProfileState(paused_until=DAY + timedelta(hours=1))
    assert decide(engine(), "childline.org.uk", make_profile(), DAY, state).reason is (
        Reason.HELPLINE)


def test_pause_beats_bedtime() -> None:
    state = ProfileState(paused_until=BEDTIME + timedelta(hours=1))
    assert decide(engine(), "example.org", make_profile(), BEDTIME, state).reason is Reason.PAUSED


def test_pause_beats_grant_reason() -> None:
    state = ProfileState(paused_until=DAY + timedelta(hours=1),
                         grants=(Grant("kid", "casino.example", None),))
    assert decide(engine(LISTS), "casino.example", make_profile(), DAY, state).reason is (
        Reason.PAUSED)


def test_grant_beats_category() -> None:
    state = ProfileState(grants=(Grant("kid", "adult.example", DAY + timedelta(hours=2)),))
    assert decide(engine(LISTS), "adult.example", make_profile(), DAY, state).reason is (
        Reason.GRANT)


def test_grant_beats_bedtime() -> None:
    state = ProfileState(grants=(Grant("kid", "example.org", None),))
    assert decide(engine(), "example.org", make_profile(), BEDTIME, state).reason is Reason.GRANT


def test_grant_beats_allow_list_reason() -> None:
    state = ProfileState(grants=(Grant("kid", "khanacademy.org", None),))
    prof = make_profile(allow=["khanacademy.org"])
    assert decide(engine(), "khanacademy.org", prof, DAY, state).reason is Reason.GRANT


def test_allow_list_beats_bedtime() -> None:
    prof = make_profile(allow=["khanacademy.org"])
    assert decide(engine(), "www.khanacademy.org", prof, BEDTIME).reason is Reason.ALLOW_LIST


def test_allow_list_beats_bypass_protection() -> None:
    prof = make_profile(allow=["nordvpn.com"])
    assert decide(engine(LISTS), "nordvpn.com", prof, DAY).reason is Reason.ALLOW_LIST


def test_allow_list_beats_category_and_own_block_list() -> None:
    prof = make_profile(allow=["khanacademy.org"], deny=["khanacademy.org"])
    assert decide(engine(LISTS), "khanacademy.org", prof, DAY).reason is Reason.ALLOW_LIST


def test_bypass_beats_bedtime_and_category() -> None:
    assert decide(engine(LISTS), "nordvpn.com", make_profile(), BEDTIME).reason is Reason.BYPASS


def test_bedtime_beats_budget_and_service() -> None:
    prof = make_profile(budgets={"tiktok": 10})
    state = ProfileState(usage_minutes={"tiktok": 30})
    assert decide(engine(), "tiktok.com", prof, BEDTIME, state).reason is Reason.BEDTIME


def test_budget_beats_blocked_service() -> None:
    prof = make_profile(budgets={"tiktok": 10})  # tiktok is also blocked for 9-12
    eng = engine()
    used_up = ProfileState(usage_minutes={"tiktok": 10})
    assert decide(eng, "tiktok.com", prof, DAY, used_up).reason is Reason.BUDGET
    assert decide(eng, "tiktok.com", prof, DAY).reason is Reason.SERVICE


def test_service_beats_category() -> None:
    d = decide(engine(LISTS), "tiktok.com", make_profile(), DAY)
    assert (d.reason, d.service) == (Reason.SERVICE, "tiktok")


def test_category_beats_own_block_list() -> None:
    prof = make_profile(deny=["adult.example"])
    assert decide(engine(LISTS), "adult.example", prof, DAY).reason is Reason.CATEGORY


def test_own_block_list_beats_safe_search() -> None:
    prof = make_profile(deny=["www.google.com"])
    assert decide(engine(), "www.google.com", prof, DAY).reason is Reason.DENY_LIST


def test_category_list_entry_blocks_a_safe_search_host() -> None:
    lists = block_lists([("www.bing.com", "adult")])
    assert decide(engine(lists), "www.bing.com", make_profile(), DAY).reason is Reason.CATEGORY


# -- schedules: bedtime, allow_only windows, scoping -------------------------------------------

def test_bedtime_blocks_all_but_the_allow_list() -> None:
    prof = make_profile(allow=["khanacademy.org"])
    eng = engine(LISTS)
    assert decide(eng, "khanacademy.org", prof, BEDTIME).reason is Reason.ALLOW_LIST
    assert decide(eng, "wikipedia.org", prof, BEDTIME).reason is Reason.BEDTIME


def test_explicit_bedtime_replaces_the_band_default() -> None:
    prof = make_profile(bedtime=schedule("bedtime", "daily", "20:00", "06:00", bedtime=True))
    eng = engine()
    assert decide(eng, "example.org", prof, local(LONDON, 2026, 12, 1, 20, 30)).reason is (
        Reason.BEDTIME)
    assert decide(eng, "example.org", prof, local(LONDON, 2026, 12, 2, 6, 0)).reason is (
        Reason.ALLOWED)


def test_band_without_default_bedtime_allows_at_night() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_16_17)
    assert decide(engine(), "example.org", prof, BEDTIME).reason is Reason.ALLOWED


def test_default_bedtime_of_school_nights_does_not_apply_on_friday_night() -> None:
    friday = local(LONDON, 2026, 12, 4, 23, 0)
    assert decide(engine(), "example.org", make_profile(), friday).reason is Reason.ALLOWED


def test_default_bedtime_of_sunday_evening_lasts_into_monday_morning() -> None:
    monday_early = local(LONDON, 2026, 11, 30, 6, 59)
    assert decide(engine(), "example.org", make_profile(), monday_early).reason is Reason.BEDTIME


def test_block_schedule_scoped_to_a_service_blocks_only_that_service() -> None:
    homework = schedule("homework", "weekdays", "16:00", "18:00", services=frozenset({"minecraft"}))
    prof = make_profile(schedules=(homework,))
    at = local(LONDON, 2026, 12, 1, 17, 0)
    eng = engine()
    d = decide(eng, "minecraft.net", prof, at)
    assert (d.action, d.reason, d.rule, d.service) == (
        Action.BLOCK, Reason.SCHEDULE, "homework weekdays 16:00-18:00", "minecraft")
    assert decide(eng, "example.org", prof, at).reason is Reason.ALLOWED


def test_block_schedule_scoped_to_a_category_blocks_only_that_category() -> None:
    lists = block_lists([("game.example", "games")])
    rule = schedule("no games", "daily", "08:00", "15:00", categories=frozenset({"games"}))
    prof = make_profile(schedules=(rule,))
    eng = engine(lists)
    at = local(LONDON, 2026, 12, 1, 9, 0)
    assert decide(eng, "play.game.example", prof, at).reason is Reason.SCHEDULE
    assert decide(eng, "example.org", prof, at).reason is Reason.ALLOWED


def test_allow_only_window_blocks_its_service_outside_the_window() -> None:
    rule = schedule("games after homework", "weekdays", "16:00", "18:00", action="allow_only",
                    services=frozenset({"minecraft"}))
    prof = make_profile(schedules=(rule,))
    eng = engine()
    assert decide(eng, "minecraft.net", prof, local(LONDON, 2026, 12, 1, 15, 59)).reason is (
        Reason.SCHEDULE)
    assert decide(eng, "minecraft.net", prof, local(LONDON, 2026, 12, 1, 16, 0)).reason is (
        Reason.ALLOWED)
    assert decide(eng, "minecraft.net", prof, local(LONDON, 2026, 12, 1, 18, 0)).reason is (
        Reason.SCHEDULE)
    assert decide(eng, "example.org", prof, local(LONDON, 2026, 12, 1, 15, 0)).reason is (
        Reason.ALLOWED)


def test_unscoped_allow_only_window_blocks_everything_outside_it() -> None:
    rule = schedule("school hours", "weekdays", "09:00", "15:00", action="allow_only")
    prof = make_profile(fixed_band=AgeBand.AGE_16_17, schedules=(rule,))
    eng = engine()
    assert decide(eng, "example.org", prof, local(LONDON, 2026, 12, 1, 10, 0)).reason is (
        Reason.ALLOWED)
    assert decide(eng, "example.org", prof, local(LONDON, 2026, 12, 1, 16, 0)).reason is (
        Reason.SCHEDULE)


def test_schedule_beats_budget() -> None:
    rule = schedule("no video", "daily", "10:00", "12:00", services=frozenset({"minecraft"}))
    prof = make_profile(schedules=(rule,), budgets={"minecraft": 60})
    at = local(LONDON, 2026, 12, 1, 11, 0)
    assert decide(engine(), "minecraft.net", prof, at).reason is Reason.SCHEDULE


# -- list exceptions ---------------------------------------------------------------------------

def test_allow_list_entry_in_a_list_excepts_every_category() -> None:
    lists = block_lists([("casino.example", "gambling")], allow=["casino.example"])
    assert decide(engine(lists), "casino.example", make_profile(), DAY).reason is Reason.ALLOWED


def test_adblock_exception_unblocks_its_own_category() -> None:
    lists = block_lists([("example.net", "malware")], exceptions=[("cdn.example.net", "malware")])
    eng = engine(lists)
    assert decide(eng, "cdn.example.net", make_profile(), DAY).reason is Reason.ALLOWED
    assert decide(eng, "www.example.net", make_profile(), DAY).reason is Reason.CATEGORY


def test_adblock_exception_in_one_category_does_not_unblock_another() -> None:
    # An '@@' line in an ads list must not open a name that the adult list blocks.
    lists = block_lists([("adult.example", "adult")], exceptions=[("adult.example", "ads")])
    assert decide(engine(lists), "adult.example", make_profile(), DAY).reason is Reason.CATEGORY


def test_settings_do_not_leak_between_profiles_decided_by_one_engine() -> None:
    # Profiles are compiled anew on every config reload; the engine's per-profile settings cache
    # must never hand one profile's settings to another (even one that reuses a freed address).
    eng = engine()
    for _ in range(50):
        young = make_profile(fixed_band=AgeBand.AGE_9_12)
        assert decide(eng, "tiktok.com", young, DAY).reason is Reason.SERVICE
        del young
        free = make_profile(fixed_band=AgeBand.AGE_9_12, unblocked_services=frozenset({"tiktok"}))
        assert decide(eng, "tiktok.com", free, DAY).reason is Reason.ALLOWED
        del free


def test_min_age_rule_blocks_social_services_but_not_video_for_9_to_12() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_9_12)
    at = local(LONDON, 2026, 12, 1, 15, 0)
    assert decide(engine(), "tiktok.com", prof, at).reason is Reason.SERVICE
    youtube = decide(engine(), "www.youtube.com", prof, at)
    assert youtube.action is Action.REWRITE  # restricted mode instead of a block
    assert youtube.target == "restrict.youtube.com"


def test_extra_blocked_services_add_to_the_band_defaults() -> None:
    prof = make_profile(fixed_band=AgeBand.AGE_16_17,
                        extra_blocked_services=frozenset({"minecraft"}))
    at = local(LONDON, 2026, 12, 1, 15, 0)
    assert decide(engine(), "minecraft.net", prof, at).reason is Reason.SERVICE
    assert decide(engine(), "chatroulette.com", prof, at).reason is Reason.SERVICE


def test_extra_blocked_categories_add_to_the_band_defaults() -> None:
    lists = block_lists([("casino.example", "gambling"), ("game.example", "games")])
    prof = make_profile(fixed_band=AgeBand.AGE_16_17,
                        extra_blocked_categories=frozenset({"games"}))
    at = local(LONDON, 2026, 12, 1, 15, 0)
    assert decide(engine(lists), "game.example", prof, at).reason is Reason.CATEGORY
    assert decide(engine(lists), "casino.example", prof, at).reason is Reason.CATEGORY


def test_bedtime_off_removes_the_band_default_bedtime() -> None:
    at = local(LONDON, 2026, 12, 1, 23, 0)  # a Tuesday night
    with_default = make_profile(fixed_band=AgeBand.AGE_9_12)
    assert decide(engine(), "example.org", with_default, at).reason is Reason.BEDTIME
    off = make_profile(fixed_band=AgeBand.AGE_9_12, bedtime_off=True)
    assert decide(engine(), "example.org", off, at).reason is Reason.ALLOWED
