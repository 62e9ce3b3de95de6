"""The last two stages, for every query that got an answer: the answer (kept as a ready
answer when it may be reused, addressed to this query, truncated to the client's UDP size)
and its log item (the query never waits on disk: the log pump takes the items)."""

from __future__ import annotations

import time
from collections.abc import Callable

from kidshield.dns import answers
from kidshield.dns.pipeline.context import QueryContext
from kidshield.dns.ready import LogItem, ReadyAnswers
from kidshield.dns.wire import Question, opt_of, patch, truncate


class Answer:
    def __init__(self, ready: ReadyAnswers, monotonic: Callable[[], float]) -> None:
        self.ready = ready
        self.monotonic = monotonic

    def __call__(self, ctx: QueryContext) -> None:
        response, template, q = ctx.response, ctx.template, ctx.q
        assert response is not None and template is not None
        if ctx.ready_for > 0 and ctx.profile is not None:
            # valid for ready_for seconds from the time the policy decided it
            self.ready.store(ctx.profile.id, q.key, q.end, response, template, ctx.ready_for,
                             ctx.now.timestamp(), self.monotonic(), ctx.ttl_offsets)
        out = patch(response, ctx.data, q.end)
        if ctx.udp and len(out) > q.udp_size:
            out = truncate(out, q.end, self._opt(out, q))
        ctx.out = out

    @staticmethod
    def _opt(out: bytes, q: Question) -> bytes:
        """The OPT record for ``out`` cut short: its own, with the extended errors that say
        why (a block's 15/17, an upstream's), when the reply still fits the client's UDP
        size (RFC 6891 7: keep OPT in a truncated reply); else ours without options."""
        if not q.edns:
            return b""
        opt = opt_of(out)
        if opt and q.end + len(opt) <= q.udp_size:
            return opt
        return answers.opt_for(q)


class Log:
    def __init__(self, items: list[LogItem], timestamp: Callable[[], float]) -> None:
        self.items = items
        self.timestamp = timestamp

    def __call__(self, ctx: QueryContext) -> None:
        assert ctx.template is not None
        latency = (time.perf_counter() - ctx.started) * 1000
        self.items.append((self.timestamp(), ctx.client, ctx.template, latency))
