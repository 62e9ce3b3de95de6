"""The week-grid schedule editor (issue 16 item 3): a homework window painted on the grid is
in force for the DNS server and for ``kidshield check`` (which reads the dashboard's edits);
painting again replaces only that schedule; the grid shows each schedule's name and kind;
problems come back at the field with the painted hours kept."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx

from kidshield.clock import FixedClock
from kidshield.web.schedule_grid import cells_of, schedules_from_cells, window_of
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

SCHOOL = '''name = "Mia"
schedules = [
  { name = "school", days = "weekdays", from = "08:30", to = "15:00", services = ["tiktok"] },
]
'''


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _check(served: Served, at: str) -> dict[str, object]:
    """``kidshield check`` as a parent runs it, beside the running server."""
    result = subprocess.run(
        [sys.executable, "-m", "kidshield", "check", "-c", str(served.config_path),
         "-p", "mia", "--at", at, "--json", "example.org"],
        capture_output=True, text=True, timeout=120, check=True)
    found: dict[str, object] = json.loads(result.stdout)
    return found


def _paint(client: httpx.Client, page: str, fields: list[tuple[str, str]]) -> httpx.Response:
    """Post the grid form as a browser does (repeated ``cell`` fields)."""
    return client.post("/profiles/mia/schedules/grid",
                       content=urlencode([("csrf", _csrf(page)), *fields]),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def _serve(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> Served:
    write_lists(tmp_path)
    return serve_config(config_text(upstream.port).replace('name = "Mia"\n', SCHOOL),
                        FixedClock(AFTERNOON))


def test_a_grid_painted_homework_window_changes_kidshield_check(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    assert _check(served, "2026-11-25T16:30")["action"] == "allow"  # a Wednesday
    page = client.get("/profiles/mia").text
    weekdays_16_to_18 = [("cell", f"{d}:{h}") for d in range(5) for h in (16, 17)]
    r = _paint(client, page, [("original", ""), ("label", "homework"), ("kind", "block"),
                              *weekdays_16_to_18])
    assert r.status_code == 200 and "Saved." in r.text
    mia = served.app.config.profiles["mia"]
    assert [(s.name, s.days, s.start, s.end) for s in mia.schedules] == [
        ("school", "weekdays", "08:30", "15:00"), ("homework", "weekdays", "16:00", "18:00")]
    found = _check(served, "2026-11-25T16:30")
    assert found["action"] == "block" and found["reason"] == "schedule"
    assert _check(served, "2026-11-25T18:05")["action"] == "allow"
    assert _check(served, "2026-11-28T16:30")["action"] == "allow"  # Saturday
    # the week grid names it, in its colour
    assert re.search(r'<td class="block" title="homework: blocked hours">', r.text)
    # painting homework again (Wednesday free) leaves school, with its minutes and scope
    page = client.get("/profiles/mia?schedule=homework").text
    assert 'name="cell" value="2:16" aria-label="Wed 16:00" checked' in page
    r = _paint(client, page, [("original", "homework"), ("label", "homework"),
                              ("kind", "block"),
                              *[c for c in weekdays_16_to_18 if not c[1].startswith("2:")]])
    mia = served.app.config.profiles["mia"]
    assert mia.schedules[0].model_dump(by_alias=True) == {
        "name": "school", "days": "weekdays", "from": "08:30", "to": "15:00",
        "action": "block", "services": ["tiktok"], "categories": []}
    assert [s.days for s in mia.schedules[1:]] == [["mon", "tue", "thu", "fri"]]
    assert _check(served, "2026-11-25T16:30")["action"] == "allow"


def test_grid_problems_keep_the_painted_hours(serve_config: ServeConfig,
                                              upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    page = client.get("/profiles/mia").text
    r = _paint(client, page, [("original", ""), ("label", "school"), ("kind", "allow_only"),
                              ("cell", "0:9"), ("cell", "0:10")])
    assert r.status_code == 422 and "Saved." not in r.text
    assert 'id="label" name="label" value="school"' in r.text and "already a schedule" in r.text
    assert 'value="0:9" aria-label="Mon 09:00" checked' in r.text
    assert 'name="kind" value="allow_only" checked' in r.text
    assert [s.name for s in served.app.config.profiles["mia"].schedules] == ["school"]


def test_removing_a_schedule_keeps_the_others(serve_config: ServeConfig,
                                              upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    page = client.get("/profiles/mia").text
    _paint(client, page, [("original", ""), ("label", "evening"), ("kind", "allow_only"),
                          *[("cell", f"{d}:{h}") for d in range(7) for h in (18, 19)]])
    page = client.get("/profiles/mia").text
    assert re.search(r'<td class="allow_only" title="evening: outside the allowed hours">',
                     page)
    r = client.post("/profiles/mia/schedules/remove", data={"csrf": _csrf(page),
                                                           "name": "school"})
    assert r.status_code == 200
    mia = served.app.config.profiles["mia"]
    assert [(s.name, s.action, s.days, s.start, s.end) for s in mia.schedules] == [
        ("evening", "allow_only", "daily", "18:00", "20:00")]


def test_grid_round_trip_is_exact_for_whole_hours() -> None:
    for table in ({"from": "21:00", "to": "07:00", "days": "school-nights"},
                  {"from": "16:00", "to": "00:00", "days": ["wed", "sat"]},
                  {"from": "00:00", "to": "00:00", "days": "weekend"}):
        cells = cells_of(window_of(table))
        again: set[tuple[int, int]] = set()
        for found in schedules_from_cells(cells, "x", "block"):
            again |= cells_of(window_of(found))
        assert again == cells
    # a window within an hour shows on the hours it touches
    assert cells_of(window_of({"from": "16:30", "to": "17:15", "days": ["mon"]})) == {
        (0, 16), (0, 17)}
