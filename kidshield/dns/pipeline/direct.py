"""The direct path: the stages written out in one function for the common query, a plain
question from a known address that no special name, drill canary or forwarder hint concerns
(most cache misses). It calls the same stage objects and deciding functions as the staged
path, in the same order, so the rules stay in one place; it only skips the stages that would
have passed the query on untouched, and walks none of the per-stage loop, type checks or
coroutines. Anything unusual is handed to the staged path at the stage where it departs, with
what is settled so far (nothing is decided or counted twice).

``run`` is a coroutine (TCP, DoT, DoH). ``start`` serves the UDP listener without one: a miss
that the first UDP upstream answers is completed in the upstream socket's callback
(``Forwarder.begin``), and only what must wait otherwise comes back as a coroutine.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

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
from kidshield.dns.pipeline.context import NEXT, REPLY, Flow, QueryContext
from kidshield.dns.pipeline.finish import Answer, Log
from kidshield.dns.pipeline.forward import CacheLookup, Fetched, Forwarder, Upstream
from kidshield.dns.pipeline.policy import PolicyDecision
from kidshield.dns.pipeline.safesearch import SafeSearch
from kidshield.dns.pipeline.special import DrillCanaries, SpecialNames
from kidshield.dns.wire import WireError, parse_question

if TYPE_CHECKING:
    from kidshield.dns.pipeline import Pipeline

log = logging.getLogger("kidshield.dns")

# what DirectPath._admit says of a query besides a stage's index (>= 0) or an awaitable
FORWARD, REPLIED, DECIDED = -1, -2, -3
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

    def _admit(self, ctx: QueryContext) -> int | Awaitable[Flow]:
        """The stages before the forwarder: FORWARD (ask the cache, then the upstreams),
        REPLIED (``ctx.out`` is the reply as it is), DECIDED (answer and log it), a stage's
        index (the staged path takes the query on from there), or safe search's awaitable
        (await it, then answer and log)."""
        if ctx.client_id is not None:  # DoT/DoH: the device's id selects the profile
            return 0
        try:
            q = ctx.q = parse_question(ctx.data)
        except WireError:  # the parse stage counts it and answers FORMERR
            return 0
        client = ctx.client
        forwarders = self.forwarders
        if (client not in self.allowed or q.flags & _UNUSUAL_FLAGS or q.edns_version
                or q.qclass != CLASS_IN or (forwarders is not None and client in forwarders)):
            return self.at_access
        if self.rate(ctx) is REPLY:  # over the limit (UDP): truncated, or nothing
            return REPLIED
        self.client(ctx)
        name = q.name
        if is_drill_name(name) or self.special.handles(name):
            return self.at_canaries
        if self.policy(ctx) is not NEXT:  # blocked: the policy stage answered
            return DECIDED
        flow = self.safe(ctx)
        if flow is not NEXT:  # a safe-search rewrite answers with the safe host
            assert isinstance(flow, Awaitable)
            return flow
        return FORWARD

    def _take(self, ctx: QueryContext, found: Fetched) -> None:
        """The forwarder's answer, checked against the policy (or why there is none:
        SERVFAIL)."""
        if isinstance(found, tuple):  # (compiled, a type check; ``Reason``'s costs a call)
            (ctx.response, ctx.upstream, ctx.ready_for, ctx.ttl_offsets, ctx.targets,
             ctx.failure) = found
            self.check(ctx)
        else:
            self.failed(ctx, found)

    async def run(self, ctx: QueryContext) -> bytes | None:
        """The reply to ``ctx``'s query, or None to send nothing: as the staged path's."""
        step = self._admit(ctx)
        if step == FORWARD:
            found = self.forwarder.cached(ctx.q)
            if found is None:
                return await self._forward(ctx)
            self._take(ctx, found)
        elif step == REPLIED:
            return ctx.out
        elif isinstance(step, int):
            if step >= 0:
                return await self.staged.staged(ctx, step)
        else:
            return await self._finish(ctx, step)
        self.answer(ctx)
        self.log(ctx)
        return ctx.out

    def start(self, ctx: QueryContext, reply: Callable[[bytes | None], None],
              ) -> Coroutine[Any, Any, bytes | None] | None:
        """``run`` for a UDP listener, without a coroutine for the common miss: ``reply``
        gets the reply (None: send nothing), now or when the upstream's answer arrives
        (``Forwarder.begin``: the socket's reader completes the query). Returns None then;
        else a coroutine whose result is the reply (the caller runs it)."""
        step = self._admit(ctx)
        if step == FORWARD:
            forwarder = self.forwarder
            found = forwarder.cached(ctx.q)
            if found is None:
                if forwarder.begin(ctx.data, ctx.q, partial(self._forwarded, ctx, reply)):
                    return None
                return self._forward(ctx)
            self._take(ctx, found)
        elif step == REPLIED:
            reply(ctx.out)
            return None
        elif isinstance(step, int):
            if step >= 0:
                return self.staged.staged(ctx, step)
        else:
            return self._finish(ctx, step)
        self.answer(ctx)
        self.log(ctx)
        reply(ctx.out)
        return None

    def _forwarded(self, ctx: QueryContext, reply: Callable[[bytes | None], None],
                   found: Fetched) -> None:
        try:
            self._take(ctx, found)
            self.answer(ctx)
            self.log(ctx)
        except Exception:  # as a task's would be: logged, nothing sent
            log.exception("error answering a UDP query from %s", ctx.client)
            return
        reply(ctx.out)

    async def _forward(self, ctx: QueryContext) -> bytes | None:
        self._take(ctx, await self.forwarder.fetch(ctx.data, ctx.q))
        self.answer(ctx)
        self.log(ctx)
        return ctx.out

    async def _finish(self, ctx: QueryContext, flow: Awaitable[Flow]) -> bytes | None:
        await flow
        self.answer(ctx)
        self.log(ctx)
        return ctx.out
