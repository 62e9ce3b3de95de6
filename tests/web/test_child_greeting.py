"""The child page greets one child by name, and everyone on a shared profile without one
("Hi Family devices!" read wrong)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

CHILD_PAGE = {"host": "kidshield.home.arpa"}


def served_with(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
                changes: dict[str, str]) -> httpx.Client:
    """The household of the ``served`` fixture with each key of ``changes`` replaced."""
    write_lists(tmp_path)
    text = config_text(upstream.port)
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return serve_config(text, FixedClock(AFTERNOON)).client()


@pytest.fixture
def family(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> httpx.Client:
    # the tablet at 127.0.0.1 is on the family's shared profile
    return served_with(serve_config, upstream, tmp_path, {
        '[profiles.mia]\nname = "Mia"\n':
            '[profiles.mia]\nname = "Family devices"\nshared = true\n'})


def test_a_shared_profile_is_greeted_without_its_name(family: httpx.Client) -> None:
    text = family.get("/", headers=CHILD_PAGE).text
    assert "Hi! This page explains how the internet is looked after on these devices." in text
    assert "Hi Family devices" not in text


@pytest.mark.parametrize(("lang", "greeting"), [
    ("ar", "مرحبًا! تشرح هذه الصفحة"), ("fr", "Bonjour ! Cette page"), ("zh", "你好！这个页面"),
    ("es", "¡Hola! Esta página"), ("ru", "Привет! Здесь"),
])
def test_the_shared_greeting_is_translated(family: httpx.Client, lang: str,
                                           greeting: str) -> None:
    text = family.get("/", headers={**CHILD_PAGE, "accept-language": lang}).text
    assert greeting in text and "Family devices" not in text.split("<main", 1)[-1]


def test_devices_no_profile_names_are_greeted_without_a_name(
    serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
) -> None:
    # no default profile, and the tablet's address listed nowhere: the adult defaults of
    # every device no profile names ("Everyone else")
    client = served_with(serve_config, upstream, tmp_path, {
        'default_profile = "mia"\n': "",
        'addresses = ["127.0.0.1", "::1"]': 'addresses = ["127.0.0.9"]'})
    text = client.get("/", headers=CHILD_PAGE).text
    assert "Hi Everyone else" not in text
    assert "Hi! This page explains" in text


def test_the_profile_api_sets_shared_and_the_child_page_follows_at_once(
        served: Served, client: httpx.Client, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    signed_in, csrf = parent
    assert "Hi Mia! This page" in client.get("/", headers=CHILD_PAGE).text
    assert signed_in.get("/api/v1/profiles/mia").json()["shared"] is False
    r = signed_in.patch("/api/v1/profiles/mia", json={"shared": True}, headers=csrf)
    assert r.status_code == 200, r.text
    assert r.json()["shared"] is True
    assert served.app.config.profiles["mia"].shared  # kept, as the other fields are
    text = client.get("/", headers=CHILD_PAGE).text
    assert "Hi! This page explains" in text and "Hi Mia" not in text
    # validated like the other fields: a yes/no, named when it is not
    r = signed_in.patch("/api/v1/profiles/mia", json={"shared": "yes"}, headers=csrf)
    assert r.status_code == 422 and r.json()["field"] == "shared"
    # null: back to the configuration file's value
    r = signed_in.patch("/api/v1/profiles/mia", json={"shared": None}, headers=csrf)
    assert r.status_code == 200 and r.json()["shared"] is False
    assert "Hi Mia! This page" in client.get("/", headers=CHILD_PAGE).text
