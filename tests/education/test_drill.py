"""The cyberdrill against a real kidshield (DNS and web servers, as `kidshield serve` runs them)
on 127.0.0.1 with a fake upstream: everything passes with all protections on; switching one
protection off fails exactly its checks; a device whose own resolver bypasses kidshield, or
reaches it through a router, is told so, with the profile it was matched to."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidshield.education.drill import CheckResult, DrillOptions, SystemLookup, run_drill
from kidshield.education.scorecard import summary
from tests.education.helpers import (
    FakeUpstream,
    block_page_server,
    closed_port,
    drill_config,
    resolver_lookup,
    served,
)

SEARCH_ENGINES = {"safe-search-bing", "safe-search-brave", "safe-search-duckduckgo",
                  "safe-search-ecosia", "safe-search-google", "safe-search-pixabay",
                  "safe-search-yandex", "unsupported-search"}
EGRESS = {"egress-53", "egress-853"}


@pytest.fixture()
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def drill(tmp_path: Path, upstream: FakeUpstream, profile_extra: str = "",
          dns_extra: str = "", egress_port: int | None = None,
          page_port: int | None = None, source: str = "127.0.0.1",
          lookup: SystemLookup | None = None) -> dict[str, CheckResult]:
    """Drill the served kidshield; the device's system resolver is kidshield itself asked
    from ``source``, unless ``lookup`` says otherwise."""
    text = drill_config(tmp_path, upstream.port, profile_extra, dns_extra)
    with served(tmp_path, text) as live:
        closed = egress_port or closed_port()
        options = DrillOptions(server="127.0.0.1", port=live.dns_port, timeout=0.5,
                               blocked_names=("adult.drill.test",), egress="127.0.0.1",
                               egress_dns_port=closed, egress_dot_port=closed,
                               block_page_port=page_port or live.bound("http"))
        return {r.id: r for r in run_drill(
            options, lookup=lookup or resolver_lookup(live.dns_port, source))}


def failed(results: dict[str, CheckResult]) -> set[str]:
    return {k for k, r in results.items() if r.status != "pass"}


def test_all_protections_on_every_check_passes(tmp_path: Path, upstream: FakeUpstream) -> None:
    results = drill(tmp_path, upstream)
    assert failed(results) == set(), {k: r.evidence for k, r in results.items()
                                      if r.status != "pass"}
    assert "forcesafesearch.google.com" in results["safe-search-google"].evidence
    assert "kidshield's block page for adult.drill.test" in results["block-page"].evidence
    assert "matched to profile kid" in results["this-device"].evidence
    card = summary(list(results.values()))
    assert card["score"] == 100 and card["complete"] and card["profile"] == "kid"


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
    tmp_path: Path, upstream: FakeUpstream, profile_extra: str, dns_extra: str,
    expected: set[str],
) -> None:
    results = drill(tmp_path, upstream, profile_extra, dns_extra)
    assert failed(results) == expected
    for key in expected:
        assert results[key].status == "fail" and results[key].fix


def test_block_page_check_is_strict_about_what_answers(tmp_path: Path,
                                                      upstream: FakeUpstream) -> None:
    # nothing listens where blocked names point
    (tmp_path / "down").mkdir()
    results = drill(tmp_path / "down", upstream, page_port=closed_port())
    assert failed(results) == {"block-page"}
    assert "kidshield serve" in results["block-page"].fix
    # another web server answers there with a 200 page that says "blocked": not ours
    (tmp_path / "other").mkdir()
    with block_page_server() as other:
        results = drill(tmp_path / "other", upstream, page_port=other)
    assert failed(results) == {"block-page"}
    assert "HTTP 200" in results["block-page"].evidence
    assert "ask-for-access form" in results["block-page"].evidence


def test_a_device_whose_resolver_bypasses_kidshield_is_told_so(
    tmp_path: Path, upstream: FakeUpstream,
) -> None:
    """The device's system resolver is a plain resolver on loopback (the fake upstream): the
    direct checks still pass, but the drill says this device does not use kidshield."""
    results = drill(tmp_path, upstream, lookup=resolver_lookup(upstream.port))
    assert results["this-device"].status == "fail"
    assert "kidshield never saw it" in results["this-device"].evidence
    assert "Point the device" in results["this-device"].fix
    assert results["canary"].status == "fail"  # Firefox would switch on its own DoH
    assert "192.0.2.10" in results["canary"].evidence
    assert failed(results) == {"this-device", "canary"}
    card = summary(list(results.values()))
    assert card["profile"] is None and card["score"] < 90


def test_a_device_behind_a_router_is_told_which_profile_it_gets(
    tmp_path: Path, upstream: FakeUpstream,
) -> None:
    """The device's queries reach kidshield through a router (127.0.0.2) that is matched to
    the adults' profile: the drill reports that profile, and that the direct checks (matched
    to the device's own address) may not show what the device gets."""
    results = drill(tmp_path, upstream, source="127.0.0.2")
    device = results["this-device"]
    assert device.status == "warn" and device.profile == "household"
    assert "from 127.0.0.2, matched to profile household" in device.evidence
    assert "matched to profile kid" in device.evidence
    assert summary(list(results.values()))["profile"] == "household"


def test_open_firewall_lets_direct_dns_and_dot_out(tmp_path: Path,
                                                   upstream: FakeUpstream) -> None:
    # the fake upstream plays an outside resolver that answers on "port 53"; a plain TCP
    # listener plays an outside DoT server on "port 853"
    results = drill(tmp_path, upstream, egress_port=upstream.port)
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
