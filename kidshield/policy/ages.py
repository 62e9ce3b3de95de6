"""Age bands and what each band gets by default.

Oversight relaxes as a child grows (COP-12): the youngest get a small, curated internet with an
early bedtime; teenagers keep protection from the clearly harmful but choose more themselves; at
18 oversight ends unless the adult deliberately keeps a filtered profile. docs/age-bands.md gives
the reasoning in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AgeBand(StrEnum):
    UNDER_9 = "under-9"
    AGE_9_12 = "9-12"
    AGE_13_15 = "13-15"
    AGE_16_17 = "16-17"
    ADULT = "adult"

    @property
    def label(self) -> str:
        return {
            AgeBand.UNDER_9: "under 9",
            AgeBand.AGE_9_12: "9–12",
            AgeBand.AGE_13_15: "13–15",
            AgeBand.AGE_16_17: "16–17",
            AgeBand.ADULT: "18 and over",
        }[self]


class SafeSearchMode(StrEnum):
    STRICT = "strict"
    MODERATE = "moderate"
    OFF = "off"


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``. A 29 February birthday counts on 1 March in other years."""
    years = day.year - birth.year
    try:
        birthday = birth.replace(year=day.year)
    except ValueError:  # 29 February in a year without one
        birthday = date(day.year, 3, 1)
    if day < birthday:
        years -= 1
    return years


def band_for_age(age: int) -> AgeBand:
    if age < 9:
        return AgeBand.UNDER_9
    if age < 13:
        return AgeBand.AGE_9_12
    if age < 16:
        return AgeBand.AGE_13_15
    if age < 18:
        return AgeBand.AGE_16_17
    return AgeBand.ADULT


def next_band_change(birth: date, day: date) -> date | None:
    """The next birthday on which the band changes (9th, 13th, 16th, 18th), or None."""
    age = age_on(birth, day)
    for edge in (9, 13, 16, 18):
        if age < edge:
            try:
                return birth.replace(year=birth.year + edge)
            except ValueError:
                return date(birth.year + edge, 3, 1)
    return None


@dataclass(frozen=True, slots=True)
class BandDefaults:
    categories: frozenset[str]
    service_groups: frozenset[str]  # every service in these groups is blocked
    services_min_age_over: int | None  # block services whose own terms require more than this
    safe_search: SafeSearchMode
    youtube: SafeSearchMode
    bedtime: tuple[str, str, str] | None  # (days, from, to)
    bypass_protection: bool


# The "service's own minimum age" rule covers services built around contact with strangers and
# sharing (social networks, messaging, chat, dating, AI chat). Video, games and streaming are
# left to safe-search modes and schedules: they are widely used with a parent's supervision.
MIN_AGE_GROUPS = frozenset({"social", "messaging", "chat", "dating", "random_chat", "ai_chat"})

# "reported": sites a moderator blocked after a report (see docs/reports.md).
_HARMFUL = frozenset({"adult", "gambling", "malware", "phishing", "self_harm", "reported"})

BAND_DEFAULTS: dict[AgeBand, BandDefaults] = {
    AgeBand.UNDER_9: BandDefaults(
        categories=_HARMFUL
        | {"dating", "drugs", "violence", "weapons", "hate", "cults", "chat", "social", "piracy"},
        service_groups=frozenset(
            {"social", "messaging", "chat", "dating", "random_chat", "ai_chat"}
        ),
        services_min_age_over=8,
        safe_search=SafeSearchMode.STRICT,
        youtube=SafeSearchMode.STRICT,
        bedtime=("daily", "19:30", "07:00"),
        bypass_protection=True,
    ),
    AgeBand.AGE_9_12: BandDefaults(
        categories=_HARMFUL | {"dating", "drugs", "violence", "weapons", "hate", "cults"},
        service_groups=frozenset({"dating", "random_chat"}),
        services_min_age_over=12,
        safe_search=SafeSearchMode.STRICT,
        youtube=SafeSearchMode.STRICT,
        bedtime=("school-nights", "21:00", "07:00"),
        bypass_protection=True,
    ),
    AgeBand.AGE_13_15: BandDefaults(
        categories=_HARMFUL | {"dating", "drugs", "weapons", "hate"},
        service_groups=frozenset({"dating", "random_chat"}),
        services_min_age_over=15,
        safe_search=SafeSearchMode.STRICT,
        youtube=SafeSearchMode.MODERATE,
        bedtime=("school-nights", "22:30", "06:30"),
        bypass_protection=True,
    ),
    AgeBand.AGE_16_17: BandDefaults(
        categories=_HARMFUL,
        service_groups=frozenset({"random_chat"}),
        services_min_age_over=17,
        safe_search=SafeSearchMode.MODERATE,
        youtube=SafeSearchMode.OFF,
        bedtime=None,
        bypass_protection=True,
    ),
    AgeBand.ADULT: BandDefaults(
        categories=frozenset({"malware", "phishing", "reported"}),
        service_groups=frozenset(),
        services_min_age_over=None,
        safe_search=SafeSearchMode.OFF,
        youtube=SafeSearchMode.OFF,
        bedtime=None,
        bypass_protection=False,
    ),
}
