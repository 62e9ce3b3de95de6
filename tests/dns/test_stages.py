"""The order of the stages, seen from outside: what an earlier stage settles never reaches a
later one (the policy engine, the upstream), and what a later stage checks (the CNAME chain)
applies to every answer that reaches it, cached or not."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import dns.flags
import dns.message
import dns.rcode
import pytest
import sqlalchemy as sa

from kidshield.clock import FixedClock
from kidshield.storage.schema import query_log
from tests.dns.conftest import (
    ADULT,
    HOUSEHOLD,
    KID,
    FakeUpstream,
    Served,
    ServeFactory,
    addresses,
    cname_targets,
    make_query,
)

BLOCK_PAGE = ["127.0.0.1"]


def _decided(served: Served) -> int:
    """How many decisions the resolver keeps per name: one for each name a list names that
    reached the policy stage (a name nothing lists shares its profile's decision)."""
    resolver = served.app.dns.resolver
    assert resolver is not None
    return served.call(resolver.decision_count)


def _reasons(served: Served) -> dict[str, str]:
    """Each logged name's reason."""
    served.pump()
    assert served.app.db is not None
    with served.app.db.engine.connect() as conn:
        rows = conn.execute(sa.select(query_log.c.name, query_log.c.reason)).all()
    return dict(rows)


def _burst(port: int, names: list[str]) -> list[dns.message.Message]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        for i, name in enumerate(names):
            q = make_query(name)
            q.id = i
            sock.sendto(q.to_wire(), ("127.0.0.1", port))
        replies = []
        sock.settimeout(0.5)
        while True:
            try:
                replies.append(dns.message.from_wire(sock.recv(4096)))
            except TimeoutError:
                return replies


def test_a_rate_limited_query_never_reaches_the_policy_stage(
    serve: ServeFactory,
) -> None:
    served = serve(dns_options={"rate_limit_qps": 5})  # a burst of 10; the clock stands still
    # names the deny list covers: each one decided is kept, so the count shows the decisions
    names = [f"n{i}.denied.example" for i in range(60)]
    replies = _burst(served.port, names)
    full = [r for r in replies if not r.flags & dns.flags.TC]
    assert len(full) == 10 and all(addresses(r) == BLOCK_PAGE for r in full)
    # only the ten answered (blocked, so decided) queries were decided; the fifty held back
    # never got that far
    assert _decided(served) == 10
    answered = {r.question[0].name.to_text(omit_final_dot=True) for r in full}
    assert {n for n, why in _reasons(served).items() if why == "deny_list"} == answered
    served.pump()
    assert served.app.db is not None
    with served.app.db.engine.connect() as conn:
        rows = conn.execute(sa.select(query_log.c.reason, sa.func.sum(query_log.c.count))
                            .group_by(query_log.c.reason)).all()
    assert dict(rows) == {"deny_list": 10, "rate_limited": 50}


def test_a_refused_address_reaches_neither_the_policy_nor_the_upstream(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve(dns_options={"allow_networks": ["127.0.0.1/32"]})
    # the deny list and safe search name these: a decision for them would be kept
    for name in ("fine.example", "denied.example", "www.denied.example", "www.google.com"):
        assert served.query(name, source=KID).rcode() == dns.rcode.REFUSED
    assert _decided(served) == 0
    assert upstream.queries == []


@pytest.mark.parametrize("rdtype", ["A", "AAAA", "HTTPS", "TXT", "MX"])
def test_a_blocked_name_never_reaches_the_cache_or_the_upstream_whatever_its_type(
    serve: ServeFactory, upstream: FakeUpstream, rdtype: str,
) -> None:
    served = serve()
    served.query("denied.example", rdtype, source=ADULT)  # the adult's answer is cached
    for name in ("denied.example", "www.denied.example"):
        for _ in range(2):  # the second time from the fast path
            answer = served.query(name, rdtype, source=KID)
            assert answer.rcode() == dns.rcode.NOERROR
            assert not [rr for rrset in answer.answer for rr in rrset
                        if rr.to_text() in ("192.0.2.1", "2001:db8::1")]
    assert upstream.count("denied.example") == 1  # the adult's question only
    assert upstream.count("www.denied.example") == 0
    resolver = served.app.dns.resolver
    assert resolver is not None and resolver.cache.hits == 0


def test_safe_search_asks_the_upstream_for_the_safe_host_only(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = serve()
    for name in ("www.google.com", "www.google.de"):
        answer = served.query(name, source=KID)
        assert cname_targets(answer) == ["forcesafesearch.google.com"]
        assert addresses(answer) == ["192.0.2.1"]
    assert upstream.count("www.google.com") == 0 and upstream.count("www.google.de") == 0
    # the safe host's addresses came from the upstream once, then from the cache
    assert upstream.count("forcesafesearch.google.com", "A") == 1


def test_special_names_are_answered_before_the_policy_even_at_bedtime(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    # a Wednesday at 22:00: inside the 9-12 bedtime, which blocks every other name
    # the deny list names them all, so a decision about any would be kept (and counted)
    listed = ('deny = ["denied.example", "homework.example", "home.arpa", '
              '"use-application-dns.net", "resolver.arpa"]')
    served = serve(HOUSEHOLD.replace('deny = ["denied.example"]', listed),
                   clock=FixedClock(datetime(2026, 12, 2, 22, 0, tzinfo=UTC)))
    assert addresses(served.query("homework.example", source=KID)) == BLOCK_PAGE
    assert _decided(served) == 1
    # the child page stays reachable, the canary keeps saying "no DoH here"
    assert addresses(served.query("kidshield.home.arpa", source=KID)) == BLOCK_PAGE
    assert served.query("use-application-dns.net", source=KID).rcode() == dns.rcode.NXDOMAIN
    assert served.query("_dns.resolver.arpa", "SVCB", source=KID).answer == []
    assert _decided(served) == 1  # none of them reached the policy
    # what the log says each was answered for: only the ordinary name met the bedtime
    assert _reasons(served) == {"homework.example": "bedtime", "kidshield.home.arpa": "allowed",
                                "use-application-dns.net": "canary",
                                "_dns.resolver.arpa": "ddr"}
    assert upstream.queries == []


def test_the_cname_check_applies_to_answers_from_the_cache(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    upstream.cname("alias.example", "denied.example")
    served = serve()
    adult = served.query("alias.example", source=ADULT)  # nothing blocks it for the adult
    assert addresses(adult) == ["192.0.2.1"]
    kid = served.query("alias.example", source=KID)  # the same answer, from the cache
    assert addresses(kid) == BLOCK_PAGE
    assert upstream.count("alias.example") == 1
