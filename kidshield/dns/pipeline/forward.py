"""Answers from elsewhere: the answer cache, then the upstreams, with stale data (RFC 8767)
when they all fail. ``Forwarder`` outlives reloads (it owns the cache); the cache and upstream
stages, and safe search for its safe host's addresses, go through it."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from dns.rcode import Rcode

from kidshield.dns import answers
from kidshield.dns.cache import AnswerCache
from kidshield.dns.pipeline.context import NEXT, Flow, QueryContext
from kidshield.dns.ready import READY_MAX_SECONDS
from kidshield.dns.strict import AnswerShape
from kidshield.dns.udpexchange import ExchangeError
from kidshield.dns.upstream import Upstream as UpstreamServer
from kidshield.dns.upstream import UpstreamError, UpstreamPool
from kidshield.dns.wire import HEADER, Question
from kidshield.policy.reason import Action, Reason

log = logging.getLogger("kidshield.dns")

STALE_WAIT = 1.0  # RFC 8767: answer from stale data if upstreams haven't answered by then
# why our SERVFAIL, when the upstreams refused (``failed_answer``), and when none gave a
# usable answer: timeouts, network errors, unreadable answers (``no_answer``). RFC 8914
# has no closer code for an unreadable answer (24, Invalid Data, is an authoritative
# server's expired zone), so both get 23 with the same text: the log and metrics tell them
# apart (``Reason.UPSTREAM_NO_ANSWER``, ``Reason.UPSTREAM_MALFORMED``). 22 (No Reachable
# Authority: "could not reach any ... or they potentially refused to reply") also covers
# refusals mixed with silence or unreadable answers, with a text that says so
REFUSED_EDE = (answers.EDE_NO_REACHABLE_AUTHORITY, "kidshield: every upstream refused")
REFUSED_OR_NO_ANSWER_EDE = (answers.EDE_NO_REACHABLE_AUTHORITY,
                            "kidshield: upstreams refused or gave no answer")
NO_ANSWER_EDE = (answers.EDE_NETWORK_ERROR, "kidshield: no upstream answered")

# (response, where it came from, seconds it may be reused, where its TTLs are, the names
# its aliases lead to: read once, when it arrived, and why the upstreams gave no
# usable answer: None for an answer, else the reason the log gives with the response that
# says so to the client). Said here, once, where the failure is known: not inferred later
# from the other fields, which an answer of another kind may fill the same way
Forwarded = tuple[bytes, str, float, list[int] | None, Sequence[str], Reason | None]
# what the upstreams gave: a response, or only why there is none (UPSTREAM_NO_ANSWER: none
# came; UPSTREAM_MALFORMED: what came could not be read), for ``no_answer`` to say
Fetched = Forwarded | Reason


class Forwarder:
    def __init__(self, cache: AnswerCache, upstreams: UpstreamPool,
                 monotonic: Callable[[], float], serve_stale: bool = True) -> None:
        self.cache = cache
        self.upstreams = upstreams
        self.monotonic = monotonic
        self.serve_stale = serve_stale
        self._inflight: dict[bytes, asyncio.Future[Fetched]] = {}  # cache key -> its answer
        self._tasks: set[asyncio.Task[None]] = set()  # what ``begin`` left to a coroutine

    def cached(self, q: Question) -> Forwarded | None:
        found = self.cache.get(q.key, self.monotonic())
        if found is None:
            return None
        response, remaining, entry = found
        return (response, "cache", min(remaining, READY_MAX_SECONDS), entry.offsets,
                entry.targets, None)

    async def fetch(self, data: bytes, q: Question) -> Fetched:
        """Ask the upstreams for ``q`` (``data``: the query it came in); stale data when they
        all fail, or have not answered within STALE_WAIT. Queries for the same question (same
        cache key) that arrive while one is out share its answer: one upstream query, not
        one per client. The first asker does the work itself (no task of its own)."""
        waiting = self._inflight.get(q.key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        shared: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        self._inflight[q.key] = shared
        result: Fetched = Reason.UPSTREAM_NO_ANSWER
        try:
            result = await self._fetch(upstream_query(data, q), q)
        finally:
            del self._inflight[q.key]
            shared.set_result(result)  # a cancelled first asker leaves the others SERVFAIL
        return result

    def begin(self, data: bytes, q: Question, done: Callable[[Fetched], None]) -> bool:
        """``fetch`` without a coroutine for the common miss: the question goes to the first
        upstream, if a healthy UDP one, and ``done`` is called with the answer from the
        socket's reader, once (or from a task, when that upstream fails, truncates, times out
        or refuses and the others are asked in turn, as ``fetch`` would). False when that
        cannot be: the question is already out (its askers share one answer), stale data is
        there (RFC 8767's wait needs a coroutine), or the first upstream is not UDP; ask
        ``fetch`` then."""
        key = q.key
        if key in self._inflight or (self.serve_stale
                                     and self.cache.has_stale(key, self.monotonic())):
            return False
        upstream = self.upstreams.first_udp()
        if upstream is None:
            return False
        packet = upstream_query(data, q)
        shared: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        try:
            upstream.exchange().send(packet, self.upstreams.timeout, partial(
                self._answered, q, packet, upstream, time.monotonic(), shared, done), q.end)
        except ExchangeError:  # no socket: the coroutine says why, and asks the others
            return False
        self._inflight[key] = shared
        return True

    def _answered(self, q: Question, packet: bytes, upstream: UpstreamServer, started: float,
                  shared: asyncio.Future[Fetched], done: Callable[[Fetched], None],
                  answer: bytes | None, error: ExchangeError | None) -> None:
        """The first upstream's answer to a question ``begin`` sent (as ``UpstreamPool``
        takes one), or why there is none: the others are asked by a task then."""
        try:
            self._first(q, packet, upstream, started, shared, done, answer, error)
        except Exception:  # settled all the same: its other askers must not wait for ever
            log.exception("error handling the upstream answer for %s", q.name)
            self._settle(q, shared, done, Reason.UPSTREAM_NO_ANSWER)

    def _first(self, q: Question, packet: bytes, upstream: UpstreamServer, started: float,
               shared: asyncio.Future[Fetched], done: Callable[[Fetched], None],
               answer: bytes | None, error: ExchangeError | None) -> None:
        over_tcp = servfail = None
        malformed = silent = False
        if answer is None:
            failure = upstream.failed(f"{upstream.address}:{upstream.port}: {error}")
            silent = True
        elif len(answer) > 2 and answer[2] & 0x02:  # truncated: ask again over TCP
            failure, over_tcp = "", upstream
        else:
            try:
                response, shape = upstream.read(packet, answer, q.end, True)
            except UpstreamError as exc:
                failure = upstream.failed(exc)
                malformed = exc.malformed
                silent = not malformed
            else:
                failure = upstream.answered(response, started)
                if not failure:
                    ttl = self._cache_answer(q, response, shape)
                    self._settle(q, shared, done, (
                        response, upstream.label, min(float(ttl), READY_MAX_SECONDS),
                        shape.ttl_offsets, shape.targets, None))
                    return
                # SERVFAIL or REFUSED: passed on (REFUSED as our SERVFAIL) if no other answers
                servfail = (response, shape, upstream)
        task = asyncio.ensure_future(self._rest(q, packet, upstream, over_tcp,
                                                [failure] if failure else [], servfail,
                                                malformed, silent, shared, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _rest(self, q: Question, packet: bytes, first: UpstreamServer,
                    over_tcp: UpstreamServer | None, errors: list[str],
                    servfail: tuple[bytes, AnswerShape, UpstreamServer] | None,
                    malformed: bool, silent: bool, shared: asyncio.Future[Fetched],
                    done: Callable[[Fetched], None]) -> None:
        """After the first upstream failed: the others in turn (that one over TCP first
        when its answer was truncated), as ``_fetch`` asks them."""
        result: Fetched = Reason.UPSTREAM_NO_ANSWER
        try:
            order = [first] if over_tcp is not None else []
            order += [u for u in self.upstreams.order() if u is not first]
            response, shape, upstream = await self.upstreams.resolve(
                packet, order, errors, over_tcp, q.end, servfail, malformed, silent)
        except (UpstreamError, OSError) as exc:
            log.warning("all upstreams failed for %s: %s", q.name, exc)
            result = failed_answer(exc, q)
        else:
            ttl = self._cache_answer(q, response, shape)
            result = (response, upstream.label, min(float(ttl), READY_MAX_SECONDS),
                      shape.ttl_offsets, shape.targets, None)
        finally:
            self._settle(q, shared, done, result)

    def _settle(self, q: Question, shared: asyncio.Future[Fetched],
                done: Callable[[Fetched], None], result: Fetched) -> None:
        """The question's answer (or none) to its askers, once."""
        if self._inflight.get(q.key) is shared:
            del self._inflight[q.key]
        if shared.done():
            return
        shared.set_result(result)
        done(result)

    async def _fetch(self, data: bytes, q: Question) -> Fetched:
        stale = self.cache.get_stale(q.key, self.monotonic()) if self.serve_stale else None
        try:
            if stale is None:  # the common case: no task of its own, the upstream or nothing
                response, shape, upstream = await self.upstreams.resolve(data, question_end=q.end)
            else:
                task = asyncio.ensure_future(self.upstreams.resolve(data, question_end=q.end))
                done, _ = await asyncio.wait({task}, timeout=STALE_WAIT)
                if not done:
                    task.add_done_callback(lambda t: self._store(q, t))
                    return self._stale(stale)
                response, shape, upstream = await task
        except (UpstreamError, OSError) as exc:
            log.warning("all upstreams failed for %s: %s", q.name, exc)
            if stale is not None:
                return self._stale(stale)
            return failed_answer(exc, q)
        ttl = self._cache_answer(q, response, shape)
        return (response, upstream.label, min(float(ttl), READY_MAX_SECONDS), shape.ttl_offsets,
                shape.targets, None)

    @staticmethod
    def _stale(stale: tuple[bytes, Any]) -> Forwarded:
        response, entry = stale
        return response, "stale", 0.0, entry.offsets, entry.targets, None

    async def forward(self, data: bytes, q: Question) -> Fetched:
        return self.cached(q) or await self.fetch(data, q)

    def _store(self, q: Question, task: asyncio.Future[tuple[bytes, AnswerShape, Any]]) -> None:
        if not task.cancelled() and task.exception() is None:
            response, shape, _upstream = task.result()
            self._cache_answer(q, response, shape)

    def _cache_answer(self, q: Question, response: bytes, shape: AnswerShape) -> int:
        rcode = response[3] & 0xF
        if rcode not in (Rcode.NOERROR, Rcode.NXDOMAIN):
            return 0  # SERVFAIL and friends are not cached
        # RFC 2308: a negative answer is kept for min(SOA TTL, SOA MINIMUM), not without SOA
        negative = rcode == Rcode.NXDOMAIN or ancount(response) == 0
        return self.cache.put(q.key, response, self.monotonic(), shape, negative)


class CacheLookup:
    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    def __call__(self, ctx: QueryContext) -> Flow:
        found = self.forwarder.cached(ctx.q)
        if found is not None:
            (ctx.response, ctx.upstream, ctx.ready_for, ctx.ttl_offsets, ctx.targets,
             ctx.failure) = found
        return NEXT


class Upstream:
    """Asks the upstreams when the cache had nothing; SERVFAIL when nothing answers."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    def __call__(self, ctx: QueryContext) -> Flow | Awaitable[Flow]:
        if ctx.response is not None:
            return NEXT
        return self._ask(ctx)

    async def _ask(self, ctx: QueryContext) -> Flow:
        found = await self.forwarder.fetch(ctx.data, ctx.q)
        if not isinstance(found, tuple):  # only why there is none
            return self.failed(ctx, found)
        (ctx.response, ctx.upstream, ctx.ready_for, ctx.ttl_offsets, ctx.targets,
         ctx.failure) = found
        return NEXT

    @staticmethod
    def failed(ctx: QueryContext, reason: Reason) -> Flow:
        """No upstream gave a response to pass on and nothing stale was there: ``no_answer``,
        logged and counted with the reason the forwarder gave: ``upstream_no_answer`` (none
        came) or ``upstream_malformed`` (what came could not be read)."""
        assert ctx.decision is not None
        return ctx.answered(no_answer(ctx.data, ctx.q), Action.ALLOW, reason, Rcode.SERVFAIL,
                            0.0, ctx.decision)


def no_answer(data: bytes, q: Question, records: list[bytes] | None = None,
              count: int | None = None) -> bytes:
    """The reply when no upstream gave a response to pass on (none came, or none could be
    read): SERVFAIL, with EDE 23 (Network Error) for a client that uses EDNS. The Upstream
    stage's has no records; safe search's has its CNAME to the safe host (``records``,
    ``count`` of them: ``answers.build``)."""
    return answers.build(data, q, Rcode.SERVFAIL, records, answer_count=count,
                         ede=NO_ANSWER_EDE)


def failed_answer(exc: Exception, q: Question) -> Fetched:
    """When every upstream failed: the SERVFAIL one of them answered, if any, so a client
    that uses EDNS learns why from its extended errors (RFC 8914); it is not kept. When none
    answered SERVFAIL but one refused, our SERVFAIL instead (a REFUSED from us would say we
    refuse the client): EDE 22, No Reachable Authority ("could not reach any ... or they
    potentially refused to reply"), then the extended errors the refusing upstream gave (18
    Prohibited, 20 Not Authoritative), and ``upstream_refused`` in the log, naming it, also
    when the others were silent or unreadable: a refusal is the one failure that names its
    upstream and says why (its ACL or policy), where silence names nobody; the EDE's text
    says whether every upstream refused. When none answered at all, only the reason:
    UPSTREAM_MALFORMED when an answer came that could not be used, else
    UPSTREAM_NO_ANSWER. The reason is said with the response (``Forwarded``'s last field)."""
    if not isinstance(exc, UpstreamError):
        return Reason.UPSTREAM_NO_ANSWER
    servfail = exc.servfail
    if servfail is None:
        return Reason.UPSTREAM_MALFORMED if exc.malformed else Reason.UPSTREAM_NO_ANSWER
    response, shape, upstream = servfail
    if response[3] & 0xF == Rcode.REFUSED:
        # the question as the upstream repeated it: the answer stage puts the client's back
        ede = REFUSED_OR_NO_ANSWER_EDE if exc.silent or exc.malformed else REFUSED_EDE
        ours = answers.build(response, q, Rcode.SERVFAIL, ede=ede, options=shape.ede)
        return ours, upstream.label, 0.0, None, (), Reason.UPSTREAM_REFUSED
    return (response, upstream.label, 0.0, shape.ttl_offsets, shape.targets,
            Reason.UPSTREAM_SERVFAIL)


def upstream_query(data: bytes, q: Question) -> bytes:
    """What the upstreams are asked: the question with the client's RD, CD and AD bits and,
    when the client used EDNS, our own OPT record (its DO bit). The client's EDNS options stay
    here: its subnet (RFC 7871) is not sent on, nor its cookie (RFC 7873), whose answer would
    be cached for other clients. The upstream client sets a random ID."""
    flags = q.flags & 0x0130
    header = struct.pack("!6H", 0, flags, 1, 0, 0, 1 if q.edns else 0)
    return header + data[HEADER:q.end] + (answers.opt_record(q.do) if q.edns else b"")


def ancount(response: bytes) -> int:
    return (response[6] << 8) | response[7]

