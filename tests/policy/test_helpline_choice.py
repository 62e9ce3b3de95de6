"""Which helplines a child sees first: ``policy.helplines.choose``, a pure function of the lines,
the country, why they are shown and the child's age."""

from __future__ import annotations

from datetime import date, datetime

from kidshield.policy.ages import AgeBand
from kidshield.policy.helplines import (
    Ages,
    Helpline,
    HelplineBook,
    Kind,
    Topic,
    choose,
    topic_for_block,
)
from kidshield.policy.reason import Action, Decision, Reason
from tests.policy.helpers import LONDON, make_profile


def line(id: str, country: str, kind: Kind, ages: Ages | None = None,
         languages: tuple[str, ...] = ()) -> Helpline:
    return Helpline(country, id, f"https://{id}.example", (f"{id}.example",), kind=kind, id=id,
                    ages=ages, languages=languages)


LINES = (
    line("world-finder", "*", Kind.DIRECTORY),
    line("world-take-it-down", "*", Kind.ONLINE),
    line("gb-samaritans", "GB", Kind.CRISIS),
    line("gb-childline", "GB", Kind.CHILD, Ages(0, 18)),
    line("gb-ceop", "GB", Kind.ONLINE, Ages(0, 17)),
    line("gb-parents", "GB", Kind.GENERAL, Ages(18)),
    line("gb-youth", "GB", Kind.CRISIS, Ages(13, 25)),
    line("fr-119", "FR", Kind.CHILD),
)


LONDON_NOON = datetime(2026, 12, 6, 12, 0, tzinfo=LONDON)


def ids(lines: tuple[Helpline, ...]) -> list[str]:
    return [h.id for h in lines]


def test_general_block_shows_the_child_helpline_first_and_only_this_countrys_lines() -> None:
    shown = ids(choose(LINES, "gb", Topic.GENERAL, age=10))
    assert shown[0] == "gb-childline"
    assert "fr-119" not in shown
    # Take It Down belongs beside sextortion, not on every bedtime page
    assert "world-take-it-down" not in shown
    assert shown[-1] == "world-finder"  # directories come last


def test_self_harm_shows_a_crisis_line_first_for_a_teenager() -> None:
    shown = ids(choose(LINES, "GB", Topic.SELF_HARM, age=15))
    assert shown[:3] == ["gb-samaritans", "gb-youth", "gb-childline"]


def test_self_harm_shows_the_child_helpline_first_under_13() -> None:
    shown = ids(choose(LINES, "GB", Topic.SELF_HARM, age=11))
    assert shown[:2] == ["gb-childline", "gb-samaritans"]
    assert "gb-youth" not in shown  # a line for 13-25 year olds


def test_sextortion_shows_the_national_hotline_then_take_it_down_then_the_child_helpline() -> None:
    shown = ids(choose(LINES, "GB", Topic.SEXTORTION, age=15))
    assert shown[:3] == ["gb-ceop", "world-take-it-down", "gb-childline"]


def test_sextortion_in_a_country_without_a_hotline_still_leads_with_take_it_down() -> None:
    shown = ids(choose(LINES, "FR", Topic.SEXTORTION, age=14))
    assert shown == ["world-take-it-down", "fr-119", "world-finder"]


def test_a_country_without_entries_gets_the_worldwide_finder() -> None:
    assert ids(choose(LINES, "TD", Topic.GENERAL, age=9)) == ["world-finder"]


def test_lines_for_other_ages_are_dropped_only_when_the_age_is_known() -> None:
    assert "gb-parents" not in ids(choose(LINES, "GB", age=12))
    assert "gb-ceop" not in ids(choose(LINES, "GB", age=18))  # 0-17
    assert "gb-parents" in ids(choose(LINES, "GB"))  # nobody's age is known: keep all
    assert "gb-youth" not in ids(choose(LINES, "GB", band=AgeBand.AGE_9_12))
    assert "gb-youth" in ids(choose(LINES, "GB", band=AgeBand.AGE_13_15))
    assert "gb-youth" not in ids(choose(LINES, "GB", within=Ages(0, 12)))


def test_several_topics_put_each_topics_leading_kind_first() -> None:
    # a sextortion threat that also speaks of suicide: crisis line, then the hotlines
    shown = ids(choose(LINES, "GB", [Topic.SEXTORTION, Topic.SELF_HARM], age=15))
    assert shown[:4] == ["gb-samaritans", "gb-youth", "gb-ceop", "world-take-it-down"]


def test_the_readers_language_orders_services_of_the_same_kind() -> None:
    lines = (line("be-awel", "BE", Kind.CHILD, languages=("nl",)),
             line("be-103", "BE", Kind.CHILD, languages=("fr",)))
    assert ids(choose(lines, "BE", language="fr-BE")) == ["be-103", "be-awel"]
    assert ids(choose(lines, "BE", language="nl")) == ["be-awel", "be-103"]
    assert ids(choose(lines, "BE")) == ["be-awel", "be-103"]  # file order


def test_book_uses_the_profiles_age_and_a_country_override() -> None:
    book = HelplineBook(LINES, "GB")
    child = make_profile(birth_date=date(2015, 6, 1), tz=LONDON)
    now = LONDON_NOON
    assert ids(book.for_profile(child, now))[0] == "gb-childline"
    assert "gb-parents" not in ids(book.for_profile(child, now))
    unknown = make_profile(fixed_band=None, tz=LONDON)  # a device nobody assigned
    assert "gb-parents" in ids(book.for_profile(unknown, now))
    assert ids(book.choose(country="FR"))[0] == "fr-119"


def test_topic_of_a_block() -> None:
    self_harm = Decision(Action.BLOCK, Reason.CATEGORY, category="self_harm")
    via_cname = Decision(Action.BLOCK, Reason.CNAME_BLOCKED, category="suicide")
    gambling = Decision(Action.BLOCK, Reason.CATEGORY, category="gambling")
    assert topic_for_block(self_harm) is Topic.SELF_HARM
    assert topic_for_block(via_cname) is Topic.SELF_HARM
    assert topic_for_block(gambling) is Topic.GENERAL
    assert topic_for_block(Decision(Action.BLOCK, Reason.BEDTIME)) is Topic.GENERAL


def test_checked_month_counts_as_its_first_day() -> None:
    assert Helpline("GB", "x", checked="2026-11").checked_on == date(2026, 11, 1)
    assert Helpline("GB", "x", checked="2026-12-06").checked_on == date(2026, 12, 6)
    assert Helpline("GB", "x").checked_on is None
