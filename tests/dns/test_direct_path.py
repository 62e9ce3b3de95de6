"""The direct path (dns/pipeline/direct.py) answers, logs and counts every query exactly as the
staged path does: the same queries go through the real server once with the staged path alone
and once with the direct path in front of it, and the replies, the upstream's questions, the
query-log rows and the metrics must not differ. Plain misses must really take the direct path
(else the comparison would prove nothing), and everything unusual must reach the stages."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import pytest
import sqlalchemy as sa

from kidshield.dns.pipeline import QueryContext
from kidshield.dns.resolver import Resolver
from kidshield.storage.schema import query_log
from tests.dns.conftest import ADULT, KID, FakeUpstream, Served, ServeFactory, recv_exactly

# what the staged path must see even with the direct path in front (their names)
UNUSUAL = {"use-application-dns.net", "_dns.resolver.arpa", "x._dns.resolver.arpa",
           "kidshield.home.arpa", "notify-T.example", "badvers-T.example", "version.bind",
           "(unparsed)", "doh-T.example", "doh-garbled-T.example"}


def _resolver(served: Served) -> Resolver:
    resolver = served.app.dns.resolver
    assert resolver is not None
    return resolver


def _normal(wire: bytes, tag: str) -> str:
    msg = dns.message.from_wire(wire)
    msg.id = 0
    for section in (msg.answer, msg.authority, msg.additional):
        for rrset in section:
            rrset.ttl = 0  # an answer from the cache may have aged a second
    return msg.to_text().replace(tag, "T")


def _ask(served: Served, wire: bytes, source: str, tcp: bool = False) -> bytes | None:
    if tcp:
        with socket.create_connection(("127.0.0.1", served.port), timeout=3,
                                      source_address=(source, 0)) as sock:
            sock.sendall(len(wire).to_bytes(2, "big") + wire)
            size = int.from_bytes(recv_exactly(sock, 2), "big")
            return recv_exactly(sock, size)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        sock.sendto(wire, ("127.0.0.1", served.port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def _query(name: str, rdtype: str = "A", **options: Any) -> dns.message.Message:
    return dns.message.make_query(name, rdtype, **options)


def _queries(tag: str) -> list[tuple[str, bytes, bool]]:
    """(source, wire, over TCP) for one pass; ``tag`` makes its names its own."""
    t = tag
    cd = _query(f"cd-{t}.example")
    cd.flags |= dns.flags.CD
    notify = _query(f"notify-{t}.example")
    notify.set_opcode(dns.opcode.NOTIFY)
    badvers = _query(f"badvers-{t}.example", use_edns=1)
    chaos = _query("version.bind", "TXT", rdclass=dns.rdataclass.CH)
    plain = [
        (KID, _query(f"plain-{t}.example")),
        (KID, _query(f"plain-{t}.example", "AAAA")),
        (KID, _query(f"Mixed-{t}.EXAMPLE")),
        (KID, _query(f"edns-{t}.example", use_edns=0, payload=1232, want_dnssec=True)),
        (KID, cd),
        (KID, _query(f"txt-{t}.example", "TXT")),  # no data: a negative answer with its SOA
        (KID, _query(f"gone-{t}.example")),  # NXDOMAIN
        (KID, _query(f"alias-{t}.example")),  # a CNAME to a name the kid's profile denies
        (ADULT, _query(f"alias-{t}.example")),  # nothing denies it for the adult
        (ADULT, _query(f"shared-{t}.example")),
        (KID, _query(f"shared-{t}.example")),  # from the answer cache, for another profile
        (KID, _query(f"sub-{t}.denied.example")),  # blocked by the policy
        (KID, _query(f"sub-{t}.denied.example", "HTTPS")),
        (KID, _query("www.google.com")),  # safe search
        (KID, _query("use-application-dns.net")),
        (KID, _query("_dns.resolver.arpa", "SVCB")),
        (KID, _query("x._dns.resolver.arpa", "SVCB")),
        (KID, _query("kidshield.home.arpa")),
        (KID, notify),
        (KID, badvers),
        (KID, chaos),
    ]
    out = [(source, q.to_wire(), False) for source, q in plain]
    out.append((KID, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05abc", False))
    out.append((KID, _query(f"tcp-{t}.example").to_wire(), True))
    return out


Observed = tuple[list[str], list[tuple[str, str, str]], list[tuple[Any, ...]], Counter[Any]]


def _metrics(served: Served) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for family in served.app.dns.metrics.registry.collect():
        if family.name != "kidshield_dns_queries":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                counts[(labels["profile"], labels["action"], labels["reason"])] += int(
                    sample.value)
    return counts


def _pass(served: Served, upstream: FakeUpstream, tag: str, direct: bool,
          staged_names: list[str], called_back: list[str] | None = None) -> Observed:
    """The replies, upstream questions, log rows and metrics of one pass: through the
    staged path alone, or (``direct``) the direct path as the server built it, UDP misses
    answered from the upstream socket's callback (their names in ``called_back``)."""
    resolver = _resolver(served)
    pipeline = resolver.pipeline
    real_staged, real_run, real_start = pipeline.staged, pipeline.run, pipeline.start

    async def staged(ctx: QueryContext, start: int = 0) -> bytes | None:
        try:
            return await real_staged(ctx, start)
        finally:
            q = getattr(ctx, "q", None)  # never set for a query that cannot be parsed
            staged_names.append(q.name.replace(tag, "T") if q is not None else "(unparsed)")

    def start(ctx: QueryContext, reply: Callable[[bytes | None], None],
              ) -> Coroutine[Any, Any, bytes | None] | None:
        # the UDP listener's entry: a reply that comes after it returned (nothing to run)
        # came from the upstream socket's callback
        returned = [False]

        def reply_later(out: bytes | None) -> None:
            if returned[0] and called_back is not None:
                called_back.append(ctx.q.name.replace(tag, "T"))
            reply(out)

        coroutine = real_start(ctx, reply_later)
        returned[0] = coroutine is None
        return coroutine

    pipeline.staged = staged  # type: ignore[method-assign]
    if not direct:
        pipeline.run = staged
        pipeline.start = lambda ctx, _reply: staged(ctx)
    else:
        pipeline.start = start
    try:
        return _queries_through(served, upstream, tag)
    finally:
        pipeline.staged = real_staged  # type: ignore[method-assign]
        pipeline.run, pipeline.start = real_run, real_start


def _queries_through(served: Served, upstream: FakeUpstream, tag: str) -> Observed:
    resolver = _resolver(served)
    served.call(resolver.invalidate)  # no ready answers, no decisions from the other pass
    served.call(resolver.cache.clear)
    served.pump()
    metrics_before = _metrics(served)
    asked_before = len(upstream.queries)
    with served.app.db.engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(query_log.c.id))).scalar() or 0
    upstream.cname(f"alias-{tag}.example", "denied.example")
    upstream.nxdomain.add(f"gone-{tag}.example")
    replies = []
    for source, wire, tcp in _queries(tag):
        reply = _ask(served, wire, source, tcp)
        replies.append(_normal(reply, tag) if reply else "(none)")
    # what the upstream said could not be read (``upstream_malformed``), on the direct path
    # and through the stages (the client id's); then it refuses, then it fails (SERVFAIL,
    # which also resets its health); nothing stale
    upstream.mangle = lambda response, _query: response.to_wire() + b"\x00"
    try:
        reply = _ask(served, _query(f"garbled-{tag}.example").to_wire(), KID)
        replies.append(_normal(reply, tag) if reply else "(none)")
        reply = served.run(resolver.resolve(_query(f"doh-garbled-{tag}.example").to_wire(),
                                            KID, False, "kid-tablet"))
        replies.append(_normal(reply, tag) if reply else "(none)")
    finally:
        upstream.mangle = None
    for name, rcode in (("refused", dns.rcode.REFUSED), ("fail", dns.rcode.SERVFAIL)):
        upstream.rcode = rcode
        try:
            reply = _ask(served, _query(f"{name}-{tag}.example").to_wire(), KID)
            replies.append(_normal(reply, tag) if reply else "(none)")
        finally:
            upstream.rcode = None
    reply = served.run(resolver.resolve(_query(f"doh-{tag}.example").to_wire(), KID, False,
                                        "kid-tablet"))
    replies.append(_normal(reply, tag) if reply else "(none)")
    served.pump()
    asked = [(p, n.replace(tag, "T"), t) for p, n, t in upstream.queries[asked_before:]]
    with served.app.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(query_log.c.client, query_log.c.profile, query_log.c.name,
                      query_log.c.qtype, query_log.c.action, query_log.c.reason,
                      query_log.c.rule, query_log.c.category, query_log.c.service,
                      query_log.c.upstream, query_log.c.rcode, query_log.c.count)
            .where(query_log.c.id > last).order_by(query_log.c.id)).all()
    logged = [tuple(v.replace(tag, "T") if isinstance(v, str) else v for v in row)
              for row in rows]
    metrics = _metrics(served)
    metrics.subtract(metrics_before)
    return replies, asked, sorted(logged, key=repr), +metrics


@pytest.fixture
def served(serve: ServeFactory) -> Served:
    return serve()


def test_the_direct_path_answers_logs_and_counts_as_the_staged_path(
    served: Served, upstream: FakeUpstream,
) -> None:
    staged_only: list[str] = []
    staged = _pass(served, upstream, "s1", False, staged_only)
    in_front: list[str] = []
    called_back: list[str] = []
    replies, asked, logged, metrics = _pass(served, upstream, "d2", True, in_front,
                                            called_back)
    assert replies == staged[0]
    assert asked == staged[1]
    assert logged == staged[2]
    assert metrics == staged[3]
    # the comparison means something: the passes answered, blocked, failed, rewrote...
    text = "\n".join(replies)
    for rcode in ("NOERROR", "NXDOMAIN", "SERVFAIL", "NOTIMP", "BADVERS", "REFUSED", "FORMERR"):
        assert f"rcode {rcode}" in text, rcode
    reasons = {row[5] for row in logged}
    assert {"allowed", "deny_list", "cname_blocked", "safe_search", "canary", "ddr",
            "upstream_malformed", "upstream_refused", "upstream_servfail"} <= reasons
    assert [row[2] for row in logged if row[5] == "upstream_malformed"] == [
        "doh-garbled-T.example", "garbled-T.example"]
    # plain questions took the direct path; only the unusual ones (and the client id's) reached
    # the stages' loop, which the first pass took for everything
    assert set(in_front) == UNUSUAL
    assert "plain-T.example" in staged_only and len(staged_only) == len(replies)
    # UDP misses were answered from the upstream socket's callback, failures and negative
    # answers too; TCP's and the client id's through the coroutine
    assert {"plain-T.example", "edns-T.example", "gone-T.example", "alias-T.example",
            "fail-T.example"} <= set(called_back)
    assert not {"tcp-T.example", "doh-T.example"} & set(called_back)
