"""The stages before any decision: is it a query, may this address ask, is it asking too
often, can we answer that kind of query, and which profile does it belong to."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import datetime

from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.ratelimit import DROP, OK, RateLimiter, Verdict
from kidshield.dns.ready import ReadyAnswers
from kidshield.dns.wire import WireError, parse_question, truncate
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Reason
from kidshield.runtime import PolicyRuntime

log = logging.getLogger("kidshield.dns")

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


class AccessControl:
    """Only addresses in ``dns.allow_networks`` are answered; others get REFUSED (logged)."""

    def __init__(self, networks: list[str]) -> None:
        self.networks = [ipaddress.ip_network(n) for n in networks]
        self._allowed: dict[str, bool] = {}

    def __call__(self, ctx: QueryContext) -> Flow:
        if self.allows(ctx.client):
            return NEXT
        return ctx.answered(answers.build(ctx.data, ctx.q, Rcode.REFUSED), Action.BLOCK,
                            Reason.REFUSED_ACL, Rcode.REFUSED, 0.0)

    def allows(self, client: str) -> bool:
        allowed = self._allowed.get(client)
        if allowed is None:
            try:
                ip = ipaddress.ip_address(client.split("%", 1)[0])
            except ValueError:
                return False
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            allowed = any(ip.version == n.version and ip in n for n in self.networks)
            if len(self._allowed) > _ACL_CACHE_MAX:
                self._allowed.clear()
            self._allowed[client] = allowed
        return allowed


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
                                  answers.opt_for(q)))


class Supported:
    """Standard queries with EDNS version 0 (or none); anything else is told so."""

    def __call__(self, ctx: QueryContext) -> Flow:
        q = ctx.q
        if (q.flags >> 11) & 0xF:
            return ctx.reply(answers.build(ctx.data, q, Rcode.NOTIMP))
        if q.edns_version:
            return ctx.reply(answers.build(ctx.data, q, Rcode.BADVERS))
        return NEXT


class ClientProfile:
    """The profile of the device asking: by its DoT/DoH client id, else by its address (which
    then takes the fast path for its repeats).

    What a trusted forwarder says about the device behind it (MAC, client subnet, PROXY v2:
    dns/clienthints.py, dns/proxyproto.py, not matched yet) belongs here: the forwarder's
    address then stands for many devices, so neither ``known`` nor the fast path's binding
    may be keyed by that address alone."""

    def __init__(self, runtime: PolicyRuntime, ready: ReadyAnswers,
                 clock: Callable[[], datetime]) -> None:
        self.runtime = runtime
        self.ready = ready
        self.bound = ready.client_profiles
        self.known: dict[str, Profile] = {}  # address -> its profile
        self.clock = clock

    def __call__(self, ctx: QueryContext) -> Flow:
        client, client_id = ctx.client, ctx.client_id
        if client_id is None:
            # an address is matched once per configuration (this stage is rebuilt on reload)
            profile = self.known.get(client)
            if profile is None:
                profile = self.runtime.profile_for_client(client)
                if len(self.known) >= _ACL_CACHE_MAX:
                    self.known.clear()
                self.known[client] = profile
            if self.bound.get(client) != profile.id:  # bindings go when ready answers do
                self.ready.bind(client, profile.id)
            self.ready.saw(client, ctx.started)
        else:
            profile = self.runtime.profile_for_client(client, client_id)
        ctx.profile = profile
        ctx.now = self.clock()
        return NEXT
