"""The first-run wizard (issue 16 item 2) on the served app: the parent account leads to it; a
child added with a birth date moves to the next age band on the birthday (injected clock); a
device seen in the last hour is picked for the child and its lookups count for that child;
problems come back at the field with what was typed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from kidshield.clock import FixedClock
from kidshield.policy.ages import AgeBand
from kidshield.web.pages.wizard import profile_id
from tests.e2e.fixtures import ServeConfig
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_child_added_in_the_wizard_grows_into_the_next_band(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    clock = FixedClock(AFTERNOON)  # Wednesday 25 November 2026
    served = serve_config(config_text(upstream.port), clock)
    client = served.client()
    page = client.get(served.setup_url).text
    r = client.post("/setup", data={"csrf": _csrf(page), "token": served.web.setup_token or "",
                                    "name": "Alex", "password": "correct horse battery",
                                    "password2": "correct horse battery"})
    assert str(r.url).endswith("/welcome?m=welcome") and "Add a child" in r.text
    r = client.post("/welcome/child", data={"csrf": _csrf(r.text), "name": "Nora Ávila",
                                            "birth_date": "2013-11-26",
                                            "timezone": "Europe/London"})
    assert "The child was added." in r.text
    nora = served.app.config.profiles["nora_avila"]
    assert str(nora.birth_date) == "2013-11-26" and nora.age_band is None
    assert served.web.runtime.profiles["nora_avila"].band_at(clock.now()) is AgeBand.AGE_9_12
    page = client.get("/profiles/nora_avila").text
    assert "From 2026-11-26: 13–15." in page
    clock.advance(timedelta(days=1))  # her 13th birthday
    assert served.web.runtime.profiles["nora_avila"].band_at(clock.now()) is AgeBand.AGE_13_15
    page = client.get("/profiles/nora_avila").text
    assert re.search(r'<h1>Nora Ávila <span class="muted">13-15</span></h1>', page)


def test_a_device_seen_in_the_last_hour_is_picked_for_a_child(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/welcome").text
    client.post("/welcome/child", data={"csrf": _csrf(page), "name": "Leo",
                                        "birth_date": "2019-05-01", "timezone": ""})
    pid = "leo_2"  # the household has a profile "leo" already
    assert served.app.config.profiles[pid].name == "Leo"
    served.query("example.org", source="127.0.0.2")  # a device no profile claims
    served.query("example.org", source="127.0.0.1")  # Mia's tablet: not offered
    served.pump()
    page = client.get("/welcome?step=devices").text
    assert "127.0.0.2" in page and "<bdi>127.0.0.1</bdi>" not in page
    r = client.post("/welcome/device", data={"csrf": _csrf(page), "addresses": "127.0.0.2",
                                             "name": "Leo's phone", "profile": pid})
    assert "The device was added." in r.text and "127.0.0.2" not in r.text.split(
        "Seen in the last hour")[1]
    served.query("sh.example", source="127.0.0.2")
    served.pump()
    rows = client.get("/api/v1/querylog", params={"profile": pid}).json()
    assert [row["name"] for row in rows["rows"]] == ["sh.example"]


def test_wizard_problems_keep_what_was_typed(serve_config: ServeConfig,
                                             upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/welcome").text
    r = client.post("/welcome/child", data={"csrf": _csrf(page), "name": "Ada",
                                            "birth_date": "2030-01-01", "timezone": ""})
    assert r.status_code == 422 and "a day in the past" in r.text
    assert 'value="Ada"' in r.text and 'value="2030-01-01" aria-invalid="true"' in r.text
    assert "ada" not in served.app.config.profiles
    r = client.post("/welcome/device", data={"csrf": _csrf(page), "name": "tv",
                                             "profile": "mia", "addresses": ""})
    assert r.status_code == 422 and "an address, a MAC address or a DoH id" in r.text


def test_profile_ids_from_names() -> None:
    assert profile_id("Zoë Ann", set()) == "zoe_ann"
    assert profile_id("ليلى", {"child"}) == "child_2"
    assert profile_id("Mia", {"mia", "mia_2"}) == "mia_3"
