"""The DNS request path. ``answer_fast`` serves ready answers from raw bytes; everything else
walks the stages in ``dns/pipeline/`` (parse, access control, rate limit, client/profile,
special names, policy, safe search, cache, upstream, answer check, answer, log).

Collaborators are passed in: the policy ``runtime``, the ``upstreams``, the wall ``clock``
(schedules, budgets), ``state_for(profile, now)`` (grants, usage, pauses), ``timestamp`` (unix
time by the same clock, cheap, for log rows) and ``monotonic`` (TTLs, rate limits, expiry).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from dns.rcode import Rcode

from kidshield.dns import answers, drillcanary
from kidshield.dns.cache import AnswerCache
from kidshield.dns.pipeline import (
    Decisions,
    Forwarder,
    Pipeline,
    QueryContext,
    QueryStats,
    build_pipeline,
)
from kidshield.dns.proxied import ProxyGate
from kidshield.dns.ratelimit import DROP, OK, RateLimiter, Verdict
from kidshield.dns.ready import (
    READY_PER_MB,
    LogItem,
    LogTemplate,
    ReadyAnswer,
    ReadyAnswers,
    aged_tail,
)
from kidshield.dns.upstream import UpstreamPool
from kidshield.dns.wire import HEADER, KEY_DO, KEY_EDNS, join_answer, truncate
from kidshield.policy.model import Profile
from kidshield.policy.reason import Action, Reason
from kidshield.policy.state import ProfileState
from kidshield.runtime import PolicyRuntime


class Resolver:
    def __init__(
        self,
        runtime: PolicyRuntime,
        upstreams: UpstreamPool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        state_for: Callable[[Profile, datetime], ProfileState] | None = None,
        timestamp: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        # unix time by the same clock, cheap: for log rows and ready-answer expiry
        self.timestamp = timestamp or (lambda: clock().timestamp())
        self.monotonic = monotonic
        # With the system clock, a ready answer's monotonic expiry comes before its policy
        # expiry (it is derived from it), so only a clock step could make the second one
        # matter, and the service drops ready answers when the clock steps. A clock that
        # moves by itself (tests, `check --at`) is asked on every answer.
        self._clock_check = timestamp is not time.time
        self._state_for = state_for or (lambda _p, _n: ProfileState())
        dns_cfg = runtime.config.dns
        self.cache = AnswerCache(dns_cfg.cache_size, dns_cfg.cache_min_ttl, dns_cfg.cache_max_ttl)
        self._forwarder = Forwarder(self.cache, upstreams, monotonic)
        self.limiter = RateLimiter(dns_cfg.rate_limit_qps)
        # DNS over TLS: a connection over its rate waits (nothing is spoofed on a stream)
        self.stream_limiter = RateLimiter(dns_cfg.rate_limit_qps)
        self.pending_log: list[LogItem] = []
        # Fast-path answers are counted on their ready answer; one is listed here when its
        # count leaves zero, and the log pump takes the list every few milliseconds.
        self.touched: list[ReadyAnswer] = []
        self._touch = self.touched.append
        self.service_hits: set[tuple[str, str]] = set()  # (profile, service) used
        self._ready = ReadyAnswers()
        self.client_profiles = self._ready.client_profiles  # address -> profile (ACL passed)
        self.clients_seen = self._ready.seen  # address -> time.perf_counter() last seen
        self._client_ready = self._ready.by_client  # address -> its profile's ready answers
        self._stats = QueryStats()
        self.rate_limited = self._stats.rate_limited  # answers held back, by verdict
        self._limited_templates: dict[tuple[str, Verdict], LogTemplate] = {}
        self.canaries = drillcanary.CanaryLog(monotonic)  # `kidshield drill`: is it us?
        self.proxy = ProxyGate(monotonic)  # the listeners unwrap PROXY v2 with it
        self._decisions: Decisions  # per runtime, like the stages (configure builds both)
        self.pipeline: Pipeline
        self.configure(runtime)

    @property
    def upstreams(self) -> UpstreamPool:
        return self._forwarder.upstreams

    @upstreams.setter
    def upstreams(self, pool: UpstreamPool) -> None:
        self._forwarder.upstreams = pool

    @property
    def malformed(self) -> int:
        """Queries that could not be parsed."""
        return self._stats.malformed

    # -- configuration ------------------------------------------------------------------
    def configure(self, runtime: PolicyRuntime) -> None:
        """Swap in a new runtime (reload): policy answers are recomputed, the answer cache
        of upstream data stays."""
        cfg = runtime.config.dns
        self.runtime = runtime
        self._forwarder.serve_stale = cfg.serve_stale
        self.cache.min_ttl, self.cache.max_ttl = cfg.cache_min_ttl, cfg.cache_max_ttl
        if cfg.cache_size < self.cache.max_entries:
            self.cache.clear()  # smaller (or off): start afresh rather than evict one by one
        self.cache.max_entries = cfg.cache_size
        self.cache.max_bytes = cfg.cache_mb << 20
        self.cache.trim()  # a smaller bound applies at once
        self.limiter.qps = cfg.rate_limit_qps
        self.limiter.burst = max(cfg.rate_limit_qps * 2, 1)
        self._limiting = cfg.rate_limit_qps > 0
        self._count_clients = not runtime.config.logging.anonymize_clients
        # per-name state beside the answer cache, bounded by the same setting
        self._ready.max_entries = max(1024, cfg.cache_mb * READY_PER_MB)
        self._decisions = Decisions(runtime.engine, self._state_for, self._ready.max_entries)
        self.pipeline = build_pipeline(
            runtime, decisions=self._decisions, forwarder=self._forwarder,
            limiter=self.limiter, ready=self._ready, stats=self._stats,
            log_items=self.pending_log, held_back=self._held_back, clock=self.clock,
            monotonic=self.monotonic, timestamp=self.timestamp,
            canaries=self.canaries)
        self.stream_limiter.qps, self.stream_limiter.burst = self.limiter.qps, self.limiter.burst
        self.proxy.configure(cfg.proxy_protocol_from)
        self.invalidate()

    def invalidate(self, profile: str | None = None) -> None:
        """Forget ready answers and decisions (all, or one profile's after its state changed)."""
        self._ready.forget(profile)
        self._decisions.forget(profile)

    # -- fast path ----------------------------------------------------------------------
    def answer_fast(self, data: bytes, client: str, udp: bool) -> bytes | None:
        """A ready answer for ``data``, None to take the slow path, or b"" (UDP only) when
        the rate limiter drops the query: send nothing."""
        ready = self._client_ready.get(client)
        if ready is None:
            return None
        # This runs for every answered query, so the steps of wire.question_key and
        # wire.join_answer are written out here (a call costs as much as a step).
        # QR, a non-standard opcode or not exactly one question: the slow path answers.
        if len(data) < 17 or data[4] or data[5] != 1:
            return None
        flags = data[2]
        if flags & 0xF8 or data[3] & 0x10:  # CD: its own cache key, on the slow path
            return None
        zero = data.find(0, HEADER)
        if zero < 0:
            return None
        qend = zero + 5
        edns = data[10] or data[11]  # additional records: EDNS, its OPT after the question
        if edns:
            if (len(data) < qend + 11 or data[qend] or data[qend + 1] or data[qend + 2] != 41
                    or data[qend + 6]):  # EDNS version 1+: the slow path says BADVERS
                return None
            key = data[HEADER:qend] + (KEY_DO if data[qend + 7] & 0x80 else KEY_EDNS)
        else:
            key = data[HEADER:qend]  # KEY_PLAIN is empty
        entry = ready.get(key)
        if entry is None:
            # stored under the lower-cased name: a query with capitals (0x20 randomisation)
            key = data[HEADER:zero].lower() + key[zero - HEADER:]
            entry = ready.get(key)
            if entry is None:
                return None
        monotonic = self.monotonic  # a local: calling an instance attribute is slower
        now = monotonic()
        if now >= entry.expires or (self._clock_check and self.timestamp() >= entry.policy_until):
            return None
        if now >= entry.next_ageing and entry.ttl_offsets:
            entry.tail = aged_tail(entry, now)
            entry.next_ageing = now + 1.0
        if udp and (entry.size > 512 or self._limiting):
            # the client's buffer: 512 bytes, or its EDNS UDP size (the OPT record is there)
            if entry.size > 512 and entry.size > (
                    max(512, (data[qend + 3] << 8) | data[qend + 4]) if edns else 512):
                return None  # the slow path truncates it
            # the limiter decides here, once: asking it again on the slow path would count
            # the query twice and turn every "slip" into a "drop"
            if self._limiting:
                verdict = self.limiter.allow(client, now)
                if verdict is not OK:
                    return self._limited_fast(data, client, verdict, entry, qend, bool(edns))
        if not entry.count:
            self._touch(entry)
        entry.count += 1
        if self._count_clients:
            per_client = entry.per_client
            if per_client is None:
                per_client = entry.per_client = {}
            per_client[client] = per_client.get(client, 0) + 1
        if entry.usage is not None:
            self.service_hits.add(entry.usage)
        if flags == 0x01:  # RD set, nothing else: the answer's header as stored
            out: bytes = data[:2] + entry.head + data[HEADER:qend] + entry.tail
            return out
        return join_answer(data, entry.head, entry.tail, qend)

    def _limited_fast(self, data: bytes, client: str, verdict: Verdict, entry: ReadyAnswer,
                      qend: int, edns: bool) -> bytes:
        self._held_back(client, entry.template.profile, verdict)
        if verdict is DROP:
            return b""
        opt = answers.slip_opt(bool(data[qend + 7] & 0x80)) if edns else b""
        return truncate(join_answer(data, entry.head, entry.tail, qend), qend, opt)

    def _held_back(self, client: str, pid: str, verdict: Verdict) -> None:
        """Count and log answers the rate limiter held back. A flood from one device shares
        one template, so the log keeps one row per device and minute, with a count."""
        self.rate_limited[verdict] = self.rate_limited.get(verdict, 0) + 1
        template = self._limited_templates.get((pid, verdict))
        if template is None:
            template = self._limited_templates[(pid, verdict)] = LogTemplate(
                pid, "(rate limited)", "-", Action.BLOCK, Reason.RATE_LIMITED, verdict.value,
                None, None, None, Rcode.NOERROR)
        self.pending_log.append((self.timestamp(), client, template, 0.0))

    # -- slow path ----------------------------------------------------------------------
    def resolve(
        self, data: bytes, client: str, udp: bool, client_id: str | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        """The reply to a query the fast path did not answer (None: send nothing). The
        pipeline's coroutine itself, not one more frame around it."""
        return self.pipeline.run(QueryContext(data, client, udp, client_id, time.perf_counter()))

    def start(self, data: bytes, client: str,
              reply: Callable[[bytes | None], None]) -> Coroutine[Any, Any, bytes | None] | None:
        """``resolve`` for a UDP query: ``reply`` gets the reply (None: send nothing), now or
        from the upstream socket's reader, and None is returned; or a coroutine whose result
        is the reply, for the caller to run."""
        return self.pipeline.start(QueryContext(data, client, True, None, time.perf_counter()),
                                   reply)

    def ready_count(self) -> int:
        return len(self._ready)

    def decision_count(self) -> int:
        return len(self._decisions)

    def take_log(self) -> tuple[list[LogItem], list[ReadyAnswer], set[tuple[str, str]]]:
        """What was answered since the last call: slow-path items, the ready answers that
        answered (their counts say how often, ``RowGrouper`` resets them) and the (profile,
        service) pairs those used."""
        # copied and cleared: the fast path and the log stage hold these lists
        items = self.pending_log[:]
        self.pending_log.clear()
        touched = self.touched[:]
        self.touched.clear()
        services, self.service_hits = self.service_hits, set()
        return items, touched, services
