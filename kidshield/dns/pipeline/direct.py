"""The direct path: the stages written out in one function for the common query, a plain
question from a known address that no special name, drill canary or forwarder hint concerns
(most cache misses). It calls the same stage objects and deciding functions as the staged
path, in the same order, so the rules stay in one place; it only skips the stages that would
have passed the query on untouched, and walks none of the per-stage loop, type checks or
coroutines. Anything unusual is handed to the staged path at the stage where it departs, with
what is settled so far (nothing is decided or counted twice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kidshield.dns.drillcanary import is_drill_name
from kidshield.dns.pipeline.admission import (
    CLASS_IN,
    AccessControl,
    ClientProfile,
    Parse,
    RateLimit,
    Supported,
)
from kidshield.dns.pipeline.check import AnswerCheck
from kidshield.dns.pipeline.context import NEXT, REPLY, QueryContext
from kidshield.dns.pipeline.finish import Answer, Log
from kidshield.dns.pipeline.forward import CacheLookup, Forwarder, Upstream
from kidshield.dns.pipeline.policy import PolicyDecision
from kidshield.dns.pipeline.safesearch import SafeSearch
from kidshield.dns.pipeline.special import DrillCanaries, SpecialNames
from kidshield.dns.wire import WireError, parse_question

if TYPE_CHECKING:
    from kidshield.dns.pipeline import Pipeline

_UNUSUAL_FLAGS = 0x7800  # a non-standard opcode: the supported stage answers NOTIMP
# the stages this path knows how to skip or call: a stage added to the pipeline must be
# added here, and to ``run`` if it can act on a plain query
_STAGES = (Parse, AccessControl, RateLimit, Supported, ClientProfile, DrillCanaries,
           SpecialNames, PolicyDecision, SafeSearch, CacheLookup, Upstream, AnswerCheck)


class DirectPath:
    def __init__(self, staged: Pipeline, *, access: AccessControl, rate: RateLimit,
                 client: ClientProfile, canaries: DrillCanaries, special: SpecialNames,
                 policy: PolicyDecision, safe: SafeSearch, forwarder: Forwarder,
                 check: AnswerCheck, answer: Answer, log: Log) -> None:
        self.staged = staged
        stages = staged.stages
        if tuple(type(stage) for stage in stages) != _STAGES:
            raise RuntimeError("the stages changed: teach the direct path (direct.py) first")
        self.at_access = stages.index(access)  # the stages after parsing
        self.at_canaries = stages.index(canaries)  # after the client/profile stage
        self.allowed = access.allowed
        self.forwarders = client.forwarders
        self.special = special
        self.forwarder = forwarder
        # bound methods, looked up once (the stages are rebuilt with the pipeline on reload)
        self.rate: Callable[[QueryContext], object] = rate.__call__
        self.client: Callable[[QueryContext], object] = client.__call__
        self.policy: Callable[[QueryContext], object] = policy.__call__
        self.safe = safe.__call__
        self.check = check.__call__
        self.failed = Upstream.failed
        self.answer = answer.__call__
        self.log = log.__call__

    async def run(self, ctx: QueryContext) -> bytes | None:
        """The reply to ``ctx``'s query, or None to send nothing: as the staged path's."""
        if ctx.client_id is not None:  # DoT/DoH: the device's id selects the profile
            return await self.staged.staged(ctx)
        try:
            q = ctx.q = parse_question(ctx.data)
        except WireError:  # the parse stage counts it and answers FORMERR
            return await self.staged.staged(ctx)
        client = ctx.client
        forwarders = self.forwarders
        if (client not in self.allowed or q.flags & _UNUSUAL_FLAGS or q.edns_version
                or q.qclass != CLASS_IN or (forwarders is not None and client in forwarders)):
            return await self.staged.staged(ctx, self.at_access)
        if self.rate(ctx) is REPLY:  # over the limit (UDP): truncated, or nothing
            return ctx.out
        self.client(ctx)
        name = q.name
        if is_drill_name(name) or self.special.handles(name):
            return await self.staged.staged(ctx, self.at_canaries)
        if self.policy(ctx) is NEXT:  # else blocked: the policy stage answered
            flow = self.safe(ctx)
            if flow is not NEXT:  # a safe-search rewrite answers with the safe host
                assert isinstance(flow, Awaitable)
                await flow
            else:
                forwarder = self.forwarder
                found = forwarder.cached(q)
                if found is None:
                    found = await forwarder.fetch(ctx.data, q)
                ctx.response, ctx.upstream, ctx.ready_for, ctx.ttl_offsets, ctx.targets = found
                if found[0] is None:
                    self.failed(ctx)
                else:
                    self.check(ctx)
        self.answer(ctx)
        self.log(ctx)
        return ctx.out
