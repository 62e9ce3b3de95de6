"""Turn the configuration's profiles and clients into the engine's runtime objects."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kidshield.config import Config, ProfileConfig
from kidshield.policy.domains import SuffixMap
from kidshield.policy.model import Profile, ScheduleRule
from kidshield.policy.reason import RuleSource
from kidshield.policy.schedule import Window, parse_days, parse_hhmm

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def compile_profile(pid: str, pc: ProfileConfig, config: Config) -> Profile:
    tz = ZoneInfo(pc.timezone or config.server.timezone)
    bedtime = None
    if pc.bedtime not in (None, "off") and pc.wake_up is not None:
        bedtime = ScheduleRule(
            "bedtime",
            Window(parse_hhmm(pc.bedtime), parse_hhmm(pc.wake_up), parse_days(pc.bedtime_days)),
            "block",
            bedtime=True,
            source=RuleSource(f"profile {pid}", *config.origin("profiles", pid, "bedtime")),
        )
    schedules = tuple(
        ScheduleRule(
            s.name,
            Window(parse_hhmm(s.start), parse_hhmm(s.end), parse_days(s.days)),
            s.action,
            frozenset(s.services),
            frozenset(s.categories),
            source=RuleSource(f"profile {pid}",
                              *config.origin("profiles", pid, "schedules", i)),
        )
        for i, s in enumerate(pc.schedules)
    )
    return Profile(
        id=pid,
        name=pc.name or pid,
        tz=tz,
        birth_date=pc.birth_date,
        fixed_band=pc.age_band,
        filtering=pc.filtering,
        keep_filtering_after_18=pc.keep_filtering_after_18,
        blocked_categories=None if pc.blocked_categories is None else frozenset(
            pc.blocked_categories),
        unblocked_categories=frozenset(pc.unblocked_categories),
        extra_blocked_categories=frozenset(pc.extra_blocked_categories),
        extra_blocked_services=frozenset(pc.extra_blocked_services),
        bedtime_off=pc.bedtime == "off",
        blocked_services=None if pc.blocked_services is None else frozenset(pc.blocked_services),
        unblocked_services=frozenset(pc.unblocked_services),
        safe_search=pc.safe_search,
        youtube=pc.youtube,
        bypass_protection=pc.bypass_protection,
        bedtime=bedtime,
        schedules=schedules,
        budgets=dict(pc.budgets),
        budget_sources={
            svc: RuleSource(f"profile {pid}",
                            *config.origin("profiles", pid, "budgets", svc, needle=svc))
            for svc in pc.budgets
        },
        allow=SuffixMap(
            (d, RuleSource(f"profile {pid} allow list",
                           *config.origin("profiles", pid, "allow", needle=d)))
            for d in pc.allow
        ),
        allow_free_time=SuffixMap(
            (d, RuleSource(f"profile {pid} allow list (free time only)", config.source,
                           config.line_of("profiles", pid, "allow_free_time", needle=d)))
            for d in pc.allow_free_time
        ),
        learning=SuffixMap(
            (d, RuleSource(f"profile {pid} learning sites", config.source,
                           config.line_of("profiles", pid, "learning_sites", needle=d)))
            for d in pc.learning_sites
        ),
        deny=SuffixMap(
            (d, RuleSource(f"profile {pid} block list",
                           *config.origin("profiles", pid, "deny", needle=d)))
            for d in pc.deny
        ),
    )


def compile_profiles(config: Config) -> dict[str, Profile]:
    return {pid: compile_profile(pid, pc, config) for pid, pc in config.profiles.items()}


def unrestricted_profile(config: Config) -> Profile:
    """What an unknown client gets when no default profile is configured: adult defaults
    (malware and phishing blocked), so the resolver is still useful for the household."""
    return Profile(id="default", name="Everyone else", tz=ZoneInfo(config.server.timezone),
                   fixed_band=None)


@dataclass(frozen=True, slots=True)
class ClientEntry:
    name: str
    profile: str
    network: IPNetwork


class ClientMatcher:
    """Which profile is asking: a device secret (DoH path / DoT name) first, then a device's
    MAC address (from a trusted forwarder, see dns/clienthints.py), then the most specific
    configured address range, then the default profile.

    A named client id (``client_ids``) is something anyone can type, so it never overrides
    the profile the address (or MAC, or the default profile) already gives: it only names a
    profile for a device nothing else places. Secrets (``secret_ids``) are issued at random
    by the dashboard: knowing one is what proves the device, so it wins everywhere (and lets
    the device in from outside ``dns.allow_networks``, see ``is_secret``)."""

    def __init__(self, config: Config) -> None:
        entries = [
            ClientEntry(c.name, c.profile, _ipv4_if_mapped(ipaddress.ip_network(a, strict=False)))
            for c in config.clients
            for a in c.addresses
        ]
        entries.sort(key=lambda e: e.network.prefixlen, reverse=True)
        self._entries = entries
        self._exact: dict[str, str] = {
            str(e.network.network_address): e.profile
            for e in reversed(entries)
            if e.network.num_addresses == 1
        }
        self._ids = {cid: c.profile for c in config.clients for cid in c.client_ids}
        # by digest: looking a guess up takes no longer for a near miss than for a far one
        self._secrets = {_digest(s): c.profile for c in config.clients for s in c.secret_ids}
        self._macs = {mac: c.profile for c in config.clients for mac in c.macs}
        self.default = config.server.default_profile

    def is_secret(self, client_id: str | None) -> bool:
        return client_id is not None and bool(self._secrets) and (
            _digest(client_id) in self._secrets)

    def profile_for(self, address: str, client_id: str | None = None,
                    mac: str | None = None) -> str | None:
        """``mac``: the device's MAC address as a trusted forwarder reported it; ``address``
        may be the address (or the subnet's first address) a forwarder reported for it."""
        if client_id is not None and self._secrets:
            secret = self._secrets.get(_digest(client_id))
            if secret is not None:
                return secret
        placed = self._placed(address, mac)
        if placed is None:
            if client_id is not None and client_id in self._ids:
                return self._ids[client_id]
            return self.default
        return placed

    def _placed(self, address: str, mac: str | None) -> str | None:
        """The profile the device's MAC or address gives, or the default profile; None when
        nothing places it."""
        if mac is not None and mac in self._macs:
            return self._macs[mac]
        exact = self._exact.get(address)
        if exact is not None:
            return exact
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return self.default
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for entry in self._entries:
            if ip.version == entry.network.version and ip in entry.network:
                return entry.profile
        return self.default


_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _ipv4_if_mapped(network: ipaddress.IPv4Network | ipaddress.IPv6Network
                    ) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``::ffff:192.168.1.23`` (and ``::ffff:192.168.1.0/120``) as the IPv4 address or range
    it writes: devices' addresses are looked up as IPv4 (``_placed``), so an entry written the
    IPv6 way placed nobody (docs/configuration.md promised it counts as IPv4; the family
    walk, session 16)."""
    if (isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96
            and network.subnet_of(_MAPPED)):
        return ipaddress.IPv4Network(
            (int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
    return network


def _digest(client_id: str) -> bytes:
    return hashlib.sha256(client_id.lower().encode("utf-8", "surrogatepass")).digest()
