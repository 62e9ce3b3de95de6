"""Helplines on the pages a child sees, in the served app: the first one fits the child's age
and why the page was blocked, and an operator's own [[helplines]] entry is shown and reachable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kidshield.policy.reason import Reason
from kidshield.web import actions
from kidshield.web.server import create_app
from tests.web.helpers import offline_service

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
def served(tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    """The served app with ``profile`` as the default profile (every test request's)."""
    services = []

    def start(profile: str) -> TestClient:
        service = offline_service(tmp_path / profile, tweak=lambda text: text.replace(
            'default_profile = "mia"', f'default_profile = "{profile}"') + LOCAL)
        services.append(service)
        return TestClient(create_app(service))

    for folder in ("mia", "kai"):
        (tmp_path / folder).mkdir()
    yield start
    for service in services:
        assert service.db is not None
        service.db.close()


def _order(html: str, *names: str) -> list[int]:
    return [html.index(name) for name in names]


def test_self_harm_block_leads_with_the_crisis_line_for_a_teen(
        served: Callable[[str], TestClient]) -> None:
    page = served("kai").get("/", headers={"host": "sh.example"}).text  # kai is 13-15
    samaritans, childline = _order(page, "Samaritans", "Childline")
    assert samaritans < childline < page.index("<h1>")


def test_self_harm_block_leads_with_the_child_helpline_under_13(
        served: Callable[[str], TestClient]) -> None:
    page = served("mia").get("/", headers={"host": "sh.example"}).text  # mia is 10
    samaritans, childline = _order(page, "Samaritans", "Childline")
    assert childline < samaritans


def test_an_operators_own_helpline_is_shown_and_reachable(
        served: Callable[[str], TestClient]) -> None:
    client = served("mia")
    page = client.get("/", headers={"host": "casino.example"}).text
    assert "Our school&#39;s counsellors" in page and 'href="tel:01632960000"' in page
    assert "Our school&#39;s counsellors" in client.get("/me").text
    ctx = client.app.state.web  # type: ignore[attr-defined]
    decision = actions.decide_name(ctx, ctx.runtime.profiles["mia"],
                                   "www.school-counselling.example")
    assert decision.reason is Reason.HELPLINE
    reached = client.get("/", headers={"host": "www.school-counselling.example"})
    assert reached.status_code == 200 and "not blocked" in reached.text


def test_a_parents_preview_shows_the_helplines_of_the_previewed_band(tmp_path: Path) -> None:
    from tests.web.helpers import set_up_parent

    service = offline_service(tmp_path)
    try:
        with TestClient(create_app(service)) as client:
            set_up_parent(client)
            teen = client.get("/preview/block?band=13-15&reason=self_harm&name=sh.example").text
            young = client.get("/preview/block?band=under-9&reason=self_harm&name=sh.example").text
    finally:
        assert service.db is not None
        service.db.close()
    assert teen.index("Samaritans") < teen.index("Childline")
    assert young.index("Childline") < young.index("Samaritans")
