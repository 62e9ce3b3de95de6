"""Errors on dashboard pages (issue 16 item 7): an error page never carries the "Saved."
banner, and says what was wrong."""

from __future__ import annotations

import re

import httpx


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_an_error_page_has_no_success_banner(parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    csrf = _csrf(client.get("/profiles/mia").text)
    r = client.post("/pause", data={"csrf": csrf, "profile": "mia", "minutes": "lots"})
    assert r.status_code == 422
    assert "minutes: a number" in r.text
    assert "Saved." not in r.text and 'class="notice"' not in r.text
