"""The cyberdrill against a real kidshield server on 127.0.0.1 with a fake upstream: everything
passes with all protections on; switching one protection off fails exactly its checks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidshield.education.drill import CheckResult, DrillOptions, run_drill
from tests.education.helpers import (
    FakeUpstream,
    block_page_server,
    closed_port,
    drill_config,
    running_server,
    udp_port,
)

SEARCH_ENGINES = {"safe-search-bing", "safe-search-brave", "safe-search-duckduckgo",
                  "safe-search-ecosia", "safe-search-google", "safe-search-pixabay",
                  "safe-search-yandex", "unsupported-search"}
EGRESS = {"egress-53", "egress-853"}


@pytest.fixture()
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture()
def page_port() -> Iterator[int]:
    with block_page_server() as port:
        yield port


def drill(tmp_path: Path, upstream: FakeUpstream, page_port: int, profile_extra: str = "",
          dns_extra: str = "", egress_port: int | None = None) -> dict[str, CheckResult]:
    text = drill_config(tmp_path, upstream.port, profile_extra, dns_extra)
    with running_server(tmp_path, text) as service:
        closed = egress_port or closed_port()
        options = DrillOptions(server="127.0.0.1", port=udp_port(service), timeout=0.5,
                               blocked_names=("adult.drill.test",), egress="127.0.0.1",
                               egress_dns_port=closed, egress_dot_port=closed,
                               block_page_port=page_port)
        return {r.id: r for r in run_drill(options)}


def failed(results: dict[str, CheckResult]) -> set[str]:
    return {k for k, r in results.items() if r.status != "pass"}


def test_all_protections_on_every_check_passes(tmp_path: Path, upstream: FakeUpstream,
                                               page_port: int) -> None:
    results = drill(tmp_path, upstream, page_port)
    assert failed(results) == set(), {k: r.evidence for k, r in results.items()
                                      if r.status != "pass"}
    assert "forcesafesearch.google.com" in results["safe-search-google"].evidence
    assert "HTTP 200" in results["block-page"].evidence


@pytest.mark.parametrize(
    ("profile_extra", "dns_extra", "expected"),
    [
        ('unblocked_categories = ["adult"]', "", {"blocked-category"}),
        ('safe_search = "off"', "", SEARCH_ENGINES),
        ('youtube = "off"', "", {"safe-search-youtube"}),
        ("bypass_protection = false", "", {"encrypted-dns", "private-relay", "vpn"}),
        ("", 'block_mode = "null_ip"', {"block-page"}),
    ],
    ids=["category", "safe-search", "youtube", "bypass", "block-page"],
)
def test_switching_one_protection_off_fails_exactly_its_checks(
    tmp_path: Path, upstream: FakeUpstream, page_port: int, profile_extra: str,
    dns_extra: str, expected: set[str],
) -> None:
    results = drill(tmp_path, upstream, page_port, profile_extra, dns_extra)
    assert failed(results) == expected
    for key in expected:
        assert results[key].status == "fail" and results[key].fix


def test_block_page_down_is_reported_with_the_fix(tmp_path: Path,
                                                  upstream: FakeUpstream) -> None:
    results = drill(tmp_path, upstream, closed_port())
    assert failed(results) == {"block-page"}
    assert "kidshield serve" in results["block-page"].fix


def test_canary_fails_when_the_device_asks_a_plain_resolver(upstream: FakeUpstream) -> None:
    options = DrillOptions(server="127.0.0.1", port=upstream.port, timeout=0.5)
    results = {r.id: r for r in run_drill(options)}
    assert results["canary"].status == "fail"
    assert "NOERROR" in results["canary"].evidence
    assert results["server"].status == "pass"
    assert results["egress-53"].status == "skip"  # no --egress: says how to run it
    assert "--egress" in results["egress-53"].fix


def test_open_firewall_lets_direct_dns_and_dot_out(tmp_path: Path, upstream: FakeUpstream,
                                                   page_port: int) -> None:
    # the fake upstream plays an outside resolver that answers on "port 53"; a plain TCP
    # listener plays an outside DoT server on "port 853"
    results = drill(tmp_path, upstream, page_port, egress_port=upstream.port)
    assert failed(results) == EGRESS
    assert "answered over UDP" in results["egress-53"].evidence
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        from kidshield.education.drill import DrillContext, EgressDot

        ctx = DrillContext(DrillOptions(egress="127.0.0.1", egress_dot_port=port),
                           ask=lambda n, t: (_ for _ in ()).throw(AssertionError(n)))
        assert EgressDot().run(ctx).status == "fail"


def test_server_down_stops_the_drill_with_one_clear_failure() -> None:
    options = DrillOptions(server="127.0.0.1", port=closed_port(), timeout=0.3)
    results = run_drill(options)
    assert [(r.id, r.status) for r in results] == [("server", "fail")]
