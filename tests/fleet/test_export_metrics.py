"""``kidshield serve`` with ``[fleet] unbound_out`` and ``listen``: an export that fails shows on
``/metrics`` (the metrics listener and the web one: failures, failures in a row; each export
is tried again by itself), one that succeeds after the fix (no reload) shows when and until
when its policy is right, and the page stays
clean for ``promtool check metrics``. An operator alerts on these (docs/fleet.md, "Alerts on
the exports"), not on the log."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import httpx

from kidshield.clock import FixedClock
from kidshield.fleet.unbound_export import POLICY_FILE
from tests.dns.test_metrics_endpoint import check_with_promtool
from tests.e2e.harness import Served, start
from tests.fleet.conftest import FakeAuthority
from tests.fleet.test_transfer import TIMINGS
from tests.fleet.test_unbound import NOON
from tests.fleet.test_unbound_module import setup, wait_for

EDGE = datetime.fromisoformat("2026-12-02T21:00:00+00:00")  # mia's bedtime: valid_until
FLEET_METRICS = {"kidshield_fleet_export_failures_total",
                 "kidshield_fleet_export_consecutive_failures",
                 "kidshield_fleet_export_last_success_timestamp_seconds",
                 "kidshield_fleet_export_valid_until_timestamp_seconds"}


def metrics(served: Served, web: bool = False) -> dict[str, float]:
    """The fleet samples of the page on the metrics listener (``--no-web`` has it too) or on
    the web listener, by name and labels."""
    base = served.url if web else f"http://127.0.0.1:{served.bound('metrics')}"
    text = httpx.get(f"{base}/metrics", timeout=5, verify=False).text
    check_with_promtool(text)
    return {key: float(value) for key, value in (
        line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("kidshield_fleet_"))}


def test_failed_fleet_exports_and_their_recovery_show_on_the_served_metrics(
    tmp_path: Path, authority: FakeAuthority,
) -> None:
    config = setup(tmp_path, authority.port)
    config.write_text(config.read_text().replace(
        'listen = ["127.0.0.1:5353"]', 'listen = ["127.0.0.1:0"]') + """
[web]
listen = "127.0.0.1:0"

[metrics]
listen = "127.0.0.1:0"
auth = false

[fleet]
unbound_out = "for-unbound"
listen = "127.0.0.1:0"
primary = "127.0.0.1:5300"
allow_transfer = ["127.0.0.1/32"]
out = "for-rpz"
""")
    blockers = [tmp_path / "for-unbound", tmp_path / "for-rpz"]
    for blocker in blockers:  # a folder that is a file: both exports fail
        blocker.write_text("not a folder\n")
    timings = dataclasses.replace(TIMINGS, fleet=30.0, fleet_retry=0.3)
    clock = FixedClock(datetime.fromisoformat(NOON))
    with start(config, clock, timings=timings) as served:
        fleet = served.app.fleet
        assert fleet is not None
        # each export is tried again by itself, with its own record
        assert wait_for(lambda: min(h.in_a_row for h in fleet.health.values()) >= 2, 30)
        seen = metrics(served)
        for export in ("unbound", "rpz"):
            assert seen[f'kidshield_fleet_export_failures_total{{export="{export}"}}'] >= 2
            assert seen[
                f'kidshield_fleet_export_consecutive_failures{{export="{export}"}}'] >= 2
        # nothing succeeded yet: no timestamps (a zero would read as "long ago")
        assert not [name for name in seen if "timestamp" in name], seen

        for blocker in blockers:
            blocker.unlink()  # the operator fixes it
        assert wait_for(lambda: (blockers[0] / POLICY_FILE).exists(), 30)
        # the next tries succeed: no reload needed, for the RPZ export either
        assert wait_for(lambda: max(h.in_a_row for h in fleet.health.values()) == 0, 30)
        assert served.app.reloads == 0
        after = metrics(served)
        assert {name.partition("{")[0] for name in after} == FLEET_METRICS
        assert metrics(served, web=True) == after  # the web listener's /metrics alike
        noon = datetime.fromisoformat(NOON).timestamp()
        for export in ("unbound", "rpz"):
            label = f'{{export="{export}"}}'
            assert after[f"kidshield_fleet_export_consecutive_failures{label}"] == 0
            # a counter: the failures stay counted (each export may have failed once more
            # between the two pages)
            assert after[f"kidshield_fleet_export_failures_total{label}"] >= seen[
                f"kidshield_fleet_export_failures_total{label}"]
            assert after[f"kidshield_fleet_export_last_success_timestamp_seconds{label}"] == noon
            assert after[f"kidshield_fleet_export_valid_until_timestamp_seconds{label}"] == (
                EDGE.timestamp())


def test_the_alert_rules_in_the_docs_pass_promtool_check_rules(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "fleet.md").read_text()
    block = re.search(r"```yaml\n# prometheus rules file\n(.*?)```", docs, re.S)
    assert block is not None, "docs/fleet.md has no rules file"
    rules = tmp_path / "rules.yml"
    rules.write_text(block.group(1))
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: scripts/apt-packages installs it"
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for metric in re.findall(r"kidshield_fleet_\w+", block.group(1)):
        assert metric in FLEET_METRICS, metric  # the rules name metrics that exist
