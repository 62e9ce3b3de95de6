"""Lessons, the quiz and workshops in Chromium, served as ``kidshield serve`` serves them (with
its Content-Security-Policy): the quiz keeps its answers hidden until answered, "Check my
answers" scores and saves the result for the device's profile, a workshop shows one branch at
a time, and the browser reports no blocked script or style. Saves the lesson screenshots in
docs/images/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import LoopThread, Served, chromium, wait_for
from tests.e2e.household import config_text, write_lists
from tests.e2e.upstream import FakeUpstream
from tests.screenshots import images_dir

IMAGES = images_dir()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("learn")
    lt = LoopThread()
    upstream = FakeUpstream()
    lt.run(upstream.start())
    write_lists(folder)
    path = folder / "kidshield.toml"
    path.write_text(config_text(upstream.port), encoding="utf-8")
    try:
        with harness.start(path, lt=lt) as served:
            yield served
    finally:
        lt.run(upstream.stop())
        lt.close()


@pytest.fixture(scope="module")
def browser(live: Served) -> Iterator[Any]:
    with chromium() as b:
        yield b


class Page:
    """A page on Mia's tablet that remembers what the browser refused to run or apply."""

    def __init__(self, browser: Any, live: Served) -> None:
        self.page = browser.new_page(base_url=live.url, viewport={"width": 900, "height": 1300})
        self.refused: list[str] = []
        self.page.on("console", lambda m: self.refused.append(m.text)
                     if "Content Security Policy" in m.text else None)
        self.page.on("pageerror", lambda e: self.refused.append(str(e)))


def test_quiz_hides_answers_until_checked_and_saves_progress_under_the_csp(
    live: Served, browser: Any,
) -> None:
    tab = Page(browser, live)
    page = tab.page
    IMAGES.mkdir(parents=True, exist_ok=True)
    for band, topic in (("under-9", "strangers"), ("9-12", "privacy"),
                        ("13-18", "getting-help")):
        page.goto(f"/learn/{band}/{topic}")
        assert page.locator("h1").first.is_visible()
        page.screenshot(path=str(IMAGES / f"lesson-{band}.png"), full_page=True)

    page.goto("/learn/13-18/getting-help")
    explanations = page.locator("#quiz .explain")
    assert explanations.count() == 3
    assert not any(explanations.nth(i).is_visible() for i in range(3))  # not given away
    for i, answer in enumerate((0, 1, 1)):  # the last one is wrong
        page.locator(f'input[name="q{i}"][value="{answer}"]').check()
    assert not explanations.first.is_visible()  # choosing is not checking
    page.click("text=Check my answers")
    wait_for(page, "document.getElementById('result').textContent.length > 0")
    assert "2 of 3 right" in page.inner_text("#result")
    assert all(explanations.nth(i).is_visible() for i in range(3))
    assert "right" in (page.locator("#quiz fieldset").first.get_attribute("class") or "")
    assert "wrong" in (page.locator("#quiz fieldset").nth(2).get_attribute("class") or "")

    assert live.app.features is not None and live.app.features.education is not None
    store = live.app.features.education.progress
    assert store is not None
    deadline = time.monotonic() + 5
    while not store.for_profile("mia") and time.monotonic() < deadline:
        time.sleep(0.05)
    [saved] = store.for_profile("mia")  # 127.0.0.1 is Mia's tablet
    assert (saved.band, saved.topic, saved.best_score, saved.total) == (
        "13-18", "getting-help", 2, 3)
    assert tab.refused == []


def test_workshop_shows_one_branch_at_a_time_under_the_csp(live: Served, browser: Any) -> None:
    tab = Page(browser, live)
    page = tab.page
    page.goto("/workshop/grooming-message")

    def shown() -> list[str]:
        steps = page.locator("section.step")
        return [steps.nth(i).get_attribute("id") or "" for i in range(steps.count())
                if steps.nth(i).is_visible()]

    assert shown() == ["step-start"]  # no ending is visible before the group has chosen
    page.click('#step-start a[href="#step-listen"]')
    assert shown() == ["step-listen"]
    page.click('#step-listen a[href="#step-evidence"]')
    page.click('#step-evidence a[href="#step-end-good"]')
    assert shown() == ["step-end-good"]
    assert page.locator("#step-end-good h2").inner_text() == "Debrief"
    page.click("#step-end-good >> text=Start again")
    assert shown() == ["step-start"]
    assert tab.refused == []
