"""The intake form in a real browser: autosave survives a reload (localStorage) and a new
browser (server-side draft by token), then the report goes in and the receipt shows.
Saves docs/images/report-intake.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kidshield.reports.intake import case_from_text_assessment
from kidshield.reports.service import ReportService
from tests.e2e.harness import PASSWORD, Served, chromium, wait_for
from tests.screenshots import images_dir

DOCS_IMAGES = images_dir()

pytestmark = pytest.mark.slow


@pytest.fixture
def service(served: Served) -> ReportService:
    assert served.app.features is not None and served.app.features.reports is not None
    return served.app.features.reports


@pytest.fixture
def base_url(served: Served) -> str:
    return served.url


@pytest.fixture
def browser(served: Served) -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_intake_form_autosave_survives_reload_and_new_browser(
    base_url: str, service: ReportService, browser: Any,
) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 1400})
    page = context.new_page()
    page.goto(f"{base_url}/report")
    page.fill("#url", "https://forum.example/thread/42")
    page.check("input[name=case_type][value=bullying]")
    page.check("input[name=imminent_danger][value=no]")
    page.fill("#description", "Older pupils post mean comments about my son.")
    page.select_option("#reporter_role", "parent")
    wait_for(page, "(localStorage.getItem('kidshield-report-draft') || '').includes('parent')")
    page.wait_for_selector("#saved-note:has-text('Draft saved')", timeout=5000)
    page.wait_for_timeout(300)  # let the last PUT of the draft reach the server
    draft_url = page.url
    assert "draft=" in draft_url

    page.reload()
    assert page.input_value("#url") == "https://forum.example/thread/42"
    assert page.is_checked("input[name=case_type][value=bullying]")
    assert page.input_value("#description").startswith("Older pupils")
    assert page.input_value("#reporter_role") == "parent"
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMAGES / "report-intake.png"), full_page=True)

    # another browser (no localStorage) with the draft link: the server has it
    other = browser.new_context()
    page2 = other.new_page()
    page2.goto(draft_url)
    wait_for(page2, "document.getElementById('description').value.length > 0")
    assert page2.input_value("#url") == "https://forum.example/thread/42"
    assert page2.input_value("#description").startswith("Older pupils")
    other.close()

    page.click("button[type=submit]")
    page.wait_for_selector("#receipt-code")
    code = page.inner_text("#receipt-code")
    assert code.startswith("KS-")
    assert service.status(code).state.value == "new"
    # the draft is gone once the report is in
    page.goto(f"{base_url}/report")
    assert page.input_value("#url") == ""
    # the child-friendly variant, with helplines
    page.goto(f"{base_url}/report?for=child")
    assert "Childline" in page.inner_text(".helplines")
    page.screenshot(path=str(DOCS_IMAGES / "report-intake-child.png"), full_page=True)


def test_case_page_blurs_text_evidence_until_revealed(
    served: Served, base_url: str, service: ReportService, browser: Any,
) -> None:
    receipt = case_from_text_assessment(
        service, [("grooming", 0.8)], conversation="game-chat-7", account="@coolcoach22",
        excerpt="you're so mature for your age. what's your snap? don't tell your parents")
    assert receipt is not None
    served.account("ann", "analyst")
    page = browser.new_page(viewport={"width": 1100, "height": 1200})
    page.goto(f"{base_url}/login")
    page.fill("#name", "ann")
    page.fill("#password", PASSWORD)
    page.click('form[action="/login"] button')
    page.goto(f"{base_url}/cases")
    page.click(f"a[href='/cases/{receipt.case_id}']")
    blurred = page.locator(".evidence")
    assert "blurred" in (blurred.get_attribute("class") or "")
    assert "mature" not in page.content()  # the text is not in the page at all
    page.screenshot(path=str(DOCS_IMAGES / "report-case.png"), full_page=True)
    page.click("#reveal")
    page.wait_for_selector(".evidence:not(.blurred)")
    assert "so mature for your age" in page.inner_text(".evidence")
    assert page.inner_text("#exposure") == "1"
    assert service.exposure_today("ann") == 1


def test_a_new_form_asks_the_server_for_no_draft_it_cannot_have(
    base_url: str, browser: Any,
) -> None:
    """A fresh form made up its draft token and then asked the server for that draft: a 404
    in the console of every new report form (the README walk, session 14). A draft link
    opened in another browser still asks (the test above)."""
    context = browser.new_context()
    page = context.new_page()
    failed: list[str] = []
    asked: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("request", lambda r: asked.append(r.url) if "/drafts/" in r.url else None)
    for form in ("/report", "/report?for=child"):
        page.goto(f"{base_url}{form}")
        wait_for(page, "location.search.includes('draft=')")  # report.js has run
        page.wait_for_timeout(500)  # time for a fetch it would make to come back
    assert failed == []
    assert asked == []
    context.close()


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user gets there."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab")


def test_a_case_is_assigned_by_keyboard_from_the_accounts_that_may_work_cases(
    served: Served, base_url: str, service: ReportService, browser: Any,
) -> None:
    """The assign box was free text though only an account that may work cases is taken
    (a typo was a 422 after the fact): it offers those accounts, and a keyboard picks one."""
    receipt = case_from_text_assessment(
        service, [("grooming", 0.8)], conversation="assign-7", account="@someone",
        excerpt="don't tell your parents")
    assert receipt is not None
    served.account("mo", "moderator")
    served.account("zara", "analyst")
    served.account("dad", "parent")  # an account, but not one that works cases
    # the page's own scripts off: the form works without them
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base_url}/login")
    _tab_to(page, "#name")
    page.keyboard.type("mo")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{base_url}/cases/{receipt.case_id}")
    box = page.locator("#assignee")
    assert box.evaluate("e => e.tagName") == "SELECT"
    assert page.locator("label[for=assignee]").inner_text() == "Assign to"
    offered = box.locator("option").all_inner_texts()
    assert service.case_workers is not None and offered == service.case_workers()
    assert {"mo", "zara"} <= set(offered) and "dad" not in offered
    assert box.input_value() == "mo"  # taking it yourself stays one key press away
    _tab_to(page, "#assignee")
    page.keyboard.type("zara")  # a closed select's type-ahead
    assert box.input_value() == "zara"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Assign"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.locator("dt:text-is('Assigned') + dd").filter(has_text="zara").wait_for()
    stored = service.store.case(receipt.case_id)
    assert stored is not None and stored.assignee == "zara"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
