"""The parents' product in Chromium, against kidshield as ``kidshield serve`` serves it (issue
16): the dashboard on a 390×844 phone (menu button, no sideways scrolling, tables as cards,
week-grid hour labels apart), allow/block from a query-log row changing the DNS answer, and
notifications set up from Settings with a test. Screenshots go to docs/images only with
KIDSHIELD_SCREENSHOTS=1 (tests/screenshots.py)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from kidshield.clock import FixedClock
from kidshield.web import actions
from kidshield.web.pause import pause_internet
from tests.e2e import harness
from tests.e2e.harness import LoopThread, Served, chromium
from tests.e2e.household import AFTERNOON, PASSWORD, config_text, write_lists
from tests.e2e.receivers import FakeHttpReceiver, http_receiver
from tests.e2e.upstream import FakeUpstream
from tests.lists.helpers import FakeListServer
from tests.screenshots import images_dir

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
PAGES = ("/", "/profiles", "/profiles/mia", "/requests", "/summary", "/devices", "/lists",
         "/querylog", "/settings", "/audit", "/welcome", "/welcome?step=devices")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("parents")
    lt = LoopThread()
    upstream = FakeUpstream(default_aaaa=None)
    lt.run(upstream.start())
    write_lists(folder)
    path = folder / "kidshield.toml"
    path.write_text(config_text(upstream.port).replace(
        'name = "Mia"\n', 'name = "Mia"\nextra_blocked_services = ["tiktok", "roblox"]\n'))
    try:
        with harness.start(path, FixedClock(AFTERNOON), lt=lt) as served:
            yield served
    finally:
        lt.run(upstream.stop())
        lt.close()


@pytest.fixture(scope="module")
def browser(live: Served) -> Iterator[Any]:
    with chromium({name: live.bound("http") for name in ("casino.example", "games.example",
                                                          "kidshield.home.arpa")}) as b:
        yield b


def signed_in(browser: Any, live: Served, viewport: dict[str, int]) -> Any:
    page = browser.new_context(viewport=viewport, base_url=live.url).new_page()
    if live.web.setup_token:
        page.goto(live.setup_url)
        page.fill("#name", "Alex")
        page.fill("#password", PASSWORD)
        page.fill("#password2", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url("**/welcome?m=welcome")
        return page
    page.goto("/login")
    page.fill("#name", "Alex")
    page.fill("#password", PASSWORD)
    page.click('form[action="/login"] button')
    page.wait_for_selector("h1")
    return page


def test_every_dashboard_page_fits_a_phone(live: Served, browser: Any) -> None:
    live.addresses("casino.example")  # a row for the query log
    live.pump()
    page = signed_in(browser, live, PHONE)
    for path in PAGES:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways ({width} px)"
        # the navigation is folded behind the menu button: the header stays small
        header = page.locator("header.top").bounding_box()
        assert header is not None and header["height"] < 120, path
    page.goto("/querylog")
    assert not page.locator("#main-nav").is_visible()
    page.click(".menu-toggle")
    assert page.locator("#main-nav").is_visible()
    assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
    images = images_dir()
    page.click(".menu-toggle")
    page.screenshot(path=str(images / "querylog-phone.png"), full_page=True)
    # a log row reads as a card: its reason is on the screen, not cut off
    cell = page.locator("table.log tbody tr").first.locator("td[data-label='Why']")
    box = cell.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_week_grid_hour_labels_do_not_collide_on_a_phone(live: Served, browser: Any) -> None:
    page = signed_in(browser, live, PHONE)
    page.goto("/profiles/mia")
    boxes = page.evaluate("""[...document.querySelectorAll('table.week thead th')]
        .filter(th => th.textContent.trim() && getComputedStyle(th).fontSize !== '0px')
        .map(th => { const r = th.getBoundingClientRect();
                     const range = document.createRange(); range.selectNodeContents(th);
                     const t = range.getBoundingClientRect();
                     return [t.left, t.right]; })""")
    assert len(boxes) == 8  # 00, 03, ... 21
    for (_l1, r1), (l2, _r2) in itertools.pairwise(boxes):
        assert r1 <= l2, f"hour labels overlap: {boxes}"


def test_allow_from_a_query_log_row_changes_the_dns_answer(live: Served, browser: Any) -> None:
    assert live.addresses("casino.example") == ["127.0.0.1"]
    live.pump()
    page = signed_in(browser, live, LAPTOP)
    page.goto("/querylog?q=casino")
    row = page.locator("table.log tbody tr", has_text="casino.example").first
    assert "on a list of gambling sites" in row.inner_text()
    row.locator("button", has_text="Allow for Mia").click()
    page.wait_for_selector("text=casino.example is now allowed for Mia")
    assert live.addresses("casino.example") == ["192.0.2.1"]
    # and back: block it from its (new) allowed row
    live.pump()
    page.goto("/querylog?q=casino&action=allow")
    page.locator("table.log tbody tr").first.locator("button", has_text="Block for Mia").click()
    page.wait_for_selector("text=casino.example is now blocked for Mia")
    assert live.addresses("casino.example") == ["127.0.0.1"]


def test_notifications_set_up_from_settings_with_a_test(live: Served, browser: Any) -> None:
    receiver: FakeHttpReceiver
    with http_receiver() as receiver:
        page = signed_in(browser, live, PHONE)
        page.goto("/settings")
        page.check("input[name=ntfy_enabled]")
        suggested = page.input_value("#ntfy_topic")
        assert suggested.startswith("kidshield-") and len(suggested) > 20
        page.fill("#ntfy_server", receiver.url)
        page.click("text=Save and send a test")
        page.wait_for_selector("text=Test sent:")
        assert "delivered" in page.locator(".results").inner_text()
        assert receiver.wait()[0].path == f"/{suggested}"
        page.screenshot(path=str(images_dir() / "notifications-phone.png"), full_page=True)



def test_pause_the_internet_blocks_then_ends(live: Served, browser: Any) -> None:
    from datetime import timedelta

    parent = signed_in(browser, live, PHONE)
    parent.goto("/")
    card = parent.locator("section.card", has_text="Mia").first
    card.locator("select[name=minutes]").first.select_option("15")
    card.locator("button", has_text="Pause the internet").click()
    parent.wait_for_selector("text=The internet is paused until 15:15.")
    assert live.addresses("games.example") == ["127.0.0.1"]
    child = browser.new_context(viewport=PHONE).new_page()
    response = child.goto("http://games.example/")
    assert response is not None and response.status == 403
    assert child.locator("h1").inner_text() == "Internet break"
    child.screenshot(path=str(images_dir() / "block-page-internet-paused.png"), full_page=True)
    clock = live.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=16))
    try:
        assert live.addresses("games.example") == ["192.0.2.1"]
        child.goto("http://kidshield.home.arpa/")
        assert "The internet is paused" not in child.content()
    finally:
        clock.advance(timedelta(minutes=-16))
        # back at 15:00 the pause would hold again: end it for the tests after this one
        live.call(pause_internet, live.web, "Alex", "mia", 0)


def test_saving_the_profile_twice_keeps_every_field(live: Served, browser: Any) -> None:
    before = live.app.config.profiles["mia"].model_dump()
    page = signed_in(browser, live, LAPTOP)
    for _ in range(2):
        page.goto("/profiles/mia")
        assert page.is_checked("input[name=svc][value=tiktok]")
        assert page.is_checked("input[name=svc][value=roblox]")
        page.click("form.editor button[type=submit]")
        page.wait_for_selector("text=Nothing was changed.")
    assert live.app.config.profiles["mia"].model_dump() == before
    page.goto("/profiles/mia")
    page.screenshot(path=str(images_dir() / "profile.png"), full_page=True)
    # a change: a budget slider and a service switch
    group = page.locator("details.group", has=page.locator("input[value=roblox]"))
    group.locator("summary").click()  # the games group is folded
    page.uncheck("input[name=svc][value=roblox]")
    page.fill("#budget-minecraft", "45")
    page.click("form.editor button[type=submit]")
    page.wait_for_selector("text=Saved.")
    mia = live.app.config.profiles["mia"]
    assert mia.budgets == {"minecraft": 45} and "roblox" not in mia.extra_blocked_services
    assert "tiktok" in mia.extra_blocked_services


def test_a_homework_window_painted_on_the_grid_changes_kidshield_check(
        live: Served, browser: Any) -> None:
    def check(at: str) -> dict[str, Any]:
        found = subprocess.run(
            [sys.executable, "-m", "kidshield", "check", "-c", str(live.config_path),
             "-p", "mia", "--at", at, "--json", "example.org"],
            capture_output=True, text=True, timeout=120, check=True)
        result: dict[str, Any] = json.loads(found.stdout)
        return result

    assert check("2026-11-25T16:30")["action"] == "allow"  # a Wednesday afternoon
    page = signed_in(browser, live, PHONE)
    page.goto("/profiles/mia")
    page.click("#grid-h")  # the grid editor is folded until asked for
    page.fill("#label", "homework")
    for day, hour in itertools.product(range(5), (16, 17)):  # Monday to Friday, 16-18
        page.check(f'input[name=cell][value="{day}:{hour}"]')
    page.click("form.grid-editor button[type=submit]")
    page.wait_for_selector("text=Saved.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator('td.block[title="homework: blocked hours"]').count() == 10
    page.screenshot(path=str(images_dir() / "schedule-grid-phone.png"), full_page=True)
    found = check("2026-11-25T16:30")
    assert found["action"] == "block" and found["reason"] == "schedule"
    assert check("2026-11-25T18:00")["action"] == "allow"


def test_the_wizard_adds_a_child_whose_band_follows_the_birthday(
        live: Served, browser: Any) -> None:
    page = signed_in(browser, live, PHONE)
    page.goto("/profiles")
    page.click("text=Add a child")
    page.fill("#name", "Nora")
    page.fill("#birth_date", "2013-11-26")  # 13 tomorrow
    page.click('form[action="/welcome/child"] button')
    page.wait_for_selector("text=The child was added.")
    page.screenshot(path=str(images_dir() / "wizard-phone.png"), full_page=True)
    page.click("text=Next: their devices")
    page.wait_for_selector("#devices-h")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("text=Next: done")
    page.click("text=Profiles: bedtime, schedules, apps, time limits, sites")
    page.click("text=Nora")
    assert page.inner_text("h1") == "Nora 9-12"
    assert page.is_visible("text=From 2026-11-26: 13–15.")
    assert str(live.app.config.profiles["nora"].birth_date) == "2013-11-26"


def test_a_list_added_on_the_lists_page_blocks_and_removing_it_unblocks(
        live: Served, browser: Any, lists_server: FakeListServer) -> None:
    assert live.addresses("flirt.example") == ["192.0.2.1"]
    page = signed_in(browser, live, PHONE)
    page.goto("/lists")
    page.fill("#name", "dating-extra")
    page.fill("#source", "file:///etc/passwd")
    page.select_option("#category", "dating")
    page.click("text=Add and download")
    page.wait_for_selector("#source-error")
    assert "http:// or https://" in page.inner_text("#source-error")
    assert page.input_value("#name") == "dating-extra"  # what was typed is still there
    assert page.input_value("#category") == "dating"
    page.fill("#source", lists_server.url)
    page.click("text=Add and download")
    page.wait_for_selector("text=The list was added and downloaded.")
    card = page.locator("#list-dating-extra")
    assert "Rules: 2" in card.inner_text() and "added in the dashboard" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(images_dir() / "lists-phone.png"), full_page=True)
    assert live.addresses("flirt.example") == ["127.0.0.1"]
    card.locator("button", has_text="Remove").click()
    page.wait_for_selector("text=The list was removed.")
    assert page.locator("#list-dating-extra").count() == 0
    assert live.addresses("flirt.example") == ["192.0.2.1"]


def test_a_profile_marked_shared_on_the_dashboard_greets_everyone_on_the_child_page(
        live: Served, browser: Any) -> None:
    parent = signed_in(browser, live, LAPTOP)
    child = browser.new_context(viewport=PHONE).new_page()
    child.goto("http://kidshield.home.arpa/")
    assert "Hi Mia! This page" in child.locator("main").inner_text()
    try:
        parent.goto("/profiles/mia")
        assert not parent.is_checked("#shared")
        parent.check("#shared")
        parent.click("form.editor button[type=submit]")
        parent.wait_for_selector("text=Saved.")
        assert live.app.config.profiles["mia"].shared
        child.goto("http://kidshield.home.arpa/")  # the same served app, right after saving
        text = child.locator("main").inner_text()
        assert "Hi! This page explains" in text and "Hi Mia" not in text
        parent.goto("/profiles/mia")
        assert parent.is_checked("#shared")  # the form shows what is saved
        parent.uncheck("#shared")
        parent.click("form.editor button[type=submit]")
        parent.wait_for_selector("text=Saved.")
        child.goto("http://kidshield.home.arpa/")
        assert "Hi Mia! This page" in child.locator("main").inner_text()
    finally:
        # the module's other tests expect Mia as the file has her
        live.run(actions.edit_profile(live.web, "Alex", "mia", {"shared": None}))
