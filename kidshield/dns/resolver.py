"""The DNS request path. ``answer_fast`` serves ready answers from raw bytes; everything else
walks the pipeline in ``resolve``:

    parse -> access control -> rate limit -> special names -> policy -> cache -> upstream
    -> answer check (every CNAME in the chain) -> ready-answer store -> log
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset

from kidshield.dns import answers, drillcanary
from kidshield.dns.cache import AnswerCache
from kidshield.dns.ratelimit import RateLimiter
from kidshield.dns.upstream import UpstreamError, UpstreamPool
from kidshield.dns.wire import (
    HEADER,
    KEY_DO,
    KEY_EDNS,
    QTYPE_A,
    QTYPE_AAAA,
    QTYPE_HTTPS,
    QTYPE_SVCB,
    TYPE_NAMES,
    Question,
    WireError,
    join_answer,
    min_ttl_offsets,
    parse_question,
    patch,
    set_ttls,
    split_answer,
    truncate,
    ttls_at,
)
from kidshield.policy.model import Profile, Query
from kidshield.policy.reason import Action, Decision, Reason
from kidshield.policy.state import ProfileState
from kidshield.runtime import PolicyRuntime

log = logging.getLogger("kidshield.dns")

READY_MAX_SECONDS = 3600.0  # longest a ready answer is reused (TTLs age on the fast path)
POLICY_READY_MAX = 300.0
STALE_WAIT = 1.0  # RFC 8767: answer from stale data if upstreams haven't answered by then
# The child page's fixed address (RFC 8375 home network domain): answered with the block-page
# address, i.e. the kidshield machine, whose web server shows "My protection" there.
CHILD_PAGE_NAME = "kidshield.home.arpa"


@dataclass(frozen=True, slots=True, eq=False)
class LogTemplate:
    """What the log and metrics need about an answer; shared by every reuse of it (compared
    by identity, which is cheap to hash when the log pump counts answers)."""

    profile: str
    name: str
    qtype: str
    action: str
    reason: str
    rule: str | None
    category: str | None
    service: str | None
    upstream: str | None
    rcode: int


# one pending log item from the slow path: (unix time, client address, template, latency ms)
LogItem = tuple[float, str, LogTemplate, float]
# A ready answer, a list so the fast path can age its TTLs in place once a second:
#  0 monotonic expiry: the upstream TTL or the policy's, whichever ends first, a little early
#  1 the policy's expiry as unix time by the service clock (schedules, budgets, grants)
#  2 the response's bytes 2..12 (flags and counts; the query supplies ID and question)
#  3 the response after the question
#  4 log template
#  5 monotonic time the TTLs are next aged (once a second)
#  6 TTL offsets within the part after the question, 7 the TTLs as created,
#  8 monotonic creation time, 9 the part after the question as created
#  10 the response's length
#  11 (profile, service) when answering it counts as time on a service, else None
#  12 answers given from it since the log last took them, 13 the same per client address
#     (only kept when the log records addresses)
ReadyEntry = list[Any]


class Resolver:
    def __init__(
        self,
        runtime: PolicyRuntime,
        upstreams: UpstreamPool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        state_for: Callable[[Profile, datetime], ProfileState] | None = None,
        timestamp: Callable[[], float] | None = None,
    ) -> None:
        self.runtime = runtime
        self.upstreams = upstreams
        self.clock = clock
        # unix time by the same clock, cheap: for log rows and ready-answer expiry
        self.timestamp = timestamp or (lambda: clock().timestamp())
        # With the system clock, a ready answer's monotonic expiry comes before its policy
        # expiry (it is derived from it), so only a clock step could make the second one
        # matter, and the service drops ready answers when the clock steps. A clock that
        # moves by itself (tests, `check --at`) is asked on every answer.
        self._clock_check = timestamp is not time.time
        self._state_for = state_for or (lambda _p, _n: ProfileState())
        dns_cfg = runtime.config.dns
        self.cache = AnswerCache(dns_cfg.cache_size, dns_cfg.cache_min_ttl, dns_cfg.cache_max_ttl)
        self.limiter = RateLimiter(dns_cfg.rate_limit_qps)
        self.pending_log: list[LogItem] = []
        # Fast-path answers are counted on their entry; an entry is listed here when its
        # count leaves zero, and the log pump takes the list every few milliseconds.
        self.touched: list[ReadyEntry] = []
        self._touch = self.touched.append
        self.service_hits: set[tuple[str, str]] = set()  # (profile, service) used
        self.ready: dict[str, dict[bytes, ReadyEntry]] = {}  # profile id -> question key -> ...
        self.client_profiles: dict[str, str] = {}  # address -> profile id (ACL passed)
        self._client_ready: dict[str, dict[bytes, ReadyEntry]] = {}  # address -> its profile's
        self._heads: dict[bytes, bytes] = {}
        self._acl_cache: dict[str, bool] = {}
        self._decisions: dict[tuple[str, str], Decision] = {}
        self.rate_limited: dict[str, int] = {}  # "slip" / "drop" -> count
        self.malformed = 0  # queries that could not be parsed
        self.canaries = drillcanary.CanaryLog()  # `kidshield drill`: does this device use us?
        self._limited_templates: dict[tuple[str, str], LogTemplate] = {}
        self.configure(runtime)

    # -- configuration ------------------------------------------------------------------
    def configure(self, runtime: PolicyRuntime) -> None:
        """Swap in a new runtime (reload): policy answers are recomputed, the answer cache
        of upstream data stays."""
        cfg = runtime.config.dns
        self.runtime = runtime
        self.networks = [ipaddress.ip_network(n) for n in cfg.allow_networks]
        self.block_mode = cfg.block_mode
        self.block_ttl = cfg.block_ttl
        self.block_v4 = _address(cfg.block_page_ipv4, cfg.listen, 4) or "0.0.0.0"
        self.block_v6 = _address(cfg.block_page_ipv6, cfg.listen, 6) or "::"
        self.serve_stale = cfg.serve_stale
        self.cache.min_ttl, self.cache.max_ttl = cfg.cache_min_ttl, cfg.cache_max_ttl
        if cfg.cache_size < self.cache.max_entries:
            self.cache.clear()  # smaller (or off): start afresh rather than evict one by one
        self.cache.max_entries = cfg.cache_size
        self.cache.max_bytes = cfg.cache_mb << 20
        self.cache.trim()  # a smaller bound applies at once
        self.limiter.qps = cfg.rate_limit_qps
        self._limiting = cfg.rate_limit_qps > 0
        self._count_clients = not runtime.config.logging.anonymize_clients
        self.limiter.burst = max(cfg.rate_limit_qps * 2, 1)
        self.invalidate()

    def invalidate(self, profile: str | None = None) -> None:
        """Forget ready answers and decisions (all, or one profile's after its state changed)."""
        if profile is None:
            self.ready.clear()
            self._decisions.clear()
            self.client_profiles.clear()
            self._client_ready.clear()
            self._acl_cache.clear()
            return
        # cleared in place: the client map holds the same dict
        self.ready.get(profile, {}).clear()
        for dkey in [k for k in self._decisions if k[0] == profile]:
            del self._decisions[dkey]

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
        if flags & 0xF8:
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
        now = monotonic()
        if now >= entry[0] or (self._clock_check and self.timestamp() >= entry[1]):
            return None
        if now >= entry[5] and entry[6]:
            entry[3] = set_ttls(entry[9], entry[6], entry[7], int(now - entry[8]))
            entry[5] = now + 1.0
        if udp and (entry[10] > 512 or self._limiting):
            # the client's buffer: 512 bytes, or its EDNS UDP size (the OPT record is there)
            if entry[10] > 512 and entry[10] > (
                    max(512, (data[qend + 3] << 8) | data[qend + 4]) if edns else 512):
                return None  # the slow path truncates it
            # the limiter decides here, once: asking it again on the slow path would count
            # the query twice and turn every "slip" into a "drop"
            if self._limiting:
                verdict = self.limiter.allow(client, now)
                if verdict != "ok":
                    return self._limited_fast(data, client, verdict, entry, qend, bool(edns))
        if not entry[12]:
            self._touch(entry)
        entry[12] += 1
        if self._count_clients:
            per_client = entry[13]
            if per_client is None:
                per_client = entry[13] = {}
            per_client[client] = per_client.get(client, 0) + 1
        if entry[11] is not None:
            self.service_hits.add(entry[11])
        if flags == 0x01:  # RD set, nothing else: the answer's header as stored
            out: bytes = data[:2] + entry[2] + data[HEADER:qend] + entry[3]
            return out
        return join_answer(data, entry[2], entry[3], qend)

    def _limited_fast(self, data: bytes, client: str, verdict: str, entry: ReadyEntry,
                      qend: int, edns: bool) -> bytes:
        self._rate_limited(client, entry[4].profile, verdict, self.timestamp())
        if verdict == "drop":
            return b""
        opt = answers.opt_record(bool(data[qend + 7] & 0x80)) if edns else b""
        return truncate(join_answer(data, entry[2], entry[3], qend), qend, opt)

    def _rate_limited(self, client: str, pid: str, verdict: str, ts: float) -> None:
        """Count and log answers the rate limiter held back. A flood from one device shares
        one template, so the log keeps one row per device and second, with a count."""
        self.rate_limited[verdict] = self.rate_limited.get(verdict, 0) + 1
        template = self._limited_templates.get((pid, verdict))
        if template is None:
            template = self._limited_templates[(pid, verdict)] = LogTemplate(
                pid, "(rate limited)", "-", "block", Reason.RATE_LIMITED.value, verdict, None,
                None, None, 0)
        self.pending_log.append((ts, client, template, 0.0))

    # -- slow path ----------------------------------------------------------------------
    async def resolve(
        self, data: bytes, client: str, udp: bool, client_id: str | None = None
    ) -> bytes | None:
        started = time.monotonic()
        try:
            q = parse_question(data)
        except WireError as exc:
            log.debug("malformed query from %s: %s", client, exc)
            self.malformed += 1
            return answers.formerr(data)
        if not self._acl(client):
            self._log(client, "-", q, "block", Reason.REFUSED_ACL, answers.RCODE_REFUSED, started)
            return answers.build(data, q, answers.RCODE_REFUSED)
        if udp:
            verdict = self.limiter.allow(client, started)
            if verdict != "ok":
                self._rate_limited(client, self.client_profiles.get(client, "-"), verdict,
                                   self.timestamp())
            if verdict == "drop":
                return None
            if verdict == "slip":
                return truncate(answers.build(data, q, 0), q.end, answers.opt_for(q))
        profile = self.runtime.profile_for_client(client, client_id)
        if client_id is None:
            self.client_profiles[client] = profile.id
            self._client_ready[client] = self._ready_for(profile.id)
        if (q.flags >> 11) & 0xF:
            return answers.build(data, q, answers.RCODE_NOTIMP)
        if q.edns_version:
            return answers.build(data, q, answers.RCODE_BADVERS)
        if drillcanary.is_drill_name(q.name):
            return self._drill(data, q, client, profile.id)
        now = self.clock()
        response, template, ready_for = await self._answer(data, q, profile, now)
        latency = (time.monotonic() - started) * 1000
        self.pending_log.append((self.timestamp(), client, template, latency))
        if ready_for > 0:
            self._store_ready(profile.id, q, response, template, ready_for, now)
        out = patch(response, data, q.end)
        if udp and len(out) > q.udp_size:
            return truncate(out, q.end, answers.opt_for(q))
        return out

    def _ready_for(self, pid: str) -> dict[bytes, ReadyEntry]:
        found = self.ready.get(pid)
        if found is None:
            found = self.ready[pid] = {}
        return found

    def ready_count(self) -> int:
        return sum(len(entries) for entries in self.ready.values())

    def _store_ready(self, pid: str, q: Question, response: bytes, template: LogTemplate,
                     ready_for: float, now: datetime) -> None:
        offsets: list[int] = []
        ttls: list[int] = []
        if template.action != "block":
            try:
                offsets, _ = min_ttl_offsets(response)
                ttls = ttls_at(response, offsets)
            except (WireError, IndexError, ValueError):
                return
        entries = self._ready_for(pid)
        if len(entries) >= 200_000:
            entries.clear()  # bounded: start afresh rather than track use
        # stagger expiry, so answers cached together are not all refreshed together
        upstream_for = ready_for * (0.9 + 0.1 * random.random())
        mono = time.monotonic()
        head, tail = split_answer(response, q.end)
        if len(self._heads) > 4096:
            self._heads.clear()
        head = self._heads.setdefault(head, head)  # few distinct headers: share them
        offsets = [offset - q.end for offset in offsets]
        # a safe-search rewrite (restricted YouTube) is still time spent on the service
        service = (pid, template.service) if template.service and template.action in (
            "allow", "rewrite") else None
        entries[q.key] = [mono + upstream_for, now.timestamp() + ready_for, head, tail,
                          template, mono + 1.0, offsets, ttls, mono, tail, len(response), service,
                          0, None]

    async def _answer(
        self, data: bytes, q: Question, profile: Profile, now: datetime
    ) -> tuple[bytes, LogTemplate, float]:
        qtype = TYPE_NAMES.get(q.qtype, str(q.qtype))
        name = q.name
        if name == "use-application-dns.net":
            t = self._template(profile, q, "block", Reason.CANARY, answers.RCODE_NXDOMAIN)
            return answers.build(data, q, answers.RCODE_NXDOMAIN), t, POLICY_READY_MAX
        if name == "_dns.resolver.arpa" or name.endswith("._dns.resolver.arpa"):
            t = self._template(profile, q, "block", Reason.DDR, 0)
            return answers.build(data, q, 0, authoritative=True), t, POLICY_READY_MAX
        if name == CHILD_PAGE_NAME:
            return self._child_page(data, q, profile)
        decision = self._decide(profile, name, now)
        policy_ttl = POLICY_READY_MAX
        if decision.valid_until is not None:
            policy_ttl = min(policy_ttl, (decision.valid_until - now).total_seconds())
        if decision.action is Action.BLOCK:
            response, rcode = self._blocked(data, q, decision)
            t = self._template(profile, q, "block", decision.reason, rcode, decision)
            return response, t, max(policy_ttl, 0.0)
        if decision.action is Action.REWRITE and decision.target:
            return await self._rewrite(data, q, profile, decision, policy_ttl)
        forwarded, upstream, ready = await self._forward(data, q)
        if forwarded is None:
            t = self._template(profile, q, "allow", decision.reason, answers.RCODE_SERVFAIL,
                               decision)
            return answers.build(data, q, answers.RCODE_SERVFAIL), t, 0.0
        response = forwarded
        # a helpline is reachable whatever its CNAME chain leads to (CDN names may be blocked
        # at bedtime or by a list): helplines beat any block
        blocked = (None if decision.reason is Reason.HELPLINE
                   else self._check_chain(response, profile, now, name))
        if blocked is not None:
            block_response, rcode = self._blocked(data, q, blocked)
            t = self._template(profile, q, "block", Reason.CNAME_BLOCKED, rcode, blocked)
            return block_response, t, min(policy_ttl, ready)
        rcode = response[3] & 0xF
        t = LogTemplate(profile.id, name, qtype, "allow", decision.reason.value, decision.rule,
                        decision.category, decision.service, upstream, rcode)
        return response, t, min(policy_ttl, ready)

    def _drill(self, data: bytes, q: Question, client: str, profile: str) -> bytes:
        """A drill canary or the question whether one was seen (never cached: TTL 0)."""
        found = self.canaries.answer(q.name, client, profile)
        if found is None:
            return answers.build(data, q, answers.RCODE_NXDOMAIN, authoritative=True)
        kind, values = found
        records: list[bytes] = []
        if kind == "A" and q.qtype == QTYPE_A:
            rdata = answers.address_rdata(QTYPE_A, values[0])
            records = [answers.rr_at_question(QTYPE_A, 0, rdata)] if rdata else []
        elif kind == "TXT" and q.qtype == drillcanary.QTYPE_TXT:
            rdata = b"".join(bytes([len(v)]) + v.encode()[:255] for v in values)
            records = [answers.rr_at_question(drillcanary.QTYPE_TXT, 0, rdata)]
        return answers.build(data, q, 0, records, authoritative=True)

    def _child_page(
        self, data: bytes, q: Question, profile: Profile
    ) -> tuple[bytes, LogTemplate, float]:
        records: list[bytes] = []
        address = {QTYPE_A: self.block_v4, QTYPE_AAAA: self.block_v6}.get(q.qtype)
        if address and address not in ("0.0.0.0", "::"):
            rdata = answers.address_rdata(q.qtype, address)
            if rdata is not None:
                records.append(answers.rr_at_question(q.qtype, 60, rdata))
        t = LogTemplate(profile.id, q.name, TYPE_NAMES.get(q.qtype, str(q.qtype)), "allow",
                        Reason.ALLOWED.value, "child page", None, None, None, 0)
        return answers.build(data, q, 0, records, authoritative=True), t, POLICY_READY_MAX

    def _decide(self, profile: Profile, name: str, now: datetime) -> Decision:
        key = (profile.id, name)
        cached = self._decisions.get(key)
        if cached is not None and (cached.valid_until is None or now < cached.valid_until):
            return cached
        state = self._state_for(profile, now)
        decision = self.runtime.engine.decide(Query(name), profile, now, state)
        if len(self._decisions) > 200_000:
            self._decisions.clear()
        self._decisions[key] = decision
        return decision

    def _blocked(self, data: bytes, q: Question, decision: Decision) -> tuple[bytes, int]:
        ede = (answers.EDE_FILTERED, f"kidshield: {decision.reason.value}")
        mode = self.block_mode
        if decision.reason is Reason.BYPASS:
            mode = "nxdomain"  # what Apple and browsers read as "switch the bypass off"
        if mode == "nxdomain":
            return answers.build(data, q, answers.RCODE_NXDOMAIN, ede=ede), 3
        if mode == "refused":
            return answers.build(data, q, answers.RCODE_REFUSED, ede=ede), 5
        records: list[bytes] = []
        if q.qtype in (QTYPE_A, QTYPE_AAAA):
            if mode == "block_page":
                address = self.block_v4 if q.qtype == QTYPE_A else self.block_v6
            else:
                address = "0.0.0.0" if q.qtype == QTYPE_A else "::"
            rdata = answers.address_rdata(q.qtype, address)
            if rdata is not None:
                records.append(answers.rr_at_question(q.qtype, self.block_ttl, rdata))
        # HTTPS/SVCB and other types: NODATA, so browsers fall back to A/AAAA (the block page)
        return answers.build(data, q, 0, records, ede=ede), 0

    async def _rewrite(
        self, data: bytes, q: Question, profile: Profile, decision: Decision, policy_ttl: float
    ) -> tuple[bytes, LogTemplate, float]:
        target = decision.target or ""
        records = [answers.cname(target, 300)]
        ttl = 300.0
        rcode = 0
        if q.qtype in (QTYPE_A, QTYPE_AAAA, QTYPE_HTTPS, QTYPE_SVCB):
            sub = dns.message.make_query(target, dns.rdatatype.RdataType(q.qtype), use_edns=0)
            sub.id = 0
            wire = sub.to_wire()
            try:
                sub_q = parse_question(wire)
            except WireError:
                sub_q = None
            response = None
            if sub_q is not None:
                response, _upstream, ready = await self._forward(wire, sub_q)
            if response is None:
                rcode = answers.RCODE_SERVFAIL
            else:
                msg = dns.message.from_wire(response)
                for rrset in msg.answer:
                    ttl = min(ttl, rrset.ttl)
                    records.append(_rrset_wire(rrset))
        out = answers.build(data, q, rcode, records)
        t = self._template(profile, q, "rewrite", decision.reason, rcode, decision)
        ready = 0.0 if rcode else min(policy_ttl, ttl, READY_MAX_SECONDS)
        return out, t, ready

    async def _forward(self, data: bytes, q: Question) -> tuple[bytes | None, str | None, float]:
        """An answer from the cache or the upstreams; stale data when they all fail."""
        now = time.monotonic()
        cached = self.cache.get(q.key, now)
        if cached is not None:
            return cached[0], "cache", min(cached[1], READY_MAX_SECONDS)
        task = asyncio.ensure_future(self.upstreams.resolve(data))
        stale = self.cache.get_stale(q.key, now) if self.serve_stale else None
        try:
            if stale is not None:
                done, _ = await asyncio.wait({task}, timeout=STALE_WAIT)
                if not done:
                    task.add_done_callback(lambda t: self._store(q, t))
                    return stale, "stale", 0.0
            response, upstream = await task
        except (UpstreamError, OSError) as exc:
            log.warning("all upstreams failed for %s: %s", q.name, exc)
            if stale is not None:
                return stale, "stale", 0.0
            return None, None, 0.0
        ttl = self._cache_answer(q, response)
        return response, upstream.label, min(float(ttl), READY_MAX_SECONDS)

    def _store(self, q: Question, task: asyncio.Future[tuple[bytes, Any]]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._cache_answer(q, task.result()[0])

    def _cache_answer(self, q: Question, response: bytes) -> int:
        rcode = response[3] & 0xF
        if rcode not in (0, 3):
            return 0  # SERVFAIL and friends are not cached
        negative = None
        if rcode == 3 or _ancount(response) == 0:
            negative = _negative_ttl(response)
            if negative is None:
                return 0
        return self.cache.put(q.key, response, time.monotonic(), negative)

    def _check_chain(
        self, response: bytes, profile: Profile, now: datetime, qname: str
    ) -> Decision | None:
        """Apply the policy to every name a CNAME chain leads to."""
        if _ancount(response) == 0 or b"\x00\x05\x00\x01" not in response:
            return None
        try:
            msg = dns.message.from_wire(response)
        except Exception:
            return None
        for rrset in msg.answer:
            if rrset.rdtype != dns.rdatatype.CNAME:
                continue
            for rdata in rrset:
                target = rdata.target.to_text(omit_final_dot=True).lower()
                if target == qname:
                    continue
                decision = self._decide(profile, target, now)
                if decision.action is Action.BLOCK:
                    return Decision(Action.BLOCK, Reason.CNAME_BLOCKED, rule=decision.rule,
                                    source=decision.source, valid_until=decision.valid_until,
                                    category=decision.category, service=decision.service,
                                    band=decision.band,
                                    detail={"cname": target, "because": decision.reason.value})
        return None

    # -- bookkeeping ----------------------------------------------------------------------
    def _acl(self, client: str) -> bool:
        allowed = self._acl_cache.get(client)
        if allowed is None:
            try:
                ip = ipaddress.ip_address(client.split("%", 1)[0])
            except ValueError:
                return False
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            allowed = any(ip.version == n.version and ip in n for n in self.networks)
            if len(self._acl_cache) > 100_000:
                self._acl_cache.clear()
            self._acl_cache[client] = allowed
        return allowed

    def _template(
        self, profile: Profile, q: Question, action: str, reason: Reason, rcode: int,
        decision: Decision | None = None,
    ) -> LogTemplate:
        return LogTemplate(
            profile.id, q.name, TYPE_NAMES.get(q.qtype, str(q.qtype)), action, reason.value,
            decision.rule if decision else None, decision.category if decision else None,
            decision.service if decision else None, None, rcode,
        )

    def _log(self, client: str, pid: str, q: Question, action: str, reason: Reason, rcode: int,
             started: float) -> None:
        t = LogTemplate(pid, q.name, TYPE_NAMES.get(q.qtype, str(q.qtype)), action,
                        reason.value, None, None, None, None, rcode)
        self.pending_log.append((self.timestamp(), client, t,
                                 (time.monotonic() - started) * 1000))

    def take_log(self) -> tuple[list[LogItem], list[ReadyEntry], set[tuple[str, str]]]:
        """What was answered since the last call: slow-path items, the ready entries that
        answered (their counts say how often, ``RowGrouper`` resets them) and the (profile,
        service) pairs those used."""
        items, self.pending_log = self.pending_log, []
        touched = self.touched[:]  # copied and cleared: the fast path holds its append
        self.touched.clear()
        services, self.service_hits = self.service_hits, set()
        return items, touched, services


def _rrset_wire(rrset: dns.rrset.RRset) -> bytes:
    buffer = io.BytesIO()
    rrset.to_wire(buffer)
    return buffer.getvalue()


def _ancount(response: bytes) -> int:
    return (response[6] << 8) | response[7]


def _negative_ttl(response: bytes) -> int | None:
    """RFC 2308: a negative answer is cached for min(SOA TTL, SOA MINIMUM); none without SOA."""
    try:
        msg = dns.message.from_wire(response)
    except Exception:
        return None
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


def _address(explicit: str | None, listen: list[str], version: int) -> str | None:
    if explicit:
        return explicit.split("/")[0]
    from kidshield.config import parse_hostport

    for item in listen:
        host, _ = parse_hostport(item, 53)
        ip = ipaddress.ip_address(host)
        if ip.version == version and not ip.is_unspecified:
            return host
    return None


