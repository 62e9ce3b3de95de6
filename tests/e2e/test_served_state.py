"""One state source: what a parent changes in the dashboard (here a pause) is what the
resolver, ``kidshield check`` and a restarted ``serve --no-web`` all go by."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from kidshield.cli import app as cli
from tests.e2e import harness
from tests.e2e.harness import Served


def test_a_pause_set_in_the_dashboard_is_seen_by_dns_check_and_a_restarted_no_web_server(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    assert served.addresses("casino.example") == ["127.0.0.1"]  # Mia: gambling is blocked
    client, headers = parent
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": 30}, headers=headers)
    assert r.status_code == 200, r.text
    assert served.addresses("casino.example") == ["192.0.2.1"]  # at once, on a real query

    at = served.clock.now().isoformat()
    result = CliRunner().invoke(cli, ["check", "--profile", "mia", "casino.example", "--at",
                                      at, "--json", "-c", str(served.config_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reason"] == "paused"

    with harness.start(served.config_path, served.clock, web=False) as again:
        assert again.addresses("casino.example") == ["192.0.2.1"]
