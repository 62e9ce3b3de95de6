"""Drill building blocks without a network: how answers are classified, which names are
probed, the scorecard renderings, and the drill command's human output."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from typer.testing import CliRunner

from kidshield.cli import app as cli_app
from kidshield.education.drill import (
    Answer,
    CheckResult,
    DrillContext,
    DrillOptions,
    EncryptedDns,
    all_checks,
    probe_host,
    spread,
)
from kidshield.education.scorecard import (
    print_scorecard,
    score,
    summary,
    summary_line,
    to_html,
    to_json,
)
from kidshield.policy.catalog import default_catalog


def test_blocked_answers_are_recognised_by_ede_rcode_or_null_address() -> None:
    assert Answer("a.test", "NOERROR", ("127.0.0.1",), ede=(17,)).blocked
    assert Answer("a.test", "NXDOMAIN").blocked
    assert Answer("a.test", "REFUSED").blocked
    assert Answer("a.test", "NOERROR", ("0.0.0.0",)).blocked
    assert not Answer("a.test", "NOERROR", ("192.0.2.1",)).blocked
    assert not Answer("a.test", "NOERROR").blocked  # NODATA is not a block


def test_probes_use_the_best_known_host_and_spread_over_providers() -> None:
    engines = default_catalog().engines
    assert probe_host(engines["google"]) == "www.google.com"
    assert probe_host(engines["youtube"]) == "www.youtube.com"
    assert spread(list("abcdefghij"), 5) == ["a", "c", "e", "g", "i"]
    assert spread(["a"], 5) == ["a"]


def test_a_bypass_check_reports_every_name_that_got_through() -> None:
    def ask(name: str, _rdtype: str) -> Answer:
        return Answer(name, "NOERROR", ("192.0.2.1",)) if name == "dns.google" else \
            Answer(name, "NXDOMAIN")

    result = EncryptedDns().run(DrillContext(DrillOptions(), ask))
    assert result.status == "fail"
    assert result.evidence.startswith("not blocked: dns.google (")
    assert "bypass_protection = true" in result.fix


RESULTS = [
    CheckResult("canary", "Canary", "pass", "use-application-dns.net: NXDOMAIN", weight=5),
    CheckResult("vpn", "VPN", "fail", "not blocked: nordvpn.com", "Set bypass_protection",
                weight=6),
    CheckResult("egress-53", "Egress", "skip", "no --egress", "Run again with --egress",
                weight=6),
]


def _all(status: str, **changes: str) -> list[CheckResult]:
    """One result per shipped check, weighted as the drill weighs them."""
    return [CheckResult(c.id, c.title, changes.get(c.id, status), "", "", c.weight)  # type: ignore[arg-type]
            for c in all_checks()]


def test_score_weighs_checks_by_the_harm_a_gap_allows() -> None:
    assert score(_all("pass")) == 100
    # all bypass blocking off: the three bypass checks fail
    bypass = _all("pass", **{"encrypted-dns": "fail", "private-relay": "fail", "vpn": "fail"})
    unweighted = sum(r.status == "pass" for r in bypass) / len(bypass)
    assert unweighted > 0.8  # a count of checks would say 84%
    assert score(bypass) <= 50  # any child can switch every filter off: a critical gap
    assert set(summary(bypass)["critical"]) == {"encrypted-dns", "vpn"}
    # a gap in a small search engine weighs less than one in the category blocks
    assert score(_all("pass", **{"safe-search-pixabay": "fail"})) > score(
        _all("pass", **{"blocked-category": "fail"}))
    # the device not using kidshield at all is the heaviest single gap
    weights = {c.id: c.weight for c in all_checks()}
    assert weights["this-device"] == weights["server"] == max(weights.values())
    # a warning counts half
    assert score(_all("pass", **{"this-device": "warn"})) < 100


def test_skipped_checks_never_show_100() -> None:
    skipped = _all("pass", **{"egress-53": "skip", "egress-853": "skip"})
    card = summary(skipped)
    assert card["score"] < 100 and not card["complete"] and card["skip"] == 2
    assert "2 skipped checks count as not proven" in summary_line(skipped)
    # even the lightest check skipped keeps it below 100
    assert 95 < score(_all("pass", **{"safe-search-pixabay": "skip"})) < 100


def test_scorecard_renderings_agree() -> None:
    card = summary(RESULTS)
    assert {k: card[k] for k in ("pass", "fail", "warn", "skip")} == {
        "pass": 1, "fail": 1, "warn": 0, "skip": 1}
    assert card["score"] == int(100 * 5 / 17) and card["complete"] is False
    assert card["critical"] == []  # the VPN here weighs 6
    assert '"status": "fail"' in to_json(RESULTS, "s")
    html = to_html(RESULTS, "s", datetime(2026, 1, 1, tzinfo=UTC))
    assert 'id="vpn"' in html and "Set bypass_protection" in html
    console = Console(record=True, width=140)
    print_scorecard(RESULTS, console, "192.168.1.2 port 53")
    text = console.export_text()
    assert "FAIL" in text and "1 passed, 1 failed, 0 warnings, 1 skipped" in text


def test_drill_command_refuses_names_where_addresses_are_needed() -> None:
    result = CliRunner().invoke(cli_app, ["drill", "--egress", "dns.example"])
    assert result.exit_code == 2 and "not an IP address" in result.output
