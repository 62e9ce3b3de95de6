"""``[dns] cache_mb`` bounds what the answer cache holds, measured as the process's own memory
(tracemalloc), not as a count of answers, and with it the per-name state beside the cache:
ready answers and remembered decisions, all profiles together (issue 17 item 6)."""

from __future__ import annotations

import socket
import tracemalloc
from datetime import datetime

import dns.message
import dns.rrset
from dns.rcode import Rcode
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.config import parse_config
from kidshield.dns.cache import AnswerCache
from kidshield.dns.pipeline import Decisions
from kidshield.dns.ready import LogTemplate, ReadyAnswers
from kidshield.dns.wire import parse_question
from kidshield.policy.engine import PolicyEngine
from kidshield.policy.model import Profile, Query
from kidshield.policy.reason import Action, Reason
from kidshield.policy.state import ProfileState
from kidshield.runtime import PolicyRuntime
from tests.dns.conftest import KID, NOON, TEEN, ServeFactory, make_query


def answer(i: int, records: int = 1) -> tuple[bytes, bytes]:
    name = f"host-{i}.example-{i % 97}.net"
    query = dns.message.make_query(name, "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text(
        name + ".", 3600, "IN", "A", *(f"192.0.2.{k + 1}" for k in range(records))))
    return parse_question(query.to_wire()).key, response.to_wire()


def test_a_cache_of_one_mib_holds_no_more_than_a_mib_of_memory() -> None:
    cache = AnswerCache(max_entries=1_000_000, max_bytes=1 << 20)
    answers = [answer(i, records=1 + i % 4) for i in range(20_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key, response in answers:
            cache.put(key, response, 0.0)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.bytes <= 1 << 20
    assert 1_000 < len(cache) < 20_000  # it kept some, and dropped the rest
    assert held <= (1 << 20) * 1.15, f"{held} bytes held for a 1 MiB cache"


def test_the_least_recently_used_answers_go_first() -> None:
    cache = AnswerCache(max_entries=1_000_000, max_bytes=64 << 10)
    answers = [answer(i) for i in range(2_000)]
    for key, response in answers[:100]:
        cache.put(key, response, 0.0)
    first_key = answers[0][0]
    for key, response in answers[100:]:
        cache.get(first_key, 1.0)  # kept in use
        cache.put(key, response, 1.0)
    assert cache.get(first_key, 2.0) is not None
    assert cache.get(answers[1][0], 2.0) is None
    assert cache.get(answers[-1][0], 2.0) is not None


def test_replacing_an_answer_does_not_count_it_twice_and_a_smaller_bound_trims() -> None:
    cache = AnswerCache(max_bytes=1 << 20)
    key, response = answer(1)
    for _ in range(100):
        cache.put(key, response, 0.0)
    assert len(cache) == 1 and cache.bytes < 1_000
    for i in range(2, 3_000):
        cache.put(*answer(i), 0.0)
    cache.max_bytes = 100 << 10
    cache.trim()
    assert cache.bytes <= 100 << 10
    cache.clear()
    assert cache.bytes == 0


def test_ready_answers_and_decisions_stay_bounded_by_cache_mb_keeping_the_newest(
    serve: ServeFactory,
) -> None:
    # cache_mb = 1: 1,024 ready answers per profile (the floor) and as many decisions
    served = serve(dns_options={"cache_mb": 1})
    resolver = served.app.dns.resolver
    names = [f"n{i}.many.example" for i in range(1_400)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        sock.settimeout(2)
        for name in names:
            sock.sendto(make_query(name).to_wire(), ("127.0.0.1", served.port))
            assert dns.message.from_wire(sock.recv(4096)).answer
    assert 0 < served.lt.call(resolver.ready_count) <= 1_024
    # names nothing lists share one decision: none is kept per name
    assert served.lt.call(resolver.decision_count) == 0

    def ready(name: str) -> bool:
        wire = make_query(name).to_wire()
        return served.lt.call(resolver.answer_fast, wire, KID, True) is not None

    assert ready(names[-1]) and ready(names[-500])  # the newest stay on the fast path
    assert not ready(names[0]) and not ready(names[300])  # the oldest went first
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((KID, 0))
        sock.settimeout(2)
        for i in range(1_400):  # the deny list names these: a decision each
            sock.sendto(make_query(f"n{i}.denied.example").to_wire(), ("127.0.0.1", served.port))
            assert dns.message.from_wire(sock.recv(4096)).answer
    assert 0 < served.lt.call(resolver.decision_count) <= 1_024


def test_the_ready_answers_of_all_profiles_together_stay_within_the_bound(
    serve: ServeFactory,
) -> None:
    # cache_mb = 1: 1,024 ready answers in all, however many profiles ask
    served = serve(dns_options={"cache_mb": 1})
    resolver = served.app.dns.resolver
    asked: dict[str, list[str]] = {}
    for source in (KID, TEEN):
        names = asked[source] = [f"n{i}.{source.replace('.', '-')}.example" for i in range(900)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.settimeout(2)
            for name in names:
                sock.sendto(make_query(name).to_wire(), ("127.0.0.1", served.port))
                assert dns.message.from_wire(sock.recv(4096)).answer
    assert 1_024 * 3 // 4 <= served.lt.call(resolver.ready_count) <= 1_024

    def ready(source: str, name: str) -> bool:
        wire = make_query(name).to_wire()
        return served.lt.call(resolver.answer_fast, wire, source, True) is not None

    # the newest of each profile stay; the largest profile's oldest made room
    assert ready(TEEN, asked[TEEN][-1]) and ready(KID, asked[KID][-1])
    assert not ready(KID, asked[KID][0])


READY_OPS = st.lists(st.one_of(
    st.tuples(st.just("store"), st.sampled_from("abcdef"), st.integers(0, 40)),
    st.tuples(st.just("forget"), st.sampled_from("abcdef"), st.none()),
    st.tuples(st.just("forget all"), st.none(), st.none())), max_size=120)


@settings(max_examples=100, deadline=None)
@given(ops=READY_OPS, bound=st.integers(1, 30))
def test_the_count_of_ready_answers_is_theirs_and_bounded_whatever_happens(
        ops: list[tuple[str, str | None, int | None]], bound: int) -> None:
    # the count is kept as answers come and go (summing every profile's on each miss cost
    # a call per profile): it must stay the number there is, and within the bound
    ready = ReadyAnswers(max_entries=bound)
    for op, pid, i in ops:
        if op == "store":
            assert pid is not None and i is not None
            key, response = answer(i)
            template = LogTemplate(pid, "n", "A", Action.ALLOW, Reason.ALLOWED, None, None,
                                   None, "upstream", Rcode.NOERROR)
            ready.store(pid, key, 12 + len(key), response, template, 60.0, 0.0, 0.0)
        elif op == "forget":
            ready.forget(pid)
        else:
            ready.forget()
        there = sum(len(entries) for entries in ready.by_profile.values())
        assert len(ready) == there <= bound


class _CountingState:
    """The state source Decisions is given: asked once for each decision the engine makes
    (and only then), so its calls count the engine's decisions."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, _profile: Profile, _now: datetime) -> ProfileState:
        self.calls += 1
        return ProfileState()


def test_decisions_are_reused_until_the_bound_then_the_oldest_are_decided_again() -> None:
    # names the profile's deny list covers: each has a decision of its own
    runtime = PolicyRuntime.build(parse_config(
        '[profiles.kid]\nage_band = "9-12"\ndeny = ["listed.example"]\n'))
    profile = runtime.profile("kid")
    asked = _CountingState()
    decisions = Decisions(runtime.engine, asked, max_known=100)
    first = decisions.decide(profile, "first.listed.example", NOON)
    assert first.reason is Reason.DENY_LIST
    assert decisions.decide(profile, "first.listed.example", NOON) is first
    assert asked.calls == 1  # remembered
    for i in range(300):
        decisions.decide(profile, f"n{i}.listed.example", NOON)
    assert asked.calls == 301 and len(decisions) <= 100
    decisions.decide(profile, "n299.listed.example", NOON)
    assert asked.calls == 301  # the newest is still known
    decisions.decide(profile, "first.listed.example", NOON)
    assert asked.calls == 302  # the oldest was dropped: decided again


def test_names_nothing_lists_share_one_decision_and_take_no_memory_per_name() -> None:
    runtime = PolicyRuntime.build(parse_config(
        '[profiles.kid]\nage_band = "9-12"\ndeny = ["listed.example"]\n'))
    profile = runtime.profile("kid")
    decisions = Decisions(runtime.engine, lambda _p, _n: ProfileState(), max_known=100)
    first = decisions.decide(profile, "n0.unlisted.example", NOON)
    for i in range(1, 300):
        assert decisions.decide(profile, f"n{i}.unlisted.example", NOON) == first
    assert len(decisions) == 0
    # the same as the engine decides afresh, and a listed name is still kept per name
    fresh = PolicyEngine(runtime.engine.catalog, runtime.engine.lists)
    assert first == fresh.decide(Query("n7.unlisted.example"), profile, NOON, ProfileState())
    decisions.decide(profile, "a.listed.example", NOON)
    assert len(decisions) == 1
