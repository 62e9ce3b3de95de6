"""Why the upstreams gave no usable answer, as the device, the query log and the metrics say
it: every one refused, one answered SERVFAIL, none answered at all (timeouts, network
errors), or what came could not be read; also when the failing question was safe search's
own, for the forced safe host."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rcode
import httpx
import pytest

from tests.dns.conftest import (
    EDE,
    HOUSEHOLD,
    KID,
    TEEN,
    FakeUpstream,
    Served,
    ServeFactory,
    cname_targets,
    ede_option,
    log_rows,
    with_opt_options,
)
from tests.e2e.harness import LoopThread

NO_ANSWER = [(23, "kidshield: no upstream answered")]


def _trailing_garbage(response: dns.message.Message, _query: dns.message.Message) -> bytes:
    """An answer to the question, with a byte after its last record: it cannot be read."""
    return response.to_wire() + b"\x00"


def _edes(answer: dns.message.Message) -> list[tuple[int, str]]:
    return [(o.code, o.text or "") for o in answer.options if o.otype == EDE]


def _metrics(served: Served) -> str:
    served.parent()
    with httpx.Client(base_url=served.url, timeout=3) as http:
        return http.get("/metrics", headers=served.bearer_for("Alex", ["metrics"])).text


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if line.startswith("#") or metric.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in metric for k, v in labels.items()):
            return float(value)
    return 0.0


def _quick(served: Served) -> Served:
    resolver = served.app.dns.resolver
    assert resolver is not None
    resolver.upstreams.timeout = 0.3  # silence costs this, not the default two seconds
    return served


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_silence_and_unreadable_answers_are_told_apart_in_the_log_and_metrics(
    serve: ServeFactory, upstream: FakeUpstream, proto: str,
) -> None:
    """A silent upstream and one whose answer cannot be read: the device gets the same
    SERVFAIL (EDE 23) for both, but the log and kidshield_dns_queries_total said
    ``upstream_no_answer`` for both; now the unreadable one is ``upstream_malformed``."""
    served = _quick(serve(web=True))
    upstream.drop = True
    silent = served.query("silent.example", source=KID, edns=True, proto=proto)
    upstream.drop, upstream.mangle = False, _trailing_garbage
    unreadable = served.query("garbled.example", source=KID, edns=True, proto=proto)
    for answer in (silent, unreadable):
        assert answer.rcode() == dns.rcode.SERVFAIL and not answer.answer
        assert _edes(answer) == NO_ANSWER  # RFC 8914 has no closer code (docs/deploying.md)
    assert [(r["name"], r["action"], r["reason"], r["rcode"], r["upstream"])
            for r in log_rows(served)] == [
        ("silent.example", "allow", "upstream_no_answer", 2, None),
        ("garbled.example", "allow", "upstream_malformed", 2, None)]
    text = _metrics(served)
    q = "kidshield_dns_queries_total"
    assert _metric(text, q, profile="kid", action="allow", reason="upstream_no_answer") == 1
    assert _metric(text, q, profile="kid", action="allow", reason="upstream_malformed") == 1


@pytest.mark.parametrize("proto", ["udp", "tcp"])
@pytest.mark.parametrize("garbled_first", [True, False])
def test_an_unreadable_answer_is_named_whichever_upstream_sent_it(
    serve: ServeFactory, upstream: FakeUpstream, loop_thread: LoopThread, proto: str,
    garbled_first: bool,
) -> None:
    """One upstream silent, the other unreadable: ``upstream_malformed`` (an answer came, and
    that is where to look), whether the unreadable one was asked first (over UDP, the
    upstream socket's callback settles it) or after the silent one."""
    other = FakeUpstream(drop=True)
    loop_thread.run(other.start())
    try:
        upstream.mangle = _trailing_garbage
        order = [upstream.url, other.url] if garbled_first else [other.url, upstream.url]
        served = _quick(serve(upstreams=order))
        answer = served.query("mixed.example", source=KID, edns=True, proto=proto)
        assert answer.rcode() == dns.rcode.SERVFAIL and _edes(answer) == NO_ANSWER
        assert upstream.count("mixed.example") == other.count("mixed.example") == 1
        assert [(r["reason"], r["upstream"]) for r in log_rows(served)] == [
            ("upstream_malformed", None)]
    finally:
        loop_thread.run(other.stop())


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_refusals_and_servfails_are_told_apart_from_what_the_forwarder_said(
    serve: ServeFactory, upstream: FakeUpstream, loop_thread: LoopThread, proto: str,
) -> None:
    """REFUSED then SERVFAIL, SERVFAIL then REFUSED, REFUSED twice: the SERVFAIL is passed on
    (its upstream named) whichever came first, and only when both refused is it ours (EDE
    22) and ``upstream_refused``; then an answer from the cache for the same question is
    logged as allowed again (the failure went with its answer, it is not inferred)."""
    other = FakeUpstream()
    loop_thread.run(other.start())
    try:
        served = _quick(serve(upstreams=[upstream.url, other.url]))
        cases = [("a.example", dns.rcode.REFUSED, dns.rcode.SERVFAIL),
                 ("b.example", dns.rcode.SERVFAIL, dns.rcode.REFUSED),
                 ("c.example", dns.rcode.REFUSED, dns.rcode.REFUSED)]
        edes = []
        for name, first, second in cases:
            upstream.rcode, other.rcode = first, second
            answer = served.query(name, source=KID, edns=True, proto=proto)
            assert answer.rcode() == dns.rcode.SERVFAIL, name
            edes.append(_edes(answer))
        assert edes == [[], [], [(22, "kidshield: every upstream refused")]]
        upstream.rcode = other.rcode = None
        for _turn in range(2):  # the miss, then the cache's answer
            answer = served.query("c.example", source=KID, edns=True, proto=proto)
            assert answer.rcode() == dns.rcode.NOERROR and _edes(answer) == []
        assert sorted((r["name"], r["reason"], r["upstream"], r["count"])
                      for r in log_rows(served)) == [
            ("a.example", "upstream_servfail", other.url, 1),
            ("b.example", "upstream_servfail", upstream.url, 1),
            ("c.example", "allowed", upstream.url, 2),
            ("c.example", "upstream_refused", upstream.url, 1)]
    finally:
        loop_thread.run(other.stop())


SAFE_HOUSEHOLD = HOUSEHOLD  # the 13-15 band (TEEN) gets safe search forced on Bing


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_an_upstream_failure_for_the_safe_search_host_says_so_and_keeps_the_rewrite(
    serve: ServeFactory, upstream: FakeUpstream, proto: str,
) -> None:
    """When the upstreams fail for the forced safe host (Bing's), the SERVFAIL said
    ``safe_search`` with no extended error; now it says why as any upstream failure does:
    the reason, EDE 23 / 22 / the upstream's own, and the failing upstream; the log row
    and the metrics keep the action ``rewrite`` and the rule (safe search was enforced),
    and the answer keeps its CNAME to the safe host."""
    served = _quick(serve(rest=SAFE_HOUSEHOLD, web=True))
    cases: list[tuple[str, dict[str, Any], list[tuple[int, str]]]] = [
        ("www.bing.com", {"drop": True}, NO_ANSWER),
        ("bing.com", {"mangle": _trailing_garbage}, NO_ANSWER),
        ("www.bing.com", {"rcode": dns.rcode.REFUSED},
         [(22, "kidshield: every upstream refused")]),
        ("www.bing.com",
         {"mangle": with_opt_options(ede_option(6, "DNSSEC Bogus"), dns.rcode.SERVFAIL)},
         [(6, "DNSSEC Bogus")])]
    targets = []
    for name, misbehave, edes in cases:
        upstream.drop, upstream.mangle, upstream.rcode = False, None, None
        for attribute, value in misbehave.items():
            setattr(upstream, attribute, value)
        answer = served.query(name, source=TEEN, edns=True, proto=proto)
        assert answer.rcode() == dns.rcode.SERVFAIL, misbehave
        assert _edes(answer) == edes, misbehave
        targets.append(cname_targets(answer))
        plain = served.query(name, source=TEEN, proto=proto)  # no EDNS: no OPT record
        assert plain.rcode() == dns.rcode.SERVFAIL and plain.edns < 0
    assert len({tuple(t) for t in targets}) == 1 and len(targets[0]) == 1  # the safe host
    rows = [(r["name"], r["action"], r["reason"], r["rule"], r["upstream"], r["count"])
            for r in log_rows(served)]
    assert rows == [
        ("www.bing.com", "rewrite", "upstream_no_answer", "www.bing.com", None, 2),
        ("bing.com", "rewrite", "upstream_malformed", "bing.com", None, 2),
        ("www.bing.com", "rewrite", "upstream_refused", "www.bing.com", upstream.url, 2),
        ("www.bing.com", "rewrite", "upstream_servfail", "www.bing.com", upstream.url, 2)]
    text = _metrics(served)
    q = "kidshield_dns_queries_total"
    for reason, count in (("upstream_no_answer", 2), ("upstream_malformed", 2),
                          ("upstream_refused", 2), ("upstream_servfail", 2)):
        assert _metric(text, q, profile="teen", action="rewrite", reason=reason) == count
    assert _metric(text, q, profile="teen", action="rewrite", reason="safe_search") == 0
    # and when the upstreams answer, it is the rewrite it was
    upstream.drop, upstream.mangle, upstream.rcode = False, None, None
    answer = served.query("www.bing.com", source=TEEN, edns=True, proto=proto)
    assert answer.rcode() == dns.rcode.NOERROR and _edes(answer) == []
    assert cname_targets(answer) == targets[0]
    assert [(r["action"], r["reason"], r["upstream"]) for r in log_rows(served)][-1] == (
        "rewrite", "safe_search", None)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
@pytest.mark.parametrize("refused_first", [True, False])
def test_a_refusal_among_silent_or_unreadable_upstreams_does_not_say_every_one_refused(
    serve: ServeFactory, upstream: FakeUpstream, loop_thread: LoopThread, proto: str,
    refused_first: bool,
) -> None:
    """One upstream refuses (with its own EDE 18), the other is silent, then unreadable: the
    device was told EDE 22 "every upstream refused", which was not so. Now 22 (No Reachable
    Authority covers "could not reach any ... or they potentially refused") says the upstreams
    refused or gave no answer, still followed by the refusing upstream's own extended error;
    the log says ``upstream_refused`` naming that upstream (the one failure that names its
    upstream and says why), whichever was asked first (over UDP, the upstream socket's
    callback settles the first)."""
    other = FakeUpstream()
    loop_thread.run(other.start())
    try:
        upstream.mangle = with_opt_options(ede_option(18, "not you"), dns.rcode.REFUSED)
        order = [upstream.url, other.url] if refused_first else [other.url, upstream.url]
        served = _quick(serve(upstreams=order))
        for name, misbehave in (("silent.example", {"drop": True}),
                                ("garbled.example", {"mangle": _trailing_garbage})):
            other.drop, other.mangle = False, None
            for attribute, value in misbehave.items():
                setattr(other, attribute, value)
            answer = served.query(name, source=KID, edns=True, proto=proto)
            assert answer.rcode() == dns.rcode.SERVFAIL and not answer.answer, name
            assert _edes(answer) == [(22, "kidshield: upstreams refused or gave no answer"),
                                     (18, "not you")], name
            assert upstream.count(name) == other.count(name) == 1, name
        assert [(r["name"], r["reason"], r["upstream"]) for r in log_rows(served)] == [
            ("silent.example", "upstream_refused", upstream.url),
            ("garbled.example", "upstream_refused", upstream.url)]
        upstream.mangle = None  # and when it only refuses with the other: as it was
        upstream.rcode, other.mangle = dns.rcode.REFUSED, None
        other.rcode = dns.rcode.REFUSED
        answer = served.query("both.example", source=KID, edns=True, proto=proto)
        assert _edes(answer) == [(22, "kidshield: every upstream refused")]
    finally:
        loop_thread.run(other.stop())
