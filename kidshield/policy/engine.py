"""The policy engine: ``decide(query, profile, now, state) -> Decision``.

Pure: the same inputs always give the same decision. Checks run in a fixed order and the first
that matches decides (docs/policy.md lists them):

    helplines -> internet paused (learning sites stay open) -> protection paused
    -> parent grants -> allow list -> bypass protection -> schedules -> daily budgets
    -> allow list for free time -> blocked services -> blocked categories -> own block list
    -> safe search -> allow

``valid_until`` is the earliest instant at which the clock alone could change the answer (a
schedule edge, a grant's or pause's end, a budget running out, a birthday that changes the age
band). Changes to ``state`` or configuration are the caller's to notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kidshield.policy.ages import BAND_DEFAULTS, MIN_AGE_GROUPS, AgeBand, SafeSearchMode
from kidshield.policy.catalog import Catalog
from kidshield.policy.domains import IndexHit, covered_by
from kidshield.policy.model import ALLOW_CATEGORY, BlockLists, Profile, Query, ScheduleRule
from kidshield.policy.reason import Action, Decision, Reason, RuleSource
from kidshield.policy.schedule import (
    Window,
    next_local_midnight,
    parse_days,
    parse_hhmm,
    window_at,
)
from kidshield.policy.state import ProfileState

DATA_SOURCE = RuleSource("kidshield data")
CONFIG_SOURCE = RuleSource("configuration")


@dataclass(frozen=True, slots=True)
class Settings:
    """What applies to one profile in one age band: its overrides merged over the defaults."""

    band: AgeBand
    categories: frozenset[str]
    category_ids: frozenset[int]
    services: frozenset[str]
    safe_search: SafeSearchMode
    youtube: SafeSearchMode
    bypass_protection: bool
    schedules: tuple[ScheduleRule, ...]


class PolicyEngine:
    def __init__(self, catalog: Catalog, lists: BlockLists | None = None) -> None:
        self.catalog = catalog
        self.lists = lists or BlockLists()
        # keyed by id(); the entry keeps its profile alive so the id cannot be reused by another
        self._settings: dict[tuple[int, AgeBand], tuple[Profile, Settings]] = {}
        # per profile (keyed like _settings): every name the catalog's and the profile's
        # small maps list (the maps never change once built)
        self._listed: dict[int, tuple[Profile, frozenset[str]]] = {}
        # (profile id, pause ends) -> (profile, when decided, the decision for any name
        # nothing lists): see decide()
        self._unlisted: dict[tuple[int, datetime | None, datetime | None],
                             tuple[Profile, datetime, Decision]] = {}
        allow_id = self.lists.category_id(ALLOW_CATEGORY)
        self._allow_id = -1 if allow_id is None else allow_id

    # -- settings -----------------------------------------------------------------------
    def settings(self, profile: Profile, band: AgeBand) -> Settings:
        key = (id(profile), band)
        cached = self._settings.get(key)
        if cached is None or cached[0] is not profile:
            cached = self._settings[key] = (profile, self._compute_settings(profile, band))
        return cached[1]

    def band_services(self, band: AgeBand) -> frozenset[str]:
        """The services an age band blocks before a profile's own changes: its groups, and
        those whose own terms set a higher minimum age (contact services)."""
        d = BAND_DEFAULTS[band]
        services = self.catalog.services_in_groups(d.service_groups)
        if d.services_min_age_over is not None:
            services |= self.catalog.services_over_age(d.services_min_age_over, MIN_AGE_GROUPS)
        return frozenset(services)

    def _compute_settings(self, profile: Profile, band: AgeBand) -> Settings:
        d = BAND_DEFAULTS[band]
        categories = (
            (profile.blocked_categories if profile.blocked_categories is not None
             else d.categories) | profile.extra_blocked_categories
        ) - profile.unblocked_categories
        if profile.blocked_services is not None:
            services = set(profile.blocked_services)
        else:
            services = set(self.band_services(band))
        services |= profile.extra_blocked_services
        services -= profile.unblocked_services
        schedules: list[ScheduleRule] = []
        if profile.bedtime is not None:
            schedules.append(profile.bedtime)
        elif d.bedtime is not None and not profile.bedtime_off:
            days, start, end = d.bedtime
            schedules.append(
                ScheduleRule(
                    "bedtime",
                    Window(parse_hhmm(start), parse_hhmm(end), parse_days(days)),
                    "block",
                    bedtime=True,
                )
            )
        schedules.extend(profile.schedules)
        ids = frozenset(
            i for i, name in enumerate(self.lists.categories) if name in categories
        )
        return Settings(
            band=band,
            categories=frozenset(categories),
            category_ids=ids,
            services=frozenset(services),
            safe_search=profile.safe_search or d.safe_search,
            youtube=profile.youtube or d.youtube,
            bypass_protection=(
                d.bypass_protection
                if profile.bypass_protection is None
                else profile.bypass_protection
            ),
            schedules=tuple(schedules),
        )

    def listed(self, profile: Profile) -> frozenset[str]:
        """Every domain that the catalog's suffix maps (helplines, bypass tools, services,
        safe-search hosts, unsupported engines) or ``profile``'s own (allow, free time,
        learning, deny) list. A name none of whose suffixes is here matches none of them:
        one walk over the name instead of one per map, for the many names nobody listed."""
        known = self._listed.get(id(profile))
        if known is not None and known[0] is profile:
            return known[1]
        c = self.catalog
        names = frozenset(c.safe_hosts).union(
            c.helpline_index.keys(), c.bypass.keys(), c.service_index.keys(),
            c.unsupported.keys(), profile.allow.keys(), profile.allow_free_time.keys(),
            profile.learning.keys(), profile.deny.keys())
        self._listed[id(profile)] = (profile, names)
        return names

    # -- the decision -------------------------------------------------------------------
    def decide(
        self, query: Query, profile: Profile, now: datetime, state: ProfileState
    ) -> Decision:
        return self.decide_shared(query, profile, now, state)[0]

    def decide_shared(
        self, query: Query, profile: Profile, now: datetime, state: ProfileState
    ) -> tuple[Decision, bool]:
        """The decision, and whether it is the one every name nothing lists shares (for this
        profile, pause state and instant): a caller need not remember it per name."""
        name = query.name
        quiet = not covered_by(name, self.listed(profile))
        if not quiet or state.grants:
            return self._decide(name, quiet, profile, now, state), False
        hits = self.lists.index.lookup(name)  # once: _decide takes them
        if hits:
            return self._decide(name, quiet, profile, now, state, hits), False
        # No list, map or grant names it: every check below decides it as any other such
        # name at this instant (on the profile, its pauses and the clock alone), and the
        # decision holds until its valid_until. One per profile and pause, most misses.
        key = (id(profile), state.paused_until, state.internet_paused_until)
        known = self._unlisted.get(key)
        if (known is not None and known[0] is profile and known[1] <= now
                and (known[2].valid_until is None or now < known[2].valid_until)):
            return known[2], True
        decision = self._decide(name, quiet, profile, now, state)
        if len(self._unlisted) >= 1024:
            self._unlisted.clear()
        self._unlisted[key] = (profile, now, decision)
        return decision, True

    def _decide(self, name: str, quiet: bool, profile: Profile, now: datetime,
                state: ProfileState, hits: list[IndexHit] | None = None) -> Decision:
        band = profile.band_at(now)
        until = profile.band_change_at(now)

        def done(action: Action, reason: Reason, limit: datetime | None = None,
                 **kw: object) -> Decision:
            return Decision(action, reason, valid_until=_earliest(until, limit),
                            band=band.value, **kw)  # type: ignore[arg-type]

        if not profile.filtering:
            return done(Action.ALLOW, Reason.UNFILTERED)
        if profile.oversight_ended(now):
            # Turning 18 ends oversight for good: nothing later can change this by the clock.
            return Decision(Action.ALLOW, Reason.ADULT, band=band.value)

        helpline = None if quiet else self.catalog.helpline_index.match(name)
        if helpline is not None:
            return done(Action.ALLOW, Reason.HELPLINE, rule=helpline[0], source=DATA_SOURCE,
                        detail={"helpline": helpline[1].name})

        internet = state.internet_paused_until
        if internet is not None and now < internet:
            learning = None if quiet else profile.learning.match(name)
            if learning is not None:
                return done(Action.ALLOW, Reason.ALLOW_LIST, internet, rule=learning[0],
                            source=learning[1], detail={"learning": True})
            return done(Action.BLOCK, Reason.INTERNET_PAUSED, internet,
                        rule=f"internet paused until {internet:%H:%M} UTC",
                        source=RuleSource("parent pause"))

        if state.paused_until is not None and now < state.paused_until:
            return done(Action.ALLOW, Reason.PAUSED, state.paused_until)

        for grant in state.grants:
            if grant.active(now) and _covers(grant.domain, name):
                return done(Action.ALLOW, Reason.GRANT, grant.until, rule=grant.domain,
                            source=RuleSource("parent grant"),
                            detail={"granted_by": grant.granted_by} if grant.granted_by else {})

        allowed = None if quiet else profile.allow.match(name)
        if allowed is not None:
            return done(Action.ALLOW, Reason.ALLOW_LIST, rule=allowed[0], source=allowed[1])

        s = self.settings(profile, band)
        if s.bypass_protection:
            bypass = None if quiet else self.catalog.bypass.match(name)
            if bypass is not None:
                return done(Action.BLOCK, Reason.BYPASS, rule=bypass[0], source=DATA_SOURCE,
                            category=bypass[1])

        svc = None if quiet else self.catalog.service_index.match(name)
        service = None if svc is None else svc[1]
        if hits is None:
            hits = self.lists.index.lookup(name)
        # allow-list entries except every category; an adblock '@@' exception only its own
        allowed_by_list = any(h.category == self._allow_id for h in hits)
        categories = frozenset(self.lists.categories[h.category] for h in hits if not h.allow)

        # schedules: blocked inside "block" windows, outside "allow_only" windows
        for rule in s.schedules:
            if not rule.applies_to(service, categories):
                continue
            inside, edge = window_at(rule.window, now, profile.tz)
            until = _earliest(until, edge)
            if (rule.action == "block") == inside:
                reason = Reason.BEDTIME if rule.bedtime else Reason.SCHEDULE
                return done(Action.BLOCK, reason, rule=rule.label(),
                            source=rule.source or CONFIG_SOURCE, service=service)

        if service is not None and service in profile.budgets:
            budget = profile.budgets[service]
            used = state.usage_minutes.get(service, 0.0)
            midnight = next_local_midnight(now, profile.tz)
            if used >= budget:
                return done(Action.BLOCK, Reason.BUDGET, midnight,
                            rule=f"{service} {budget} min/day",
                            source=profile.budget_sources.get(service, CONFIG_SOURCE),
                            service=service, detail={"used_minutes": round(used, 1)})
            until = _earliest(until, min(midnight, now + timedelta(minutes=budget - used)))

        free = None if quiet else profile.allow_free_time.match(name)
        if free is not None:
            return done(Action.ALLOW, Reason.ALLOW_LIST, rule=free[0], source=free[1],
                        service=service, detail={"free_time_only": True})

        if service is not None and service in s.services:
            return done(Action.BLOCK, Reason.SERVICE, rule=svc[0] if svc else None,
                        source=DATA_SOURCE, service=service,
                        detail={"service_name": self.catalog.services[service].name})

        if not allowed_by_list and s.category_ids:
            blocking = _first_blocking(hits, s.category_ids)
            if blocking is not None:
                return done(Action.BLOCK, Reason.CATEGORY, rule=blocking.domain,
                            source=self.lists.source(blocking.list_id, blocking.line),
                            category=self.lists.categories[blocking.category], service=service)

        denied = None if quiet else profile.deny.match(name)
        if denied is not None:
            return done(Action.BLOCK, Reason.DENY_LIST, rule=denied[0], source=denied[1],
                        service=service)

        engine = None if quiet else self.catalog.safe_hosts.get(name)
        if engine is not None:
            mode = s.youtube if engine.setting == "youtube" else s.safe_search
            if mode is not SafeSearchMode.OFF:
                target = engine.strict if mode is SafeSearchMode.STRICT else engine.moderate
                return done(Action.REWRITE, Reason.SAFE_SEARCH, rule=name, source=DATA_SOURCE,
                            target=target, service=service,
                            detail={"engine": engine.name, "mode": mode.value})
        elif s.safe_search is not SafeSearchMode.OFF:
            unsupported = None if quiet else self.catalog.unsupported.match(name)
            if unsupported is not None:
                return done(Action.BLOCK, Reason.SAFE_SEARCH_UNSUPPORTED, rule=unsupported[0],
                            source=DATA_SOURCE, detail={"engine": unsupported[1]})

        return done(Action.ALLOW, Reason.ALLOWED, service=service,
                    category=next(iter(sorted(categories)), None))


def _covers(domain: str, name: str) -> bool:
    return name == domain or name.endswith("." + domain)


def _first_blocking(hits: list[IndexHit], blocked: frozenset[int]) -> IndexHit | None:
    excepted = {h.category for h in hits if h.allow}
    for hit in hits:
        if not hit.allow and hit.category in blocked and hit.category not in excepted:
            return hit
    return None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
