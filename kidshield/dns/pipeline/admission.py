"""The stages before any decision: is it a query, may this address ask, is it asking too
often, can we answer that kind of query, and which profile does it belong to."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import datetime

from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.clienthints import client_hints
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.ratelimit import DROP, OK, RateLimiter, Verdict
from kidshield.dns.ready import ReadyAnswers
from kidshield.dns.wire import WireError, parse_question, truncate
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Reason
from kidshield.runtime import PolicyRuntime

log = logging.getLogger("kidshield.dns")

CLASS_IN = 1
REFUSED_QPS = 5  # REFUSED answers a second per address over UDP (burst 10)

_ACL_CACHE_MAX = 100_000


class QueryStats:
    """Counts of queries the stages turned away, kept across reloads (for the metrics)."""

    def __init__(self) -> None:
        self.malformed = 0  # could not be parsed
        self.rate_limited: dict[Verdict, int] = {}  # answers held back, by verdict


class Parse:
    def __init__(self, stats: QueryStats) -> None:
        self.stats = stats

    def __call__(self, ctx: QueryContext) -> Flow:
        try:
            ctx.q = parse_question(ctx.data)
        except WireError as exc:
            log.debug("malformed query from %s: %s", ctx.client, exc)
            self.stats.malformed += 1
            return ctx.reply(answers.formerr(ctx.data))
        return NEXT


class Networks:
    """Is an address in these networks (each address's answer remembered)?"""

    def __init__(self, networks: list[str]) -> None:
        self.networks = [ipaddress.ip_network(n) for n in networks]
        self._known: dict[str, bool] = {}

    def __contains__(self, client: str) -> bool:
        inside = self._known.get(client)
        if inside is None:
            try:
                ip = ipaddress.ip_address(client.split("%", 1)[0])
            except ValueError:
                return False
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            inside = any(ip.version == n.version and ip in n for n in self.networks)
            if len(self._known) > _ACL_CACHE_MAX:
                self._known.clear()
            self._known[client] = inside
        return inside


class AccessControl:
    """Only addresses in ``dns.allow_networks`` are answered; others get REFUSED (logged).
    A device secret (DoH/DoT, ``is_secret``) is its own admission: a phone away from home
    gets in without plain DNS being opened to the internet."""

    def __init__(self, networks: list[str],
                 is_secret: Callable[[str | None], bool] = lambda _id: False,
                 refusals: RateLimiter | None = None,
                 monotonic: Callable[[], float] | None = None,
                 stats: QueryStats | None = None) -> None:
        """``refusals``: how many REFUSED answers an address gets over UDP (whose source
        can be forged: without a limit, every spoofed query is reflected at its victim)."""
        self.allowed = Networks(networks)
        self.is_secret = is_secret
        self.refusals = refusals
        self.monotonic = monotonic
        self.stats = stats

    def __call__(self, ctx: QueryContext) -> Flow:
        if ctx.client in self.allowed or self.is_secret(ctx.client_id):
            return NEXT
        if (ctx.udp and self.refusals is not None and self.monotonic is not None
                and self.refusals.allow(ctx.client, self.monotonic()) is not OK):
            if self.stats is not None:
                self.stats.rate_limited[DROP] = self.stats.rate_limited.get(DROP, 0) + 1
            return ctx.reply(None)
        return ctx.answered(answers.build(ctx.data, ctx.q, Rcode.REFUSED), Action.BLOCK,
                            Reason.REFUSED_ACL, Rcode.REFUSED, 0.0)


class RateLimit:
    """UDP only (TCP proves the address): over the limit, a truncated answer or none."""

    def __init__(self, limiter: RateLimiter, monotonic: Callable[[], float],
                 held_back: Callable[[str, str, Verdict], None],
                 client_profiles: dict[str, str]) -> None:
        self.limiter = limiter
        self.monotonic = monotonic
        self.held_back = held_back
        self.client_profiles = client_profiles

    def __call__(self, ctx: QueryContext) -> Flow:
        if not ctx.udp:
            return NEXT
        verdict = self.limiter.allow(ctx.client, self.monotonic())
        if verdict is OK:
            return NEXT
        self.held_back(ctx.client, self.client_profiles.get(ctx.client, "-"), verdict)
        if verdict is DROP:
            return ctx.reply(None)
        q = ctx.q
        return ctx.reply(truncate(answers.build(ctx.data, q, Rcode.NOERROR), q.end,
                                  answers.slip_opt(q.do) if q.edns else b""))


class Supported:
    """Standard queries with EDNS version 0 (or none); anything else is told so."""

    def __call__(self, ctx: QueryContext) -> Flow:
        q = ctx.q
        if (q.flags >> 11) & 0xF:
            return ctx.reply(answers.build(ctx.data, q, Rcode.NOTIMP))
        if q.edns_version:
            return ctx.reply(answers.build(ctx.data, q, Rcode.BADVERS))
        if q.qclass != CLASS_IN:
            # CHAOS (version.bind, id.server) and HESIOD: nothing to tell, nothing to filter,
            # and never an IN record in reply
            return ctx.reply(answers.build(ctx.data, q, Rcode.REFUSED))
        return NEXT


class ClientProfile:
    """The profile of the device asking: by its DoT/DoH client id, else by its address (which
    then takes the fast path for its repeats), or, for a query a trusted forwarder (``[dns]
    trusted_forwarders``: a home router running dnsmasq) passed on, by the device's MAC address
    or client subnet the forwarder added (dns/clienthints.py)."""

    def __init__(self, runtime: PolicyRuntime, ready: ReadyAnswers,
                 clock: Callable[[], datetime]) -> None:
        self.runtime = runtime
        self.ready = ready
        self.bound = ready.client_profiles
        self.known: dict[str, Profile] = {}  # address -> its profile
        forwarders = runtime.config.dns.trusted_forwarders
        self.forwarders = Networks(forwarders) if forwarders else None
        self.clock = clock

    def __call__(self, ctx: QueryContext) -> Flow:
        client, client_id = ctx.client, ctx.client_id
        if client_id is not None:
            profile = self.runtime.profile_for_client(client, client_id)
        elif self.forwarders is not None and client in self.forwarders:
            # a forwarder's address stands for every device behind it: never bound to one
            # profile, so its queries never take the fast path
            profile = self._behind(ctx)
        else:
            # an address is matched once per configuration (this stage is rebuilt on reload)
            known = self.known.get(client)
            if known is None:
                known = self.runtime.profile_for_client(client)
                if len(self.known) >= _ACL_CACHE_MAX:
                    self.known.clear()
                self.known[client] = known
            if self.bound.get(client) != known.id:  # bindings go when ready answers do
                self.ready.bind(client, known.id)
            self.ready.saw(client, ctx.started)
            profile = known
        ctx.profile = profile
        ctx.now = self.clock()
        return NEXT

    def _behind(self, ctx: QueryContext) -> Profile:
        hints = client_hints(ctx.data, ctx.q)
        address = ctx.client
        if hints.subnet is not None:
            address = str(hints.subnet.network_address)
        runtime = self.runtime
        pid = runtime.clients.profile_for(address, None, hints.mac)
        return runtime.profiles.get(pid, runtime.fallback) if pid else runtime.fallback
