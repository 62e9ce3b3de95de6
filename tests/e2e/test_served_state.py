"""One state source: what a parent changes in the dashboard (here a pause) is what the
resolver, ``kidshield check`` and a restarted ``serve --no-web`` all go by."""

from __future__ import annotations

import json
from datetime import timedelta

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


def _check(served: Served, name: str, profile: str = "mia") -> dict[str, object]:
    result = CliRunner().invoke(cli, ["check", "--profile", profile, name, "--at",
                                      served.clock.now().isoformat(), "--json", "-c",
                                      str(served.config_path)])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.output)
    return answer


def test_a_profile_edit_in_the_dashboard_is_kept_over_the_file_and_seen_by_every_reader(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = parent
    before = served.config_path.read_text()
    r = client.patch("/api/v1/profiles/mia", json={"deny": ["homework.example"]},
                     headers=headers)
    assert r.status_code == 200, r.text
    assert served.addresses("homework.example") == ["127.0.0.1"]  # DNS: at once
    assert served.config_path.read_text() == before  # the file is untouched
    decision = _check(served, "homework.example")
    assert decision["reason"] == "deny_list"
    assert "dashboard edit by Alex" in str(decision["source"])  # where the rule came from
    with harness.start(served.config_path, served.clock, web=False) as again:
        assert again.addresses("homework.example") == ["127.0.0.1"]
    # the file can be regenerated with it: `kidshield config export`
    result = CliRunner().invoke(cli, ["config", "export", "-c", str(served.config_path)])
    assert result.exit_code == 0, result.output
    assert 'deny = ["homework.example"]' in result.output
    assert "# kidshield test configuration (comments must survive edits)" in result.output


def test_when_the_file_changes_an_edited_setting_later_the_file_wins_and_the_dashboard_says_so(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = parent
    r = client.put("/api/v1/profiles/mia/bedtime", json={"bedtime": "19:30",
                                                         "wake_up": "07:00"}, headers=headers)
    assert r.status_code == 200, r.text
    served.clock.advance(timedelta(hours=5))  # Wednesday 20:00: Mia's dashboard bedtime
    assert served.addresses("homework.example") == ["127.0.0.1"]
    # later, someone edits the file's bedtime by hand (the watcher reloads it)
    text = served.config_path.read_text().replace('bedtime = "21:00"', 'bedtime = "21:30"')
    served.write_config(text)
    assert served.reload()
    assert served.addresses("homework.example") == ["192.0.2.1"]  # the file's 21:30 holds
    view = client.get("/api/v1/profiles/mia").json()
    assert view["bedtime"]["from"] == "21:30" and view["edits"] == []
    [lost] = view["overtaken"]
    assert (lost["setting"], lost["value"], lost["by"], lost["status"]) == (
        "profiles.mia.bedtime", "19:30", "Alex", "superseded")
    page = client.get("/profiles/mia").text
    assert "replaced by newer changes in the configuration file" in page
    assert _check(served, "homework.example")["reason"] == "allowed"
    # nothing was lost: the file's change and the dashboard's are both on record
    assert client.get("/api/v1/edits").json()["overtaken"][0]["id"] == lost["id"]


def test_a_discarded_edit_goes_back_to_the_file(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = parent
    client.patch("/api/v1/profiles/mia", json={"deny": ["homework.example"]}, headers=headers)
    assert served.addresses("homework.example") == ["127.0.0.1"]
    [edit] = client.get("/api/v1/edits").json()["in_force"]
    r = client.delete(f"/api/v1/edits/{edit['id']}", headers=headers)
    assert r.status_code == 200, r.text
    assert served.addresses("homework.example") == ["192.0.2.1"]
    assert client.delete(f"/api/v1/edits/{edit['id']}", headers=headers).status_code == 404
