"""A hotline analyst on a phone, in Chromium, keyboard only, against kidshield as ``kidshield
serve`` serves it (docs/testing.md, "A hotline analyst's walk"): the staff pages fit 360 px
and the case page's forms work as a browser sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import served_household
from tests.e2e.harness import PASSWORD, Served, chromium

PHONE = {"width": 360, "height": 740}
# how far the page reaches past the screen, and the widest elements that cause it
OVERFLOW = """(() => {
  const w = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-scroll'))
    .map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30));
  return [document.documentElement.scrollWidth - w, wide.slice(0, 5)];
})()"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    extra = "\n[reports]\npublic_transparency = true\n"
    with served_household(tmp_path_factory.mktemp("hotline-browser"), extra) as served:
        served.account("ana", "analyst")
        yield served


@pytest.fixture(scope="module")
def case(live: Served) -> int:
    """An abuse-material case with a long address, escalated (its time is on the page)."""
    public = live.client()
    url = "https://files.example/" + "gallery/" * 12 + "item?id=7"
    assert public.post("/api/v1/reports", json={
        "url": url, "case_type": "abuse_material"}).status_code == 201
    public.post("/api/v1/reports", json={"url": "https://social.example/p/1",
                                         "case_type": "bullying"})
    api = live.client(headers=live.bearer_for("ana", ["reports"]))
    [found] = [c for c in api.get("/api/v1/cases").json()["cases"] if c["url"] == url]
    assert api.post(f"/api/v1/cases/{found['id']}/escalate",
                    json={"authority": "national hotline"}).status_code == 201
    return int(found["id"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(live: Served, browser: Any) -> Iterator[Any]:
    """A phone signed in as the analyst, by keyboard."""
    context = browser.new_context(viewport=PHONE)
    try:
        tab = context.new_page()
        _sign_in_by_keyboard(tab, live.url)
        yield tab
    finally:
        context.close()


def _sign_in_by_keyboard(page: Any, url: str) -> None:
    page.goto(f"{url}/login?next=/cases")
    page.focus("#name")
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/cases")


@pytest.mark.parametrize("path", ["/cases", "/cases/{case}", "/cases/transparency",
                                  "/transparency"])
def test_the_staff_pages_fit_a_phone(live: Served, case: int, page: Any, path: str) -> None:
    """At 360 px the queue's table, the case's escalation time (with microseconds) and the
    transparency charts made the whole page scroll sideways."""
    page.goto(live.url + path.format(case=case))
    overflow, widest = page.evaluate(OVERFLOW)
    assert overflow == 0, widest


def test_an_analyst_takes_a_case_by_keyboard(live: Served, case: int, page: Any) -> None:
    """The assign form as the browser posts it (with its CSRF field) was refused."""
    page.goto(f"{live.url}/cases/{case}")
    page.focus("#assignee")  # a list of the accounts that may work cases (small-leftovers-2)
    page.keyboard.type("ana")  # a closed select's type-ahead
    page.keyboard.press("Tab")  # Enter in a select submits nothing: on to the Assign button
    with page.expect_navigation(url=f"{live.url}/cases/{case}**"):
        page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('.error') === null"), page.url
    api = httpx.Client(base_url=live.url, headers=live.bearer_for("ana", ["reports"]))
    assert api.get(f"/api/v1/cases/{case}").json()["assignee"] == "ana"
