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


def test_the_child_page_says_when_bedtime_is_in_the_childs_language(served: Served,
                                                                     parent: P) -> None:
    # the bedtime line was the rule's English label on every page ("Heure du coucher: school
    # nights 21:00-07:00", "daily 21:00-07:00" in Arabic)
    pages = {lang: served.client().get(f"/me?lang={lang}").text for lang in ("en", "fr", "ar")}
    assert "Bedtime: every night" in pages["en"]
    assert "Heure du coucher: tous les soirs" in pages["fr"]
    assert "كل ليلة" in pages["ar"]
    for page in pages.values():
        assert "daily" not in page and '<bdi dir="ltr">21:00–07:00</bdi>' in page
    client, headers = parent
    for days, words in (("school-nights", "les soirs avant l’école"),
                        ("weekend", "samedi et dimanche"),
                        ("fri-sun", "vendredi, samedi, dimanche")):
        r = client.put("/api/v1/profiles/mia/bedtime", headers=headers,
                       json={"bedtime": "20:30", "wake_up": "06:45", "days": days})
        assert r.status_code == 200, r.text
        page = served.client().get("/me?lang=fr").text
        assert f"Heure du coucher: {words}" in page, days
        assert "school nights" not in page and '<bdi dir="ltr">20:30–06:45</bdi>' in page


def test_the_child_page_promises_safe_search_only_when_it_is_on(served: Served,
                                                                parent: P) -> None:
    # "Search sites are set to safe search." showed whatever the profile said (a 16-year-old
    # whose parents switched it off, a filtered adult profile)
    sentence = "Search sites are set to safe search."
    assert sentence in served.client().get("/me").text
    client, headers = parent
    r = client.patch("/api/v1/profiles/mia", json={"safe_search": "off"}, headers=headers)
    assert r.status_code == 200, r.text
    assert served.addresses("www.google.com") == ["192.0.2.1"]  # really off: no rewrite
    assert sentence not in served.client().get("/me").text
