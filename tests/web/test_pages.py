"""Dashboard pages render for a signed-in parent, with labelled controls; forms act."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.harness import Served

P = tuple[httpx.Client, dict[str, str]]
PAGES = ["/", "/profiles", "/profiles/mia", "/devices", "/lists", "/querylog", "/requests",
         "/settings", "/audit", "/me", "/welcome", "/welcome?step=devices",
         "/welcome?step=done", "/summary"]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_with_labelled_controls(parent: P, path: str) -> None:
    client, _ = parent
    r = client.get(path)
    assert r.status_code == 200, r.text
    html = r.text
    assert '<html lang="en" dir="ltr">' in html
    assert "cdn" not in html.lower() and "https://" not in html.split("<main", 1)[0]
    # every visible input/select/textarea has a label
    for m in re.finditer(r'<(input|select|textarea)\b([^>]*)>', html):
        attrs = m.group(2)
        if 'type="hidden"' in attrs or 'type="checkbox"' in attrs:
            continue
        ident = re.search(r'id="([^"]+)"', attrs)
        assert ident, f"{path}: control without id: {m.group(0)}"
        assert f'for="{ident.group(1)}"' in html, f"{path}: no label for {ident.group(1)}"
    # every form that posts carries a CSRF token
    for form in re.findall(r'<form[^>]*method="post"[^>]*>.*?</form>', html, re.S):
        assert 'name="csrf"' in form


def test_bedtime_in_two_taps(served: Served, parent: P) -> None:
    client, _ = parent
    page = client.get("/profiles/mia")  # tap 1: open the child's profile
    r = client.post("/profiles/mia/bedtime", data={"csrf": _csrf(page.text),
                                                   "bedtime": "20:00"})  # tap 2: a preset
    assert r.status_code == 200 and "Bedtime saved" in r.text
    assert "20:00" in r.text
    ctx = served.web
    assert ctx.config.profiles["mia"].bedtime == "20:00"
    assert ctx.config.profiles["mia"].wake_up == "07:00"


def test_requests_inbox_answers(parent: P) -> None:
    client, _ = parent
    csrf = _csrf(client.get("/me").text)
    client.post("/me/ask", data={"csrf": csrf, "name": "casino.example",
                                 "message": "homework"})
    page = client.get("/requests")
    assert "Mia asks for casino.example" in page.text and "homework" in page.text
    rid = re.search(r'action="/requests/(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(f"/requests/{rid}", data={"csrf": _csrf(page.text), "decision": "tonight",
                                              "reply": "until dinner"})
    assert r.status_code == 200 and "Answer sent" in r.text


def test_pause_from_the_overview(parent: P) -> None:
    client, _ = parent
    page = client.get("/")
    r = client.post("/pause", data={"csrf": _csrf(page.text), "profile": "leo",
                                    "minutes": "15"})
    assert "Protection paused" in r.text and "Filtering is lifted until" in r.text


@pytest.mark.parametrize("band", ["under-9", "9-12", "13-15", "16-17"])
def test_block_page_preview_per_band(parent: P, band: str) -> None:
    client, _ = parent
    r = client.get(f"/preview/block?band={band}&reason=bedtime&name=games.example")
    assert r.status_code == 200 and "Sleep time" in r.text


def test_block_texts_differ_by_band() -> None:
    from kidshield.web.texts import BODIES

    for key, texts in BODIES.items():
        if key != "other":
            assert len(set(texts)) == 4, key


def test_error_page_for_unknown_profile(parent: P) -> None:
    client, _ = parent
    r = client.get("/profiles/nobody")
    assert r.status_code == 404 and "nobody" in r.text


def test_budgets_edit_from_the_profile_form(served: Served, parent: P) -> None:
    client, _ = parent
    page = client.get("/profiles/mia")
    assert 'name="budget.minecraft" type="range" min="0" max="300" step="5" value="60"' \
        in page.text
    r = client.post("/profiles/mia", data={"csrf": _csrf(page.text), "has_budgets": "1",
                                           "budget.minecraft": "45",
                                           "new_budget_service": "roblox",
                                           "new_budget_minutes": "30"})
    assert r.status_code == 200 and "Saved." in r.text
    ctx = served.web
    assert ctx.config.profiles["mia"].budgets == {"minecraft": 45, "roblox": 30}
    r = client.post("/profiles/mia", data={"csrf": _csrf(page.text), "has_budgets": "1",
                                           "budget.minecraft": "lots"})
    assert r.status_code == 422 and "minutes a day, from 0 to 1440" in r.text
    assert ctx.config.profiles["mia"].budgets == {"minecraft": 45, "roblox": 30}


def test_security_headers(client: httpx.Client) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    client.cookies.clear()  # without a CSRF cookie yet, so the middleware would set one
    assert "set-cookie" not in client.get("/healthz").headers
