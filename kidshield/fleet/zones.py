"""The policy as Response Policy Zones, valid at one instant.

An RPZ engine consults the zones that apply to a client in their configured order, and the
first zone with a matching rule decides; inside a zone the most specific rule wins. kidshield's
engine checks in a fixed order too (``policy/engine.py``), so the zones follow that order:

    special                         everyone: the browser canary, DDR, the child page's name
    helplines (passthru)            everyone
    <profile>.allow (passthru)      the profile's own allow list
    bypass (NXDOMAIN)               profiles with bypass protection
    <profile>.time                  schedules in force now (bedtime blocks everything)
    <profile>.safe (CNAME)          safe-search rewrites, decided by the engine host by host
    <profile>.profile               blocked services, own block list, unsafe search engines
    exceptions (passthru)           allow lists: they lift categories, nothing before them
    <category>.category             one zone per category a profile blocks, shared by tags

Every profile is an engine tag; a zone names the tags it applies to. Categories no profile
blocks are left out, so the engine never holds names nobody is protected from. Only the
``time`` and ``safe`` zones change with the clock; the rest change when the configuration or
the lists do. ``valid_until`` is the first instant at which the clock alone changes a zone.

Names and their subtrees become two RPZ triggers (``name`` and ``*.name``); a name whose parent
is in the same zone is left out (the parent's rules cover it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kidshield.config import Config, parse_hostport
from kidshield.fleet.lists import ListNames, minimal
from kidshield.policy.ages import SafeSearchMode
from kidshield.policy.catalog import Catalog
from kidshield.policy.domains import covered_by
from kidshield.policy.engine import PolicyEngine, Settings
from kidshield.policy.model import Profile, Query
from kidshield.policy.reason import Action
from kidshield.policy.schedule import next_change
from kidshield.policy.state import EMPTY_STATE

DEFAULT_SUFFIX = "kidshield.rpz"


class Act(StrEnum):
    BLOCK = "block"  # the block answer: the block page's address (or 0.0.0.0, or NXDOMAIN)
    NXDOMAIN = "nxdomain"  # bypass tools: apps read NXDOMAIN as "fall back quietly"
    NODATA = "nodata"  # the name exists, with no records of the type asked
    PASSTHRU = "passthru"  # resolve normally; later zones are not consulted
    REWRITE = "rewrite"  # CNAME to a safe-search host


class ZoneKind(StrEnum):
    SPECIAL = "special"
    HELPLINES = "helplines"
    ALLOW = "allow"
    BYPASS = "bypass"
    TIME = "time"
    SAFE = "safe"
    PROFILE = "profile"
    EXCEPTIONS = "exceptions"
    CATEGORY = "category"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    act: Act
    subtree: bool = True  # the rule covers the names below ``name`` too
    target: str | None = None  # REWRITE: the safe host


@dataclass(slots=True)
class Zone:
    label: str  # relative to the suffix: "adult.category", "mia.time", "helplines"
    kind: ZoneKind
    profiles: tuple[str, ...]  # the tags it applies to; () = every client
    act: Act  # the action of ``names``
    names: list[str] = field(default_factory=list)  # subtree rules with ``act``
    rules: list[Rule] = field(default_factory=list)  # rules with their own action
    everything: bool = False  # every name (a root wildcard), e.g. at bedtime
    note: str = ""

    def origin(self, suffix: str) -> str:
        return f"{self.label}.{suffix}"

    def __len__(self) -> int:
        return len(self.names) + len(self.rules) + int(self.everything)


@dataclass(frozen=True, slots=True)
class BlockAnswer:
    """What a blocked name answers: the block page's addresses, or NXDOMAIN (``ipv4`` None)."""

    ipv4: str | None
    ipv6: str | None

    @property
    def nxdomain(self) -> bool:
        return self.ipv4 is None


@dataclass(frozen=True, slots=True)
class ClientNetwork:
    network: str
    profile: str  # the profile's tag
    name: str  # the [[clients]] entry, or "allow_networks" for the default profile


@dataclass(slots=True)
class FleetPolicy:
    at: datetime
    valid_until: datetime | None
    zones: list[Zone]
    profiles: dict[str, str]  # tag -> display name (every profile, protected or not)
    networks: list[ClientNetwork]  # most specific first
    allow_networks: list[str]
    block: BlockAnswer
    ttl: int
    suffix: str = DEFAULT_SUFFIX
    notes: list[str] = field(default_factory=list)  # what the fleet cannot do as kidshield does
    # compact form: blocking zones hold "CNAME ." rules that each engine's configuration turns
    # into a CNAME to this name (which must resolve to the block page), about half the memory
    block_host: str | None = None

    def compact(self, zone: Zone) -> bool:
        """Whether ``zone`` is written in the compact form (only rules that block)."""
        return (self.block_host is not None and zone.act is Act.BLOCK
                and zone.kind is not ZoneKind.SPECIAL
                and all(rule.act is Act.BLOCK for rule in zone.rules))

    def zone(self, label: str) -> Zone:
        return next(z for z in self.zones if z.label == label)


def block_answer(config: Config, ipv4: str | None = None, ipv6: str | None = None) -> BlockAnswer:
    """The block answer kidshield gives itself (``dns.block_mode``), so fleet and kidshield
    agree; ``ipv4``/``ipv6`` override the block page's addresses (the address the fleet's
    clients reach kidshield's web server at)."""
    dns = config.dns
    if dns.block_mode in ("nxdomain", "refused"):
        return BlockAnswer(None, None)
    if dns.block_mode == "null_ip":
        return BlockAnswer("0.0.0.0", "::")
    v4 = ipv4 or dns.block_page_ipv4 or _listen_address(dns.listen, 4) or "0.0.0.0"
    v6 = ipv6 or dns.block_page_ipv6 or _listen_address(dns.listen, 6) or "::"
    return BlockAnswer(v4, v6)


def _listen_address(listen: list[str], version: int) -> str | None:
    for item in listen:
        host, _ = parse_hostport(item, 53)
        ip = ipaddress.ip_address(host)
        if ip.version == version and not ip.is_unspecified:
            return host
    return None


class _Builder:
    def __init__(self, config: Config, catalog: Catalog, engine: PolicyEngine,
                 lists: ListNames, now: datetime) -> None:
        self.config = config
        self.catalog = catalog
        self.engine = engine
        self.lists = lists
        self.now = now
        self.until: datetime | None = None
        self.notes: list[str] = list(lists.problems)

    def later(self, when: datetime | None) -> None:
        if when is not None and (self.until is None or when < self.until):
            self.until = when

    def service_names(self, services: Iterable[str]) -> list[str]:
        return [d for sid in sorted(services) if sid in self.catalog.services
                for d in self.catalog.services[sid].domains]

    def nested_service_rules(self, profile: Profile, blocked: frozenset[str],
                             names: list[str]) -> list[Rule]:
        """A service's domain below a blocked one that belongs to a service not blocked
        (``wx.qq.com`` under ``qq.com``): kidshield matches the most specific service, so
        that subtree gets the engine's own answer instead of the parent's block."""
        rules = []
        listed = set(names)
        for sid, service in sorted(self.catalog.services.items()):
            if sid in blocked:
                continue
            for domain in service.domains:
                parent = domain.partition(".")[2]
                if parent and covered_by(parent, listed):
                    decision = self.engine.decide(Query(domain), profile, self.now, EMPTY_STATE)
                    act = Act.BLOCK if decision.action is Action.BLOCK else Act.PASSTHRU
                    rules.append(Rule(domain, act))
        return rules

    def time_zone(self, profile: Profile, s: Settings) -> Zone:
        zone = Zone(f"{profile.id}.time", ZoneKind.TIME, (profile.id,), Act.BLOCK,
                    note=f"{profile.name}: schedules in force now")
        local = self.now.astimezone(profile.tz)
        services: set[str] = set()
        categories: set[str] = set()
        active: list[str] = []
        for rule in s.schedules:
            self.later(next_change(rule.window, self.now, profile.tz))
            inside = rule.window.contains(local)
            if (rule.action == "block") != inside:
                continue
            active.append(rule.label())
            if not rule.scoped:
                zone.everything = True
            services |= rule.services
            categories |= rule.categories
        # a budget of 0 minutes blocks the service all day; other budgets need the minutes
        # used, which only kidshield counts
        services |= {svc for svc, minutes in profile.budgets.items() if minutes == 0}
        if active:
            zone.note += ": " + ", ".join(active)
        if zone.everything:
            return zone
        services -= s.services  # already in the profile zone, all the time
        names = self.service_names(services)
        for category in sorted(categories):
            names.extend(self.lists.blocks.get(category, ()))
        zone.names = minimal(names)
        zone.rules = self.nested_service_rules(profile, s.services | services, zone.names)
        return zone

    def safe_zone(self, profile: Profile) -> Zone:
        zone = Zone(f"{profile.id}.safe", ZoneKind.SAFE, (profile.id,), Act.REWRITE,
                    note=f"{profile.name}: safe search")
        for host in sorted(self.catalog.safe_hosts):
            decision = self.engine.decide(Query(host), profile, self.now, EMPTY_STATE)
            if decision.action is Action.REWRITE and decision.target:
                zone.rules.append(Rule(host, Act.REWRITE, subtree=False,
                                       target=decision.target))
        return zone

    def profile_zone(self, profile: Profile, s: Settings) -> Zone:
        names = self.service_names(s.services) + list(profile.deny.keys())
        if s.safe_search is not SafeSearchMode.OFF:
            names += list(self.catalog.unsupported.keys())
        zone = Zone(f"{profile.id}.profile", ZoneKind.PROFILE, (profile.id,), Act.BLOCK,
                    minimal(names), note=f"{profile.name}: blocked services, own block list, "
                    "search engines without safe search")
        zone.rules = self.nested_service_rules(profile, s.services, zone.names)
        return zone

    def category_zone(self, category: str, tags: tuple[str, ...]) -> Zone:
        blocks = minimal(self.lists.blocks.get(category, ()))
        raw_exceptions = self.lists.exceptions.get(category, ())
        zone = Zone(f"{category}.category", ZoneKind.CATEGORY, tags, Act.BLOCK,
                    note=f"category {category}")
        if not raw_exceptions:
            zone.names = blocks
            return zone
        # kidshield lifts a category for a name when an exception of that category matches
        # the name or a parent: drop the rules an exception covers, and let exceptions below
        # a rule pass (the engine then looks no further, see docs/fleet.md)
        exceptions = frozenset(raw_exceptions)
        zone.names = [n for n in blocks if not covered_by(n, exceptions)]
        kept = set(zone.names)
        zone.rules = [Rule(n, Act.PASSTHRU) for n in minimal(exceptions)
                      if covered_by(n.partition(".")[2], kept)]
        return zone


def build_policy(
    config: Config,
    catalog: Catalog,
    engine: PolicyEngine,
    profiles: dict[str, Profile],
    fallback: Profile,
    lists: ListNames,
    now: datetime,
    block: BlockAnswer | None = None,
    suffix: str = DEFAULT_SUFFIX,
    block_host: str | None = None,
) -> FleetPolicy:
    """The zones that make an RPZ engine answer as kidshield does at ``now`` for devices
    matched by address (state such as grants and minutes used is left out: docs/fleet.md)."""
    b = _Builder(config, catalog, engine, lists, now)
    everyone = dict(profiles)
    default_tag = config.server.default_profile
    if default_tag is None:
        default_tag = fallback.id if fallback.id not in everyone else "kidshield-default"
        everyone[default_tag] = fallback
    protected: list[tuple[Profile, Settings]] = []
    for tag, profile in everyone.items():
        if not profile.filtering:
            continue
        b.later(profile.band_change_at(now))
        if profile.oversight_ended(now):
            continue
        protected.append((profile, engine.settings(profile, profile.band_at(now))))
        if any(minutes > 0 for minutes in profile.budgets.values()):
            b.notes.append(
                f"profile {tag}: daily budgets ({', '.join(sorted(profile.budgets))}) need "
                "the minutes used, which only kidshield counts: the fleet does not enforce "
                "them (serve this profile from kidshield, docs/fleet.md)")
    tag_of = {id(p): t for t, p in everyone.items()}

    zones = [_special_zone(block or block_answer(config)),
             Zone("helplines", ZoneKind.HELPLINES, (), Act.PASSTHRU,
                  minimal(catalog.helpline_index.keys()),
                  note="child helplines: always reachable")]
    for profile, _s in protected:
        if len(profile.allow):
            zones.append(Zone(f"{profile.id}.allow", ZoneKind.ALLOW, (tag_of[id(profile)],),
                              Act.PASSTHRU, minimal(profile.allow.keys()),
                              note=f"{profile.name}: own allow list"))
    bypass_tags = tuple(tag_of[id(p)] for p, s in protected if s.bypass_protection)
    if bypass_tags:
        zones.append(Zone("bypass", ZoneKind.BYPASS, bypass_tags, Act.NXDOMAIN,
                          minimal(catalog.bypass.keys()),
                          note="encrypted DNS, VPNs, proxies, Private Relay"))
    for builder in (b.time_zone, lambda p, _s: b.safe_zone(p), b.profile_zone):
        for profile, s in protected:
            zone = builder(profile, s)
            zone.profiles = (tag_of[id(profile)],)
            zone.label = f"{tag_of[id(profile)]}.{zone.kind.value}"
            if zone or zone.kind in (ZoneKind.TIME, ZoneKind.SAFE):
                zones.append(zone)  # time and safe zones stay, empty: they fill at an edge
    if lists.allowed:
        zones.append(Zone("exceptions", ZoneKind.EXCEPTIONS, (), Act.PASSTHRU,
                          minimal(lists.allowed), note="allow lists: lift every category"))
    for category in sorted(set(lists.blocks) | set(lists.exceptions)):
        tags = tuple(tag_of[id(p)] for p, s in protected if category in s.categories)
        if tags:
            zones.append(b.category_zone(category, tags))

    networks, allow_networks = _networks(config, default_tag, b.notes)
    return FleetPolicy(
        at=now, valid_until=b.until, zones=zones,
        profiles={tag: p.name for tag, p in everyone.items()},
        networks=networks, allow_networks=allow_networks,
        block=block or block_answer(config), ttl=config.dns.block_ttl, suffix=suffix,
        notes=b.notes, block_host=block_host,
    )


CANARY = "use-application-dns.net"
DDR = "_dns.resolver.arpa"
CHILD_PAGE = "kidshield.home.arpa"


def _special_zone(block: BlockAnswer) -> Zone:
    """What kidshield answers before any policy, for every device: NXDOMAIN for Firefox's
    canary (its own DNS over HTTPS stays off), no data for Discovery of Designated Resolvers
    (no upgrade past the filter), and the child page's name at the block page's address."""
    zone = Zone("special", ZoneKind.SPECIAL, (), Act.NXDOMAIN,
                note="browser canary, resolver discovery, the child page",
                rules=[Rule(CANARY, Act.NXDOMAIN, subtree=False), Rule(DDR, Act.NODATA)])
    if block.ipv4 not in (None, "0.0.0.0"):
        zone.rules.append(Rule(CHILD_PAGE, Act.BLOCK, subtree=False))
    return zone


def _networks(config: Config, default_tag: str,
              notes: list[str]) -> tuple[list[ClientNetwork], list[str]]:
    allowed = [ipaddress.ip_network(n) for n in config.dns.allow_networks]
    out: list[ClientNetwork] = []
    for client in config.clients:
        if client.macs or client.client_ids:
            notes.append(
                f"client {client.name!r}: MAC addresses and client ids are matched by "
                "kidshield only; the fleet sees addresses (docs/fleet.md)")
        for address in client.addresses:
            net = ipaddress.ip_network(address, strict=False)
            if not any(net.version == a.version and net.subnet_of(a)  # type: ignore[arg-type]
                       for a in allowed):
                notes.append(f"client {client.name!r}: {address} is outside dns.allow_networks, "
                             "so kidshield refuses it; left out")
                continue
            out.append(ClientNetwork(str(net), client.profile, client.name))
    out += [ClientNetwork(str(n), default_tag, "allow_networks") for n in allowed]
    out.sort(key=lambda c: ipaddress.ip_network(c.network).prefixlen, reverse=True)
    return out, [str(n) for n in allowed]
