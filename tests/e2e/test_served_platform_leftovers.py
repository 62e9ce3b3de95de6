"""What the platform walk left (docs/testing.md, "The platform walk"), on the application as
``kidshield serve`` composes it: each check failed on the code before its fix."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # neither [reports] site_url nor [web] public_url: links fall back to the listen address
    with served_household(tmp_path_factory.mktemp("leftovers")) as served:
        served.account("trust and safety", "analyst")
        yield served


@pytest.fixture(scope="module")
def client(live: Served) -> httpx.Client:
    return live.client(headers=live.bearer_for("trust and safety", ["assess", "reports"]))


def test_case_links_start_with_the_listen_address_when_no_public_address_is_set(
        live: Served) -> None:
    assert live.app.config.reports.site_url == "" and live.app.config.web.public_url is None
    reports = live.app.features.reports if live.app.features is not None else None
    assert reports is not None
    link = reports.settings.link("/cases/2")
    assert link == f"{live.url}/cases/2"
    assert link.startswith("http://127.0.0.1:")
