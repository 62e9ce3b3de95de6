"""Browser tests with Playwright (Debian chromium): the lessons for each band and a drill
scorecard, saved as screenshots in docs/images/; the quiz works in a real browser."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from kidshield.education.drill import DrillOptions, run_drill
from kidshield.education.progress import ProgressStore
from kidshield.education.scorecard import to_html
from kidshield.education.web import EducationSite, routes
from kidshield.storage.db import Database
from tests.education.helpers import (
    FakeUpstream,
    block_page_server,
    drill_config,
    running_server,
    udp_port,
)
from tests.screenshots import images_dir

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
IMAGES = images_dir()
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[tuple[str, ProgressStore]]:
    db = Database.open(tmp_path / "ks.db")
    store = ProgressStore(db)
    web = Starlette(routes=routes(EducationSite(progress=store, profile_for=lambda _a: "mia",
                                                country="GB")))
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(10)
        db.close()


@pytest.fixture()
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.slow
def test_lesson_screenshots_for_each_band_and_the_quiz_saves_progress(
    site: tuple[str, ProgressStore], browser: object,
) -> None:
    base, store = site
    page = browser.new_page(viewport={"width": 900, "height": 1300})  # type: ignore[attr-defined]
    IMAGES.mkdir(parents=True, exist_ok=True)
    for band, topic in (("under-9", "strangers"), ("9-12", "privacy"),
                        ("13-18", "getting-help")):
        page.goto(f"{base}/learn/{band}/{topic}")
        assert page.locator("h1").first.is_visible()
        page.screenshot(path=str(IMAGES / f"lesson-{band}.png"), full_page=True)
    # answer the 13-18 quiz: all correct
    page.goto(f"{base}/learn/13-18/getting-help")
    for i, answer in enumerate((0, 1, 0)):
        page.locator(f'input[name="q{i}"][value="{answer}"]').check()
    page.click("#check")
    page.wait_for_function("document.getElementById('result').textContent.length > 0")
    assert "3 of 3 right" in page.inner_text("#result")
    deadline = time.monotonic() + 5
    while not store.for_profile("mia") and time.monotonic() < deadline:
        time.sleep(0.05)
    [p] = store.for_profile("mia")
    assert (p.band, p.topic, p.best_score) == ("13-18", "getting-help", 3)


@pytest.mark.slow
def test_drill_scorecard_screenshot(tmp_path: Path, browser: object) -> None:
    with FakeUpstream() as fake, block_page_server() as page_port:
        text = drill_config(tmp_path, fake.port, 'youtube = "off"')
        with running_server(tmp_path, text) as service:
            options = DrillOptions(server="127.0.0.1", port=udp_port(service), timeout=0.5,
                                   blocked_names=("adult.drill.test",),
                                   block_page_port=page_port)
            results = run_drill(options)
    assert {r.id for r in results if r.status == "fail"} == {"safe-search-youtube"}
    html = to_html(results, "127.0.0.1 (a test server)",
                   datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.set_content(html)
    assert page.locator("tr#safe-search-youtube .fail").is_visible()
    page.screenshot(path=str(IMAGES / "drill-scorecard.png"), full_page=True)
