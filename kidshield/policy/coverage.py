"""Which blocked categories no list provides: a profile that "blocks gambling" while no loaded
list has a gambling entry blocks nothing, and a parent must be told so rather than shown a
promise. Pure: the caller passes the engine (with its loaded lists), the profiles and the time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kidshield.policy.engine import PolicyEngine
from kidshield.policy.model import ALLOW_CATEGORY, Profile


@dataclass(frozen=True, slots=True)
class CategoryGap:
    """A category that ``profiles`` block (now) but that no loaded list provides."""

    category: str
    profiles: tuple[str, ...]


def blocked_categories(engine: PolicyEngine, profile: Profile, now: datetime) -> frozenset[str]:
    """Every category the profile blocks at ``now``: its band's defaults with its own changes,
    and the categories its schedules name."""
    if not profile.filtering or profile.oversight_ended(now):
        return frozenset()
    settings = engine.settings(profile, profile.band_at(now))
    scheduled = {c for rule in settings.schedules for c in rule.categories}
    return settings.categories | scheduled


def category_gaps(
    engine: PolicyEngine,
    profiles: Iterable[Profile],
    now: datetime,
    provided_elsewhere: frozenset[str] = frozenset(),
) -> list[CategoryGap]:
    """Categories blocked by some profile that no list provides, sorted by name.

    ``provided_elsewhere``: categories filled by other means (e.g. report decisions), which
    may rightly be empty.
    """
    provided = set(engine.lists.categories) - {ALLOW_CATEGORY} | provided_elsewhere
    missing: dict[str, list[str]] = {}
    for profile in profiles:
        for category in sorted(blocked_categories(engine, profile, now) - provided):
            missing.setdefault(category, []).append(profile.id)
    return [CategoryGap(c, tuple(p)) for c, p in sorted(missing.items())]
