"""Runtime policy objects, compiled once from the configuration and shared read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from kidshield.policy.ages import AgeBand, SafeSearchMode, age_on, band_for_age, next_band_change
from kidshield.policy.domains import DomainIndex, SuffixMap
from kidshield.policy.reason import RuleSource
from kidshield.policy.schedule import Window

ALLOW_CATEGORY = "allow"  # the category of entries from allow lists (exceptions)


@dataclass(frozen=True, slots=True)
class Query:
    """What is being asked: a normalised name (see ``domains.normalize_name``) and a type."""

    name: str
    qtype: str = "A"


@dataclass(frozen=True, slots=True)
class ScheduleRule:
    name: str
    window: Window
    action: str  # "block": blocked inside the window; "allow_only": blocked outside it
    services: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    bedtime: bool = False
    source: RuleSource | None = None  # where it is written (config file and line)

    @property
    def scoped(self) -> bool:
        return bool(self.services or self.categories)

    def applies_to(self, service: str | None, categories: frozenset[str]) -> bool:
        if not self.scoped:
            return True
        return (service is not None and service in self.services) or bool(
            self.categories & categories
        )

    def label(self) -> str:
        return f"{self.name} {self.window.label()}"


@dataclass(slots=True)
class Profile:
    """A child's (or adult's) profile as the engine sees it."""

    id: str
    name: str
    tz: ZoneInfo
    birth_date: date | None = None
    fixed_band: AgeBand | None = None
    filtering: bool = True
    keep_filtering_after_18: bool = False
    blocked_categories: frozenset[str] | None = None  # None: the band's defaults
    unblocked_categories: frozenset[str] = frozenset()
    extra_blocked_categories: frozenset[str] = frozenset()  # on top of the band's defaults
    extra_blocked_services: frozenset[str] = frozenset()
    blocked_services: frozenset[str] | None = None
    unblocked_services: frozenset[str] = frozenset()
    safe_search: SafeSearchMode | None = None
    youtube: SafeSearchMode | None = None
    bypass_protection: bool | None = None
    bedtime: ScheduleRule | None = None  # explicit bedtime; None: the band's default
    bedtime_off: bool = False  # no bedtime at all, not even the band's default
    schedules: tuple[ScheduleRule, ...] = ()
    budgets: dict[str, int] = field(default_factory=dict)
    allow: SuffixMap[RuleSource] = field(default_factory=SuffixMap)
    # allowed only when no bedtime, schedule or used-up budget applies ("free time only")
    allow_free_time: SuffixMap[RuleSource] = field(default_factory=SuffixMap)
    # still open while the internet is paused (school and learning sites)
    learning: SuffixMap[RuleSource] = field(default_factory=SuffixMap)
    deny: SuffixMap[RuleSource] = field(default_factory=SuffixMap)
    budget_sources: dict[str, RuleSource] = field(default_factory=dict)

    def band_at(self, now: datetime) -> AgeBand:
        if self.birth_date is None:
            return self.fixed_band or AgeBand.ADULT
        return band_for_age(age_on(self.birth_date, now.astimezone(self.tz).date()))

    def age_at(self, now: datetime) -> int | None:
        if self.birth_date is None:
            return None
        return age_on(self.birth_date, now.astimezone(self.tz).date())

    def band_change_at(self, now: datetime) -> datetime | None:
        """The instant (local midnight of a birthday) when the band next changes."""
        if self.birth_date is None:
            return None
        day = next_band_change(self.birth_date, now.astimezone(self.tz).date())
        if day is None:
            return None
        return datetime.combine(day, time(0, 0), tzinfo=self.tz).astimezone(ZoneInfo("UTC"))

    def oversight_ended(self, now: datetime) -> bool:
        """True once a child with a birth date is 18 and has not chosen to keep filtering."""
        return (
            self.birth_date is not None
            and self.band_at(now) is AgeBand.ADULT
            and not self.keep_filtering_after_18
        )


@dataclass(frozen=True, slots=True)
class ListInfo:
    name: str
    file: str | None


@dataclass(slots=True)
class BlockLists:
    """The loaded lists: one big index plus the names behind its compact ids."""

    index: DomainIndex = field(default_factory=DomainIndex.empty)
    categories: list[str] = field(default_factory=list)  # category id -> name
    lists: list[ListInfo] = field(default_factory=list)  # list id -> name and file

    def category_id(self, name: str) -> int | None:
        try:
            return self.categories.index(name)
        except ValueError:
            return None

    def source(self, list_id: int, line: int) -> RuleSource:
        info = self.lists[list_id]
        return RuleSource(info.name, info.file, line or None)
