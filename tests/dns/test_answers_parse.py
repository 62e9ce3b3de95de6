"""Every answer the resolver sends parses strictly with dnspython (issue 14): blocks,
safe-search rewrites, special names, CNAME checks, truncation, with and without EDNS (DO, CD,
small and large buffers, client options), over UDP and TCP, for a filtered and an unfiltered
device, and on the fast path as on the slow one."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dns.conftest import ADULT, KID, FakeUpstream, Served, ServeFactory

NAMES = [
    "fine.example", "denied.example", "www.youtube.com", "duckduckgo.com", "www.google.com",
    "use-application-dns.net", "_dns.resolver.arpa", "big.example", "alias.example",
    "gone.example", "front.example", "FiNe.ExAmPlE", "a.b.c.d.e.f.g.example",
]
TYPES = ["A", "AAAA", "TXT", "HTTPS", "MX", "CNAME", "SOA", "ANY", "SVCB", "NS"]


@st.composite
def queries(draw: st.DrawFn) -> tuple[dns.message.Message, str, str]:
    name = draw(st.one_of(st.sampled_from(NAMES),
                          st.from_regex(r"[a-z0-9]{1,20}\.example", fullmatch=True)))
    rdtype = draw(st.sampled_from(TYPES))
    edns = draw(st.sampled_from(["none", "plain", "do", "cd", "do+cd", "options"]))
    if edns == "none":
        query = dns.message.make_query(name, rdtype, use_edns=False)
    else:
        options: list[dns.edns.Option] = []
        if edns == "options":
            options = [dns.edns.ECSOption("203.0.113.5", 24),
                       dns.edns.GenericOption(10, b"\x07" * 8),
                       dns.edns.GenericOption(12, bytes(draw(st.integers(0, 64))))]
        payload = draw(st.sampled_from([512, 1232, 4096]))
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=payload,
                                       want_dnssec="do" in edns, options=options)
        if "cd" in edns:
            query.flags |= dns.flags.CD
    query.id = draw(st.integers(0, 0xFFFF))
    return query, draw(st.sampled_from([KID, ADULT])), draw(st.sampled_from(["udp", "tcp"]))


def _prepare(upstream: FakeUpstream) -> None:
    upstream.add("safe.duckduckgo.com", "A", "198.51.100.7", "198.51.100.8")
    upstream.add("big.example", "TXT", *[f'"{"x" * 200}{i}"' for i in range(12)])
    upstream.cname("alias.example", "denied.example")
    upstream.nxdomain.add("gone.example")
    upstream.add("front.example", "HTTPS", "1 denied.example. alpn=h2")


_served: dict[int, Served] = {}


def _server(serve: ServeFactory, upstream: FakeUpstream) -> Served:
    """One server for all of hypothesis' examples (the fixtures are per test)."""
    if id(serve) not in _served:
        _served.clear()
        _prepare(upstream)
        _served[id(serve)] = serve(dns_options={"rate_limit_qps": 0})
    return _served[id(serve)]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asked=queries())
def test_every_answer_parses_strictly_and_matches_its_question(
    serve: ServeFactory, upstream: FakeUpstream,
    asked: tuple[dns.message.Message, str, str],
) -> None:
    served = _server(serve, upstream)
    query, source, proto = asked
    for _ in range(2):  # the second may come from the fast path
        ask = dns.query.tcp if proto == "tcp" else dns.query.udp
        # dnspython raises on trailing bytes, wrong counts, bad names or a foreign ID
        answer = ask(query, "127.0.0.1", port=served.port, timeout=3, source=source,
                     ignore_trailing=False)
        assert answer.id == query.id
        assert answer.question == query.question
        assert answer.opcode() == query.opcode()
        assert (answer.edns >= 0) == (query.edns >= 0)  # an OPT record exactly when asked
        assert bool(answer.flags & dns.flags.CD) == bool(query.flags & dns.flags.CD)
        assert {o.otype for o in answer.options} & {8, 10} == set()
        if proto == "udp":
            limit = query.payload if query.edns >= 0 else 512
            assert len(answer.to_wire()) <= max(limit, 512) or answer.flags & dns.flags.TC
        if answer.flags & dns.flags.TC:
            assert proto == "udp" and not answer.answer
