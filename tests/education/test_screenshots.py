"""The drill scorecard in Chromium, saved as a screenshot in docs/images/ (lessons and
workshops are tested, and photographed, on the served app: test_browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.education.drill import DrillOptions, run_drill
from kidshield.education.scorecard import to_html
from tests.education.helpers import FakeUpstream, drill_config, resolver_lookup, served
from tests.screenshots import images_dir

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
IMAGES = images_dir()
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


@pytest.fixture()
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.slow
def test_drill_scorecard_screenshot(tmp_path: Path, browser: object) -> None:
    with FakeUpstream() as fake:
        text = drill_config(tmp_path, fake.port, 'youtube = "off"')
        with served(tmp_path, text) as live:
            options = DrillOptions(server="127.0.0.1", port=live.dns_port, timeout=0.5,
                                   blocked_names=("adult.drill.test",),
                                   block_page_port=live.bound("http"))
            results = run_drill(options, lookup=resolver_lookup(live.dns_port))
    assert {r.id for r in results if r.status == "fail"} == {"safe-search-youtube"}
    assert {r.id for r in results if r.status == "skip"} == {"egress-53", "egress-853"}
    html = to_html(results, "127.0.0.1 (a test server)",
                   datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.set_content(html)
    assert page.locator("tr#safe-search-youtube .fail").is_visible()
    page.screenshot(path=str(IMAGES / "drill-scorecard.png"), full_page=True)
