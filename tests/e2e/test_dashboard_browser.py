"""End to end in Chromium, against kidshield served as ``kidshield serve`` serves it: first-run
setup, sign-in, a child blocked -> asks -> parent allows -> the DNS answer changes on a real
query -> the child page shows the approval; CSRF and wrong-PIN rejections; audit entries;
bedtime in two taps. Screenshots for the README are written to docs/images/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import LoopThread, Served, chromium
from tests.e2e.household import PASSWORD, config_text, write_lists
from tests.e2e.upstream import FakeUpstream
from tests.screenshots import images_dir

UPSTREAM_ANSWER = "192.0.2.1"

IMAGES = images_dir()
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("live")
    lt = LoopThread()
    upstream = FakeUpstream(default_aaaa=None)
    lt.run(upstream.start())
    write_lists(folder)
    path = folder / "kidshield.toml"
    # no bedtime at first, so the flow does not depend on the time of day
    path.write_text(config_text(upstream.port).replace(
        'bedtime = "21:00"\nwake_up = "07:00"', 'bedtime = "off"'))
    try:
        with harness.start(path, lt=lt) as served:
            yield served
    finally:
        lt.run(upstream.stop())
        lt.close()


@pytest.fixture(scope="module")
def browser(live: Served) -> Iterator[Any]:
    port = live.bound("http")
    with chromium({name: port for name in ("casino.example", "sh.example",
                                           "kidshield.home.arpa")}) as b:
        yield b


def a_records(live: Served, name: str) -> list[str]:
    return live.addresses(name)


def shot(page: Any, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=True)


def sign_in(browser: Any, live: Served) -> Any:
    context = browser.new_context(viewport=LAPTOP, base_url=live.url)
    page = context.new_page()
    if live.web.setup_token:
        page.goto(live.setup_url)
        page.fill("#name", "Alex")
        page.fill("#password", PASSWORD)
        page.fill("#password2", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url("**/welcome?m=welcome")  # the set-up wizard; the PIN is in Settings
        page.goto("/settings")
        page.fill("#newpin", "246813")
        page.click('form[action="/settings/pin"] button')
        page.wait_for_selector("text=PIN saved.")
        page.click("text=Sign out")
    else:
        page.goto("/login")
    page.fill("#name", "Alex")
    page.fill("#password", PASSWORD)
    page.click('form[action="/login"] button')
    page.wait_for_selector("h1:has-text('Today')")
    return page


def test_child_asks_parent_allows_and_dns_changes(live: Served, browser: Any) -> None:
    parent = sign_in(browser, live)
    assert a_records(live, "casino.example") == ["127.0.0.1"]  # the block page address

    child = browser.new_context(viewport=PHONE).new_page()
    response = child.goto("http://casino.example/")
    assert response is not None and response.status == 403
    assert child.locator("h1").inner_text() == "Blocked to keep you safe"
    assert "Childline" in child.content()
    shot(child, "block-page-9-12-live.png")
    child.fill("#message", "for my maths homework")
    child.click("text=Ask for access")
    child.wait_for_selector("text=Your question is on its way")

    parent.goto("/requests")
    parent.wait_for_selector("text=Mia asks for casino.example")
    assert "for my maths homework" in parent.content()
    parent.fill("input[name=reply]", "OK, for homework")
    parent.click("text=Allow 30 minutes")
    parent.wait_for_selector("text=Answer sent.")

    deadline = time.monotonic() + 5
    while a_records(live, "casino.example") != [UPSTREAM_ANSWER]:
        assert time.monotonic() < deadline, "the DNS answer did not change after approval"
        time.sleep(0.1)

    child.goto("http://kidshield.home.arpa/")
    child.wait_for_selector("h1:has-text('My protection')")
    answers = child.locator(".answers").inner_text()
    assert "casino.example" in answers and "yes!" in answers and "OK, for homework" in answers
    shot(child, "child-page.png")

    # wrong PIN on the child page
    child.click("text=For parents: pause protection")
    child.fill("#pin", "000000")
    child.click('form[action="/me/pause"] button')
    child.wait_for_selector("text=That did not work")
    assert "PIN is not right" in child.content()
    assert live.app.state.paused_until("mia") is None

    # the overview shows today's traffic
    a_records(live, "sh.example")
    a_records(live, "minecraft.net")  # a minute of Minecraft against its 60-minute budget
    time.sleep(1.5)  # the log writer batches once a second
    parent.goto("/")
    parent.wait_for_selector("svg.chart")
    shot(parent, "overview.png")

    parent.goto("/audit")
    audit = parent.locator("table.audit").inner_text()
    for action in ("account.setup", "login", "request.create", "request.allowed",
                   "pin.wrong", "pin.set"):
        assert action in audit, action


def test_csrf_rejection_and_bedtime_in_two_taps(live: Served, browser: Any) -> None:
    parent = sign_in(browser, live)
    parent.goto("/profiles/mia")
    parent.evaluate("for (const i of document.querySelectorAll('input[name=csrf]')) "
                    "i.value = 'forged'")
    with parent.expect_response(lambda r: r.url.endswith("/bedtime")) as info:
        parent.click("button[value='20:00']")
    assert info.value.status == 403
    assert "came from another site" in parent.content()
    assert live.app.config.profiles["mia"].bedtime == "off"

    parent.goto("/profiles")  # tap 1 (from the profile list) ...
    parent.click("a[href='/profiles/mia#bedtime']")
    parent.click("button[value='20:00']")  # ... tap 2
    parent.wait_for_selector("text=Bedtime saved.")
    assert live.app.config.profiles["mia"].bedtime == "20:00"
    assert 'bedtime = "20:00"' in live.app.editor.export()  # kept over the file
    shot(parent, "profile.png")
    parent.goto("/audit")
    assert "profile.bedtime" in parent.locator("table.audit").inner_text()


def test_block_page_screenshots_per_age_band(live: Served, browser: Any) -> None:
    parent = sign_in(browser, live)
    parent.set_viewport_size(PHONE)
    for band in ("under-9", "9-12", "13-15", "16-17"):
        parent.goto(f"/preview/block?band={band}&reason=category&category=gambling"
                    "&name=casino.example&lang=en")
        parent.wait_for_selector("h1")
        shot(parent, f"block-page-{band}.png")
    parent.goto("/preview/block?band=13-15&reason=self_harm&name=sh.example")
    assert parent.locator(".helplines.urgent").count() == 1
    shot(parent, "block-page-self-harm.png")
    parent.goto("/preview/block?band=9-12&reason=bedtime&name=games.example&lang=ar")
    assert parent.locator("html").get_attribute("dir") == "rtl"
    shot(parent, "block-page-arabic.png")
    parent.goto("/?lang=en")
