"""Helplines: the services a child can always reach, and which of them a child sees first.

Every domain of every helpline is exempt from blocking (see ``engine.py``). What a child is
*shown* depends on who they are and why they are looking: ``choose`` puts a crisis line first
when a page about self-harm was blocked, the national hotline for online abuse and Take It Down
first for sextortion, and a child helpline first otherwise, keeping only services meant for the
child's age. It is a pure function of (lines, country, topics, age): the block page, the child
page, lessons, the report form and the message-safety engine all use it.

The data is read and checked in ``helpline_data.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from kidshield.policy.ages import AgeBand
from kidshield.policy.model import Profile
from kidshield.policy.reason import Decision, Reason

WORLDWIDE = "*"  # the country of a service that works from anywhere


class Kind(StrEnum):
    CHILD = "child"  # a child helpline: any worry, abuse, bullying, family, feelings
    CRISIS = "crisis"  # suicide, self-harm and emotional crisis
    ONLINE = "online"  # online sexual abuse and sextortion: report it, get images removed
    GENERAL = "general"  # a general line (violence, human rights) that also takes children
    DIRECTORY = "directory"  # a list that finds a helpline (worldwide)


class Topic(StrEnum):
    """What the child was looking at or writing about when the helplines are shown."""

    GENERAL = "general"
    SELF_HARM = "self_harm"
    SEXTORTION = "sextortion"
    GROOMING = "grooming"
    BULLYING = "bullying"


# The order kinds are shown in, per topic. Worldwide services (other than directories) are
# shown only when they lead the topic: Take It Down belongs next to a sextortion warning, not
# on every bedtime page.
_ORDER: dict[Topic, tuple[Kind, ...]] = {
    Topic.GENERAL: (Kind.CHILD, Kind.GENERAL, Kind.ONLINE, Kind.CRISIS, Kind.DIRECTORY),
    Topic.BULLYING: (Kind.CHILD, Kind.ONLINE, Kind.GENERAL, Kind.CRISIS, Kind.DIRECTORY),
    Topic.SELF_HARM: (Kind.CRISIS, Kind.CHILD, Kind.GENERAL, Kind.ONLINE, Kind.DIRECTORY),
    Topic.SEXTORTION: (Kind.ONLINE, Kind.CHILD, Kind.CRISIS, Kind.GENERAL, Kind.DIRECTORY),
    Topic.GROOMING: (Kind.ONLINE, Kind.CHILD, Kind.GENERAL, Kind.CRISIS, Kind.DIRECTORY),
}
# Children under 13 talk about self-harm with the child helpline first: it is the service made
# for them and it handles crises; the (mostly adult) crisis line comes next.
_YOUNG_SELF_HARM = (Kind.CHILD, Kind.CRISIS, Kind.GENERAL, Kind.ONLINE, Kind.DIRECTORY)
# When several topics apply (a sextortion threat that also speaks of suicide), the most urgent
# topic's order is used and every topic's leading kind is moved to the front.
_PRIORITY = (Topic.SELF_HARM, Topic.SEXTORTION, Topic.GROOMING, Topic.BULLYING, Topic.GENERAL)

SELF_HARM_CATEGORIES = frozenset({"self_harm", "suicide", "selfharm", "self-harm"})

_BAND_AGES: dict[AgeBand, tuple[int, int | None]] = {
    AgeBand.UNDER_9: (0, 8),
    AgeBand.AGE_9_12: (9, 12),
    AgeBand.AGE_13_15: (13, 15),
    AgeBand.AGE_16_17: (16, 17),
    AgeBand.ADULT: (18, None),
}


@dataclass(frozen=True, slots=True)
class Ages:
    """Who a service is for, in years, both ends included (``high`` None: no upper limit)."""

    low: int = 0
    high: int | None = None

    def overlaps(self, low: int, high: int | None) -> bool:
        return (self.high is None or low <= self.high) and (high is None or self.low <= high)

    def __str__(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class Helpline:
    country: str  # ISO 3166-1 alpha-2, or "*" for a service that works from anywhere
    name: str  # in the service's own language
    url: str = ""
    domains: tuple[str, ...] = ()  # exempt from every block (suffix match)
    phone: str | None = None  # as dialled from a mobile phone inside the country
    chat: str | None = None  # the web chat's address
    hours: str | None = None
    source: str = ""  # where the facts were read
    kind: Kind = Kind.CHILD
    id: str = ""
    name_en: str | None = None  # an English name, where the own-language name is not one
    text: str | None = None  # SMS number or short code
    whatsapp: str | None = None
    languages: tuple[str, ...] = ()  # BCP-47 tags
    ages: Ages | None = None  # None: any age
    checked: str = ""  # when the source was last read: YYYY-MM-DD or YYYY-MM
    note: str = ""
    where: str = field(default="", compare=False)  # file:line it was read from

    @property
    def worldwide(self) -> bool:
        return self.country == WORLDWIDE

    @property
    def checked_on(self) -> date | None:
        """The day the entry was checked; a month alone counts as its first day."""
        text = self.checked
        try:
            return date.fromisoformat(text if len(text) == 10 else f"{text}-01")
        except ValueError:
            return None

    @property
    def tel(self) -> str:
        """The number as a ``tel:`` link ("" without one)."""
        return dial_link("tel", self.phone)

    @property
    def sms(self) -> str:
        """The text number as an ``sms:`` link ("" without one)."""
        return dial_link("sms", self.text)

    def fits(self, low: int, high: int | None) -> bool:
        return self.ages is None or self.ages.overlaps(low, high)

    def to_dict(self) -> dict[str, Any]:
        """JSON for APIs. ``region`` and ``contact`` keep the shape the message API had."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "kind": self.kind.value,
            "country": self.country,
            "region": "international" if self.worldwide else self.country,
            "phone": self.phone,
            "text": self.text,
            "whatsapp": self.whatsapp,
            "chat": self.chat,
            "hours": self.hours,
            "languages": list(self.languages),
            "ages": None if self.ages is None else str(self.ages),
            "url": self.url,
            "contact": self.phone or self.text or self.chat or self.url,
        }
        return {key: value for key, value in out.items() if value not in (None, "", [])}


def dial_link(scheme: str, number: str | None) -> str:
    """A ``tel:``/``sms:`` link for a number as dialled in the country: spaces and hyphens
    go; a short code's "#" is escaped, since in a link it would start the fragment (RFC 3966
    allows "*" and "#" in a local number)."""
    if not number:
        return ""
    dialled = number.replace(" ", "").replace("-", "").replace("#", "%23")
    return f"{scheme}:{dialled}"


def topic_for_block(decision: Decision) -> Topic:
    """The topic of a block: a page about self-harm (also reached through a CNAME) or not."""
    if decision.category in SELF_HARM_CATEGORIES or decision.reason is Reason.SELF_HARM:
        return Topic.SELF_HARM
    return Topic.GENERAL


def _span(age: int | None, band: AgeBand | None,
          within: Ages | None) -> tuple[int, int | None] | None:
    if age is not None:
        return (age, age)
    if band is not None:
        return _BAND_AGES[band]
    if within is not None:
        return (within.low, within.high)
    return None


def _order(topic: Topic, span: tuple[int, int | None] | None) -> tuple[Kind, ...]:
    young = span is not None and span[1] is not None and span[1] < 13
    if topic is Topic.SELF_HARM and young:
        return _YOUNG_SELF_HARM
    return _ORDER[topic]


def choose(
    lines: Iterable[Helpline],
    country: str,
    topics: Topic | Sequence[Topic] = Topic.GENERAL,
    *,
    age: int | None = None,
    band: AgeBand | None = None,
    within: Ages | None = None,
    language: str | None = None,
) -> tuple[Helpline, ...]:
    """The helplines to show a child in ``country``, the most fitting first.

    ``topics``: why they are shown (one topic or several, in any order). ``age`` (years), else
    ``band``, else ``within`` (an age range, when only "under 13" is known) drops services
    meant for other ages; with none of them, no service is dropped. Within a kind, the
    country's own services come before worldwide ones, then those answering in ``language``
    (the page's or the message's), then file order.
    """
    wanted = [topics] if isinstance(topics, Topic) else list(topics)
    ranked = [t for t in _PRIORITY if t in wanted] or [Topic.GENERAL]
    span = _span(age, band, within)
    primary = _order(ranked[0], span)
    leads = list(dict.fromkeys(_order(t, span)[0] for t in ranked))
    place = leads + [k for k in primary if k not in leads]
    country = country.upper()

    def shown(line: Helpline) -> bool:
        if span is not None and not line.fits(*span):
            return False
        if line.worldwide:
            return line.kind is Kind.DIRECTORY or line.kind in leads
        return line.country == country

    spoken = (language or "").split("-")[0].lower()

    def key(item: tuple[int, Helpline]) -> tuple[int, bool, bool, int]:
        i, line = item
        speaks = any(tag.split("-")[0] == spoken for tag in line.languages)
        return (place.index(line.kind), line.worldwide, not speaks, i)

    return tuple(line for _, line in sorted(
        ((i, line) for i, line in enumerate(lines) if shown(line)), key=key))


@dataclass(frozen=True, slots=True)
class HelplineBook:
    """The helplines in force (shipped data with the operator's own entries) and the country
    the deployment serves: what a page needs to call :func:`choose`."""

    lines: tuple[Helpline, ...]
    country: str = ""

    def choose(self, topics: Topic | Sequence[Topic] = Topic.GENERAL, *,
               age: int | None = None, band: AgeBand | None = None,
               within: Ages | None = None, country: str | None = None,
               language: str | None = None) -> tuple[Helpline, ...]:
        """``country`` overrides the deployment's (a platform calling the message API)."""
        return choose(self.lines, country or self.country or WORLDWIDE, topics, age=age,
                      band=band, within=within, language=language)

    def for_profile(self, profile: Profile, now: datetime,
                    topics: Topic | Sequence[Topic] = Topic.GENERAL,
                    language: str | None = None) -> tuple[Helpline, ...]:
        """For a profile's child: their age from the birth date, else the band a parent set.
        A device nobody assigned (the fallback profile) has neither: nothing is dropped."""
        return self.choose(topics, age=profile.age_at(now), band=profile.fixed_band,
                           language=language)


# What the application hands its features (``FeatureEnv.helplines``): called per request, so
# a configuration reload is seen at once.
HelplineProvider = Callable[[], HelplineBook]
