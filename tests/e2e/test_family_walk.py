"""Regressions from the family and school walk through the DNS side (session 16,
docs/testing.md): each found on a real ``kidshield serve`` and checked here against the
served household (tests/e2e/household.py)."""

from __future__ import annotations

import httpx

from tests.e2e.harness import Served

P = tuple[httpx.Client, dict[str, str]]


def test_a_wildcard_line_names_the_domain_that_covers_it(served: Served, parent: P) -> None:
    # the message said "'example.com' covers subdomains" whatever the line was, so a parent
    # looked for an example.com line in their list
    client, headers = parent
    lists = served.config_path.parent / "bad.txt"
    lists.write_text("casino.example\nbet.example\n*.games.example\n")
    assert served.reload()
    bad = {e["name"]: e for e in client.get("/api/v1/lists").json()}["bad"]
    assert any(line.endswith("bad.txt:3: '*.games.example': wildcards are not needed, "
                             "'games.example' covers its subdomains")
               for line in bad["error_lines"]), bad["error_lines"]
    r = client.patch("/api/v1/profiles/mia", json={"allow": ["*.school.example"]},
                     headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "allow"
    assert "'school.example' covers its subdomains" in r.json()["detail"]
