"""Pause the internet now (issue 16 item 4), on the served app: a parent pauses a child's
internet from the dashboard; every name but helplines and the child's learning sites gets the
block page (which says why), until the pause ends by itself or the parent ends it; pausing
protection (lifting filtering) is a different button and does the opposite."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

BLOCK_PAGE = ["127.0.0.1"]
REAL = ["192.0.2.1"]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_pause_the_internet_then_it_ends(serve_config: ServeConfig, upstream: FakeUpstream,
                                         tmp_path: Path) -> None:
    write_lists(tmp_path)
    text = config_text(upstream.port).replace(
        'name = "Mia"\n', 'name = "Mia"\nlearning_sites = ["khanacademy.org"]\n')
    clock = FixedClock(AFTERNOON)
    served = serve_config(text, clock)
    client, _headers = served.parent()
    page = client.get("/").text
    assert "Pause the internet now" in page and "Lift filtering for a while instead" in page
    r = client.post("/pause-internet", data={"csrf": _csrf(page), "profile": "mia",
                                             "minutes": "30", "back": "/"})
    assert "The internet is paused." in r.text
    assert "The internet is paused until 15:30." in r.text  # London time, on the card
    assert served.addresses("example.org") == BLOCK_PAGE
    assert served.addresses("www.khanacademy.org") == REAL  # a learning site
    assert served.addresses("www.childline.org.uk") == REAL  # a helpline
    block = served.client().get("/", headers={"host": "example.org"})
    assert block.status_code == 403 and "Internet break" in block.text
    me = served.client().get("/me").text
    assert "The internet is paused until 15:30." in me
    clock.advance(timedelta(minutes=31))
    assert served.addresses("example.org") == REAL  # it ended by itself
    # until a time, and ended by hand
    r = client.post("/pause-internet", data={"csrf": _csrf(page), "profile": "mia",
                                             "minutes": "until", "until": "18:00"})
    assert "The internet is paused until 18:00." in r.text
    assert served.addresses("example.org") == BLOCK_PAGE
    client.post("/pause-internet", data={"csrf": _csrf(page), "profile": "mia",
                                         "minutes": "0"})
    assert served.addresses("example.org") == REAL
    audit = [e["action"] for e in client.get("/api/v1/audit").json()]
    assert "internet.pause" in audit and "internet.resume" in audit


def test_pausing_protection_is_the_other_button(
        served: object, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    from tests.e2e.harness import Served

    assert isinstance(served, Served)
    client, headers = parent
    r = client.post("/api/v1/pause-internet", json={"profile": "mia", "minutes": 20},
                    headers=headers)
    assert r.status_code == 200 and r.json()["internet_paused_until"].startswith("2026-11-25")
    assert served.addresses("casino.example") == BLOCK_PAGE
    assert client.get("/api/v1/profiles/mia").json()["internet_paused_at"] == "15:20"
    client.post("/api/v1/pause-internet", json={"profile": "mia", "minutes": 0},
                headers=headers)
    client.post("/api/v1/pause", json={"profile": "mia", "minutes": 20}, headers=headers)
    assert served.addresses("casino.example") == REAL  # filtering lifted: gambling opens
    bad = client.post("/api/v1/pause-internet", json={"profile": "mia", "until": "25:61"},
                      headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "until"
