"""The family walk (session 16) in Chromium: what a child wrote never widens the parent's
pages on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import PASSWORD, chromium
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

PHONE = {"width": 390, "height": 844}


def test_a_childs_one_word_question_wraps_on_the_parents_phone(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    # a 500-letter word in a child's question made /requests and /summary 4,800 px wide on a
    # phone: the whole page scrolled sideways
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port), FixedClock(AFTERNOON))
    served.parent()  # the account
    child = served.client()
    page = child.get("/", headers={"Host": "casino.example"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = child.post("/.well-known/kidshield/ask", headers={"Host": "casino.example"},
                   data={"csrf": csrf.group(1), "name": "casino.example", "message": "y" * 500})
    assert r.status_code == 200
    with chromium() as browser:
        tab = browser.new_context(viewport=PHONE, base_url=served.url).new_page()
        tab.goto("/login")
        tab.fill("#name", "Alex")
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        for path in ("/requests", "/summary", "/summary/mia"):
            tab.goto(path)
            assert tab.locator("text=yyyyyyyyyy").count() >= 1, path
            assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path


def test_the_child_pages_new_lists_fit_a_phone_in_arabic(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    # "What is filtered" now lists 66 apps switched off for a 9-12 profile, the daily time and
    # the set times (branch family-leftovers): on a phone, right to left, nothing may push the
    # page sideways, and the times read left to right
    write_lists(tmp_path)
    served = serve_config(config_text(upstream.port).replace("[profiles.leo]", '''\
[[profiles.mia.schedules]]
days = "weekdays"
from = "16:00"
to = "18:00"
action = "allow_only"
services = ["minecraft", "roblox"]

[profiles.leo]'''), FixedClock(AFTERNOON))
    with chromium() as browser:
        tab = browser.new_context(viewport=PHONE, base_url=served.url).new_page()
        tab.goto("/me?lang=ar")
        assert tab.evaluate("document.documentElement.dir") == "rtl"
        assert tab.locator("ul.services-off li").count() > 20
        assert tab.locator("ul.budgets li").inner_text() == "Minecraft: 60 دقيقة"
        times = tab.locator("ul.schedules bdi[dir=ltr]").inner_text()
        assert times == "16:00–18:00"
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
