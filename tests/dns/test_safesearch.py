"""Safe search: every engine in the shipped data answers with a CNAME to its safe host plus
the safe host's addresses from upstream, for A and AAAA."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import dns.rcode
import dns.rdatatype
import pytest

from tests.dns.conftest import (
    ADULT,
    KID,
    TEEN,
    FakeUpstream,
    Served,
    ServeFactory,
    addresses,
    cname_targets,
)

SAFE_V4 = "198.51.100.7"
SAFE_V6 = "2001:db8::7"

ENGINES: list[dict[str, Any]] = tomllib.loads(
    resources.files("kidshield.policy").joinpath("data/safesearch.toml").read_text("utf-8")
)["engine"]

RULES = """
[[clients]]
name = "kid"
profile = "kid"
addresses = ["127.0.0.2"]

[[clients]]
name = "teen"
profile = "teen"
addresses = ["127.0.0.3"]

[profiles.kid]
age_band = "9-12"
unblocked_services = ["youtube"]

[profiles.teen]
age_band = "13-15"
"""


def _sample(hosts: list[str]) -> list[str]:
    """Google has ~400 names: take a spread of them (first, last, a few country domains)."""
    if len(hosts) <= 8:
        return hosts
    picks = {hosts[0], hosts[1], hosts[-1], hosts[len(hosts) // 2]}
    picks |= {h for h in hosts if h in ("www.google.co.uk", "google.de", "www.google.com.br",
                                        "www.google.co", "google.co",
                                        "yandex.com.tr")}
    return sorted(picks)


def _serve_with_safe_hosts(serve: ServeFactory, upstream: FakeUpstream) -> Served:
    for engine in ENGINES:
        for host in {engine["strict"], engine["moderate"]}:
            upstream.add(host, "A", SAFE_V4)
            upstream.add(host, "AAAA", SAFE_V6)
    return serve(rest=RULES)


def _assert_rewritten(answer: Any, host: str, target: str, rdtype: str) -> None:
    assert answer.rcode() == dns.rcode.NOERROR, host
    assert cname_targets(answer) == [target], host
    assert answer.answer[0].name.to_text(omit_final_dot=True) == host
    assert addresses(answer) == [SAFE_V4 if rdtype == "A" else SAFE_V6], host
    owners = {r.name.to_text(omit_final_dot=True) for r in answer.answer
              if r.rdtype != dns.rdatatype.CNAME}
    assert owners == {target}, host


@pytest.mark.parametrize("engine", ENGINES, ids=[e["id"] for e in ENGINES])
def test_search_engines_are_rewritten_to_their_safe_host(
    serve: ServeFactory, upstream: FakeUpstream, engine: dict[str, Any],
) -> None:
    served = _serve_with_safe_hosts(serve, upstream)
    kid_target = engine["strict"]  # 9-12: strict search and strict YouTube
    teen_target = engine["moderate"] if engine["setting"] == "youtube" else engine["strict"]
    for host in _sample(engine["hosts"]):
        for rdtype in ("A", "AAAA"):
            for _ in range(2):  # slow path, then the ready answer
                _assert_rewritten(served.query(host, rdtype, source=KID), host, kid_target,
                                  rdtype)
            _assert_rewritten(served.query(host, rdtype, source=TEEN), host, teen_target,
                              rdtype)
        # adults are not rewritten: the upstream's own answer
        adult = served.query(host, source=ADULT)
        assert cname_targets(adult) == [] and addresses(adult) == ["192.0.2.1"]


def test_youtube_is_strict_for_the_child_and_moderate_for_the_teen(
    serve: ServeFactory, upstream: FakeUpstream,
) -> None:
    served = _serve_with_safe_hosts(serve, upstream)
    assert cname_targets(served.query("www.youtube.com", source=KID)) == ["restrict.youtube.com"]
    assert cname_targets(served.query("m.youtube.com", source=TEEN)) == [
        "restrictmoderate.youtube.com"]


def test_unsupported_search_engines_are_blocked_while_safe_search_is_on(
    serve: ServeFactory,
) -> None:
    served = serve(rest=RULES)
    assert addresses(served.query("uk.search.yahoo.com", source=KID)) == ["127.0.0.1"]
    assert addresses(served.query("html.duckduckgo.com", source=TEEN)) == ["127.0.0.1"]
    assert addresses(served.query("uk.search.yahoo.com", source=ADULT)) == ["192.0.2.1"]
