"""The child's errors (tests/e2e/test_child_errors.py) walked in Chromium on a 360 px phone,
in English and Arabic: what a child meets on the child page and the block page when a form
goes wrong is a page for the child, in their language and direction, that fits the phone,
never the dashboard's error page and never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Served, chromium

PHONE = {"width": 360, "height": 740}
WORDS = {"en": "That did not work", "ar": "لم ينجح ذلك"}


def _is_child_page(tab: Any, response: Any, lang: str, where: str) -> int:
    status: int = response.status if response is not None else 0
    assert 0 < status < 500, (where, status)
    html = tab.content()
    assert "/api/v1/openapi.json" not in html, where  # the dashboard's footer
    assert tab.evaluate("document.documentElement.lang") == lang, where
    assert tab.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], where
    return status


def _submit(tab: Any, form: str, fields: dict[str, str]) -> Any:
    """Post ``form`` of the open page as the child's browser does, its fields set first
    (a hidden field's value as a stale page or a pasted text would leave it)."""
    with tab.expect_navigation() as nav:
        tab.evaluate("""([form, fields]) => {
            const f = document.querySelector(form);
            for (const [k, v] of Object.entries(fields)) {
                let input = f.querySelector(`[name="${k}"]`);
                if (!input) { input = document.createElement('input'); input.type = 'hidden';
                              input.name = k; f.appendChild(input); }
                input.removeAttribute('maxlength'); input.removeAttribute('required');
                input.value = v;
            }
            f.submit();
        }""", [form, fields])
    return nav.value


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_child_meets_only_child_pages_when_forms_go_wrong(served: Served, lang: str) -> None:
    served.parent()  # the account: the PIN forms check a parent's PIN
    port = served.bound("http")
    with chromium({"casino.example": port}) as browser:
        tab = browser.new_context(viewport=PHONE, base_url=served.url, locale=lang).new_page()
        seen: dict[str, int] = {}
        cases: list[tuple[str, str, dict[str, str]]] = [
            ("stale token, pause", 'form[action="/me/pause"]', {"csrf": "stale", "pin": "1"}),
            ("stale token, allow", 'form[action="/me/allow"]', {"csrf": "stale", "pin": "1"}),
            ("NUL in the PIN", 'form[action="/me/pause"]', {"pin": "12\u000034"}),
            ("too long, allow", 'form[action="/me/allow"]', {"pin": "1", "name": "a" * 9000}),
            ("missing PIN", 'form[action="/me/pause"]', {"pin": ""}),
        ]
        for where, form, fields in cases:
            tab.goto("/me")
            seen[where] = _is_child_page(tab, _submit(tab, form, fields), lang, where)
            assert WORDS[lang] in tab.content(), where
        for _ in range(6):
            tab.goto("/me")
            seen["wrong PINs"] = _is_child_page(
                tab, _submit(tab, 'form[action="/me/pause"]', {"pin": "000000"}), lang, "pin")
        for path in ("/me/ask", "/me/pause", "/me/allow"):
            seen[f"GET {path}"] = _is_child_page(tab, tab.goto(path), lang, path)
            assert WORDS[lang] in tab.content(), path
        # the block page's ask form: a NUL, a question too long, a stale token
        for where, fields in (("ask NUL", {"message": "please\u0000"}),
                              ("ask too long", {"message": "s" * 9000}),
                              ("ask stale", {"csrf": "stale"})):
            tab.goto("http://casino.example/")
            seen[where] = _is_child_page(tab, _submit(tab, "form.ask", fields), lang, where)
            assert WORDS[lang] in tab.content(), where
        seen["blocked %00"] = _is_child_page(tab, tab.goto("http://casino.example/?q=%00"),
                                             lang, "%00")
        assert "casino.example" in tab.content()
    assert seen == {
        "stale token, pause": 403, "stale token, allow": 403, "NUL in the PIN": 400,
        "too long, allow": 413, "missing PIN": 403, "wrong PINs": 429, "GET /me/ask": 405,
        "GET /me/pause": 405, "GET /me/allow": 405, "ask NUL": 400, "ask too long": 413,
        "ask stale": 403, "blocked %00": 403}, seen
