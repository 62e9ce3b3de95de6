"""The web tests run against kidshield as ``kidshield serve`` runs it (tests/e2e/harness.py),
with the household of tests/web/helpers.py and a fixed clock (a Wednesday afternoon)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.upstream import FakeUpstream
from tests.web.helpers import AFTERNOON, config_text, write_lists

P = tuple[httpx.Client, dict[str, str]]


@pytest.fixture
def served(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> Served:
    write_lists(tmp_path)
    return serve_config(config_text(upstream.port), FixedClock(AFTERNOON))


@pytest.fixture
def client(served: Served) -> httpx.Client:
    """An anonymous visitor (a browser on Mia's tablet: 127.0.0.1)."""
    return served.client()


@pytest.fixture
def parent(served: Served) -> P:
    """The parent, signed in, and the CSRF header for API writes."""
    return served.parent()
