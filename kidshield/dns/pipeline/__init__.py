"""The slow path: ordered stages over one ``QueryContext``.

    parse -> access control -> rate limit -> supported (opcode, EDNS version)
    -> client/profile -> drill canaries -> special names -> policy decision -> safe search -> cache
    -> upstream -> answer check (CNAME chain) => answer -> log

A stage returns ``Flow.NEXT`` (go on), ``Flow.ANSWER`` (the response is decided: skip to the
answer and log stages) or ``Flow.REPLY`` (the reply is complete, or nothing is sent: stop).
Each concern sits in one stage, so a change to one (the cache key, client matching, in-flight
coalescing, how a chain is checked) is a change to that stage alone. Repeats of an answered
question never come here: ``Resolver.answer_fast`` serves them from ready answers, and the
common query takes ``DirectPath`` (direct.py): the same stages, called in one function.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from kidshield.dns.drillcanary import CanaryLog
from kidshield.dns.pipeline.admission import (
    REFUSED_QPS,
    AccessControl,
    ClientProfile,
    Parse,
    QueryStats,
    RateLimit,
    Supported,
)
from kidshield.dns.pipeline.blocking import BlockAnswers
from kidshield.dns.pipeline.check import AnswerCheck
from kidshield.dns.pipeline.context import NEXT, REPLY, Finish, Flow, QueryContext, Stage
from kidshield.dns.pipeline.direct import DirectPath
from kidshield.dns.pipeline.finish import Answer, Log
from kidshield.dns.pipeline.forward import CacheLookup, Forwarder, Upstream
from kidshield.dns.pipeline.policy import Decisions, PolicyDecision
from kidshield.dns.pipeline.safesearch import SafeSearch
from kidshield.dns.pipeline.special import DrillCanaries, SpecialNames
from kidshield.dns.ratelimit import RateLimiter, Verdict
from kidshield.dns.ready import LogItem, ReadyAnswers
from kidshield.runtime import PolicyRuntime

__all__ = ["Decisions", "Flow", "Forwarder", "Pipeline", "QueryContext", "QueryStats",
           "build_pipeline"]


class Pipeline:
    def __init__(self, stages: Sequence[Stage], finish: Sequence[Finish]) -> None:
        self.stages = tuple(stages)
        self.finish = tuple(finish)
        # bound methods: Python 3.11 calls them on a fast path that an object's __call__
        # misses (about 0.6 µs per query over all stages)
        self._calls = tuple(stage.__call__ for stage in self.stages)
        self._finish_calls = tuple(step.__call__ for step in self.finish)
        # the reply to a query: the staged path, or a direct path in front of it
        self.run: Callable[[QueryContext], Coroutine[Any, Any, bytes | None]] = self.staged
        # the same for a UDP listener: the reply through a callback, or a coroutine to run
        self.start: Callable[[QueryContext, Callable[[bytes | None], None]],
                             Coroutine[Any, Any, bytes | None] | None] = self._start_staged

    def _start_staged(self, ctx: QueryContext,
                      _reply: Callable[[bytes | None], None]) -> Coroutine[Any, Any, bytes | None]:
        return self.staged(ctx)

    async def staged(self, ctx: QueryContext, start: int = 0) -> bytes | None:
        """The reply to ``ctx``'s query, or None to send nothing, from stage ``start`` on
        (the earlier ones have passed it on)."""
        for stage in self._calls[start:] if start else self._calls:
            flow = stage(ctx)
            if flow is NEXT:
                continue
            if not isinstance(flow, Flow):
                flow = await flow
                if flow is NEXT:
                    continue
            if flow is REPLY:
                return ctx.out
            break
        else:  # the answer check answers whatever reached it
            raise RuntimeError(f"no stage answered the query for {ctx.q.name}")
        for finish in self._finish_calls:
            finish(ctx)
        return ctx.out


def build_pipeline(
    runtime: PolicyRuntime,
    *,
    decisions: Decisions,
    forwarder: Forwarder,
    limiter: RateLimiter,
    ready: ReadyAnswers,
    stats: QueryStats,
    log_items: list[LogItem],
    held_back: Callable[[str, str, Verdict], None],
    clock: Callable[[], datetime],
    monotonic: Callable[[], float],
    timestamp: Callable[[], float],
    canaries: CanaryLog,
) -> Pipeline:
    """The stages for ``runtime``'s configuration, sharing the state that outlives a reload
    (ready answers, the answer cache, rate-limit buckets, counts, the pending log, drill
    canaries)."""
    cfg = runtime.config.dns
    # without the local CA, an HTTPS-only name's block page can never show: the browser gets
    # no address and stops at once, instead of a certificate error it cannot pass
    block = BlockAnswers(cfg, https_fail_fast=not runtime.config.web.local_ca)
    access = AccessControl(cfg.allow_networks, runtime.clients.is_secret,
                           RateLimiter(min(cfg.rate_limit_qps, REFUSED_QPS))
                           if cfg.rate_limit_qps else None, monotonic, stats)
    rate = RateLimit(limiter, monotonic, held_back, ready.client_profiles)
    client = ClientProfile(runtime, ready, clock)
    drill = DrillCanaries(canaries)
    special = SpecialNames(block.v4, block.v6)
    policy = PolicyDecision(decisions, block)
    safe = SafeSearch(forwarder)
    check = AnswerCheck(decisions, block)
    answer, log_item = Answer(ready, monotonic), Log(log_items, timestamp)
    pipeline = Pipeline(
        stages=[Parse(stats), access, rate, Supported(), client, drill, special, policy, safe,
                CacheLookup(forwarder), Upstream(forwarder), check],
        finish=[answer, log_item],
    )
    direct = DirectPath(pipeline, access=access, rate=rate, client=client, canaries=drill,
                        special=special, policy=policy, safe=safe, forwarder=forwarder,
                        check=check, answer=answer, log=log_item)
    pipeline.run, pipeline.start = direct.run, direct.start
    return pipeline
