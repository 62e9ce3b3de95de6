"""Helplines on the pages a child sees, in the served app: the first one fits the child's age
and why the page was blocked, and an operator's own [[helplines]] entry is shown and reachable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kidshield.clock import FixedClock
from kidshield.policy.reason import Reason
from kidshield.web import actions
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

LOCAL = """
[[helplines]]
id = "gb-school-counselling"
country = "GB"
kind = "child"
name = "Our school's counsellors"
phone = "01632 960 000"
url = "https://school-counselling.example"
domains = ["school-counselling.example"]
checked = 2026-11-20
"""


@pytest.fixture
def serve_for(serve_config: ServeConfig, upstream: FakeUpstream,
              tmp_path: Path) -> Callable[[str], Served]:
    """The served app with the test's device (127.0.0.1) belonging to ``profile``."""

    def start(profile: str) -> Served:
        folder = tmp_path / profile
        folder.mkdir()
        write_lists(folder)
        text = config_text(upstream.port).replace('profile = "mia"', f'profile = "{profile}"')
        return serve_config(text + LOCAL, FixedClock(AFTERNOON),
                            name=f"{profile}/kidshield.toml")

    return start


def _order(html: str, *names: str) -> list[int]:
    return [html.index(name) for name in names]


def test_self_harm_block_leads_with_the_crisis_line_for_a_teen(
        serve_for: Callable[[str], Served]) -> None:
    page = serve_for("kai").client().get("/", headers={"host": "sh.example"}).text  # kai is 13-15
    samaritans, childline = _order(page, "Samaritans", "Childline")
    assert samaritans < childline < page.index("<h1>")


def test_self_harm_block_leads_with_the_child_helpline_under_13(
        serve_for: Callable[[str], Served]) -> None:
    page = serve_for("mia").client().get("/", headers={"host": "sh.example"}).text  # mia is 10
    samaritans, childline = _order(page, "Samaritans", "Childline")
    assert childline < samaritans


def test_an_operators_own_helpline_is_shown_and_reachable(
        serve_for: Callable[[str], Served]) -> None:
    served = serve_for("mia")
    client = served.client()
    page = client.get("/", headers={"host": "casino.example"}).text
    assert "Our school&#39;s counsellors" in page and 'href="tel:01632960000"' in page
    assert "Our school&#39;s counsellors" in client.get("/me").text
    ctx = served.web
    decision = actions.decide_name(ctx, ctx.runtime.profiles["mia"],
                                   "www.school-counselling.example")
    assert decision.reason is Reason.HELPLINE
    reached = client.get("/", headers={"host": "www.school-counselling.example"})
    assert reached.status_code == 200 and "not blocked" in reached.text


def test_a_parents_preview_shows_the_helplines_of_the_previewed_band(
        parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _ = parent
    teen = client.get("/preview/block?band=13-15&reason=self_harm&name=sh.example").text
    young = client.get("/preview/block?band=under-9&reason=self_harm&name=sh.example").text
    assert teen.index("Samaritans") < teen.index("Childline")
    assert young.index("Childline") < young.index("Samaritans")


def test_a_short_code_with_a_star_or_hash_is_a_working_link(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    # a helpline's short code such as Israel's ELI line *6935: "#" would start a URL fragment
    write_lists(tmp_path)
    local = LOCAL.replace('phone = "01632 960 000"', 'phone = "*6935"\ntext = "#12 34"')
    served = serve_config(config_text(upstream.port) + local, FixedClock(AFTERNOON))
    client = served.client()
    for page in (client.get("/", headers={"host": "casino.example"}).text, client.get("/me").text):
        assert 'href="tel:*6935" dir="ltr">*6935</a>' in page
        assert 'href="sms:%231234" dir="ltr">#12 34</a>' in page
