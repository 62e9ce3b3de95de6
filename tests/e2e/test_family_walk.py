"""Regressions from the family and school walk through the DNS side (session 16,
docs/testing.md): each found on a real ``kidshield serve`` and checked here against the
served household (tests/e2e/household.py)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dns.message
import httpx

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served, page_csrf
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

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
    assert 'Bedtime: every night <bdi dir="ltr">' in pages["en"]  # a space before the time
    assert "Heure du coucher: tous les soirs <bdi" in pages["fr"]
    assert "كل ليلة <bdi" in pages["ar"]
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
        assert f"Heure du coucher: {words} <bdi" in page, days
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


def _on_database(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
                 db_url: str) -> Served:
    """The household served on ``db_url`` (SQLite or a real PostgreSQL), at an afternoon."""
    write_lists(tmp_path)
    return serve_config(config_text(upstream.port).replace(
        'storage = "kidshield.db"', f'storage = "{db_url}"'), FixedClock(AFTERNOON))


def test_a_childs_question_with_control_characters_is_kept_without_them(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
        any_db_url: str) -> None:
    # a NUL in the message of the block page's "Ask" form was stored as it came; PostgreSQL
    # refuses NUL in text, so on a school's PostgreSQL the child got a 500 and the question
    # was lost (SQLite kept it and cut the message at the NUL when read back); a NUL is now
    # refused at the door (below), other control characters and bidi overrides are dropped
    served = _on_database(serve_config, upstream, tmp_path, any_db_url)
    child = served.client()
    page = child.get("/", headers={"Host": "casino.example"})
    assert page.status_code == 403
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"csrf": csrf.group(1), "name": "casino.example"}
    refused = child.post("/.well-known/kidshield/ask", headers={"Host": "casino.example"},
                         data={**form, "message": "for\x00 my homework"})
    # the child's page, not the dashboard's "a NUL character ... is not allowed" (session 16b)
    assert refused.status_code == 400 and "a character we can" in refused.text
    assert "NUL" not in refused.text
    asked = child.post("/.well-known/kidshield/ask", headers={"Host": "casino.example"},
                       data={**form, "message": "for my\x07 homework\u202e, please\r\n\tthanks"})
    assert asked.status_code == 200, asked.text
    client, headers = served.parent()
    [request] = client.get("/api/v1/requests").json()
    assert request["message"] == "for my homework, please\n thanks"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji: the joiners stay
    r = client.post(f"/api/v1/requests/{request['id']}/decision", headers=headers,
                    json={"decision": "decline", "reply": f"not\x1b now\u2066 {family}"})
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == f"not now {family}"
    assert f"not now {family}" in child.get("/me").text


def test_a_nul_character_is_refused_at_the_door_not_a_500_on_postgresql(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path,
        any_db_url: str) -> None:
    # PostgreSQL refuses NUL in text: a device's, an account's or a token's name, a sign-in
    # (before any account check: anyone could), a list and a query-log search holding one
    # were 500s on PostgreSQL (SQLite stored them and cut the text short)
    served = _on_database(serve_config, upstream, tmp_path, any_db_url)
    client, headers = served.parent()
    writes = [
        ("/api/v1/login", {"name": "Al\x00ex", "password": "0123456789"}),
        ("/api/v1/clients", {"name": "tab\x00let", "profile": "mia",
                             "addresses": ["10.1.1.1"]}),
        ("/api/v1/users", {"name": "bo\x00b", "password": "0123456789ab",
                           "roles": ["parent"]}),
        ("/api/v1/tokens", {"name": "to\x00ken", "scopes": ["metrics"]}),
        ("/api/v1/lists", {"name": "more", "source": "http://127.0.0.1:9/\x00",
                           "category": "adult"}),
    ]
    for path, body in writes:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["field"] == "body" and "NUL" in r.json()["detail"]
    r = client.get("/api/v1/querylog", params={"q": "a\x00b"})
    assert r.status_code == 400 and r.json()["field"] == "query"
    assert client.get("/querylog", params={"q": "a\x00b"}).status_code == 400
    sign_in = served.client().post("/login", data={"name": "Al\x00ex", "password": "x"})
    assert sign_in.status_code in (400, 403)  # the form's CSRF or the NUL: never a 500
    # nothing was stored, and the server goes on answering
    assert [c["name"] for c in client.get("/api/v1/clients").json()] == ["Mia's tablet"]
    assert client.get("/api/v1/querylog", params={"q": "casino"}).status_code == 200


def test_a_device_written_as_an_ipv4_mapped_address_gets_its_profile(
        served: Served, parent: P) -> None:
    # docs/configuration.md: "IPv4 addresses written in IPv6 form (::ffff:192.168.1.23) count
    # as IPv4"; a device so written (file or dashboard) got the default profile instead
    assert served.addresses("tiktok.com", source="127.0.0.5") == ["127.0.0.1"]  # Mia: 9-12
    client, headers = parent
    for name, address in (("Kai's laptop", "::ffff:127.0.0.5"),
                          ("Kai's class", "::ffff:127.0.1.0/120")):
        r = client.post("/api/v1/clients", headers=headers,
                        json={"name": name, "profile": "kai", "addresses": [address]})
        assert r.status_code == 201, r.text
    served.refresh_state()
    assert served.addresses("tiktok.com", source="127.0.0.5") == ["192.0.2.1"]  # Kai: 13-15
    assert served.addresses("tiktok.com", source="127.0.1.9") == ["192.0.2.1"]
    assert served.addresses("tiktok.com", source="127.0.2.9") == ["127.0.0.1"]


def test_a_bedtime_that_ends_when_it_starts_is_refused(served: Served, parent: P) -> None:
    # bedtime 19:30, wake-up 19:30 was accepted by the dashboard and by config check, and
    # blocked everything all day, every day
    client, headers = parent
    for bedtime, wake_up in (("19:30", "19:30"), ("24:00", "00:00")):
        r = client.put("/api/v1/profiles/mia/bedtime", headers=headers,
                       json={"bedtime": bedtime, "wake_up": wake_up})
        assert r.status_code == 422, r.text
        assert "whole day" in r.json()["detail"]
    assert served.addresses("example.org") == ["192.0.2.1"]  # Mia's afternoon goes on
    text = served.config_path.read_text().replace('wake_up = "07:00"', 'wake_up = "21:00"')
    served.write_config(text)
    assert not served.reload()  # the server keeps its last good configuration
    assert served.addresses("example.org") == ["192.0.2.1"]


def test_dns_over_https_says_when_the_dns_parameter_is_not_base64url(served: Served) -> None:
    # letters outside base64url were dropped silently: "!!!!" answered "empty or oversized
    # DNS message"
    client = served.client()
    for bad in ("!!!!", "AA AA", "AAAA*"):
        r = client.get("/dns-query", params={"dns": bad})
        assert r.status_code == 400 and r.text == "'dns' is not base64url", (bad, r.text)
    query = dns.message.make_query("casino.example", "A")
    encoded = base64.urlsafe_b64encode(query.to_wire()).decode()
    for sent in (encoded.rstrip("="), encoded, encoded.rstrip("=") + "=="):
        r = client.get("/dns-query", params={"dns": sent})
        assert r.status_code == 200, (sent, r.text)
        assert [rd.address for rrset in dns.message.from_wire(r.content).answer
                for rd in rrset] == ["127.0.0.1"]


def test_a_budget_for_an_unknown_service_and_an_empty_name_are_refused(served: Served,
                                                                      parent: P) -> None:
    # the API kept {"nope": 5} (minutes for an id the engine never looks up: a limit that
    # limits nothing) and a blank name ("Hi !" on the child page), where
    # `kidshield check --usage nope=5` refuses the service
    client, headers = parent
    for body, field in (({"budgets": {"nope": 5}}, "budgets.nope"),
                        ({"budgets": {"minecraft": 30, "nope": 5}}, "budgets.nope"),
                        ({"name": ""}, "name"), ({"name": "  \t "}, "name")):
        r = client.patch("/api/v1/profiles/mia", json=body, headers=headers)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    mia = client.get("/api/v1/profiles/mia").json()  # the last good state is kept
    assert mia["name"] == "Mia"
    assert {b["service"]: b["minutes"] for b in mia["budgets"]} == {"minecraft": 60}
    r = client.patch("/api/v1/profiles/mia", json={"name": " Mia R. "}, headers=headers)
    assert r.status_code == 200 and r.json()["name"] == "Mia R.", r.text
    # the dashboard's form, posted by hand: a clear error, nothing changed
    form = {"csrf": page_csrf(client, "/profiles/mia"), "has_budgets": "1",
            "budget.minecraft": "60", "budget.nope": "5"}
    r = client.post("/profiles/mia", data=form, follow_redirects=False)
    assert r.status_code == 422 and "unknown service" in r.text, r.text[:300]
    r = client.post("/profiles/mia", data={"csrf": form["csrf"], "name": "   "},
                    follow_redirects=False)
    assert r.status_code == 422 and "the child" in r.text
    mia = client.get("/api/v1/profiles/mia").json()
    assert mia["name"] == "Mia R."
    assert {b["service"]: b["minutes"] for b in mia["budgets"]} == {"minecraft": 60}


def test_a_question_too_long_gets_a_page_for_the_child_in_their_language(served: Served,
                                                                         parent: P) -> None:
    # a message past the ask forms' 8 KiB showed the dashboard's error page to the child, in
    # English ("413 the body is larger than 8192 bytes", with the dashboard's links)
    child = served.client()
    page = child.get("/", headers={"Host": "casino.example", "Accept-Language": "fr"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 403 and csrf
    form = {"csrf": csrf.group(1), "name": "casino.example", "message": "s'il te plaît " * 800}
    for path, host in (("/.well-known/kidshield/ask", "casino.example"),
                       ("/me/ask", None)):
        headers = {"Accept-Language": "fr", **({"Host": host} if host else {})}
        if host is None:
            form["csrf"] = page_csrf(child, "/me")
        r = child.post(path, headers=headers, data=form)
        assert r.status_code == 413, (path, r.text[:300])
        assert "Ta question était trop longue" in r.text, (path, r.text[:300])
        assert "8192" not in r.text, path
        assert "/api/v1/openapi.json" not in r.text  # not the dashboard's page
    ar = child.post("/me/ask?lang=ar", data=form)
    assert ar.status_code == 413 and "كان سؤالك طويلًا جدًا" in ar.text and 'dir="rtl"' in ar.text
    # nothing was stored, and a short question still goes through
    client, _h = parent
    assert client.get("/api/v1/requests").json() == []
    r = child.post("/me/ask", data={**form, "message": "homework"})
    assert r.status_code == 200 and len(client.get("/api/v1/requests").json()) == 1


def test_the_child_page_lists_apps_off_time_budgets_and_schedules(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    # "What is filtered" showed categories, bedtime and safe search: the apps switched off,
    # Mia's 60 minutes of Minecraft and the school-hours schedule were nowhere on her page
    write_lists(tmp_path)
    text = config_text(upstream.port).replace('[profiles.leo]', '''\
extra_blocked_services = ["roblox"]

[[profiles.mia.schedules]]
name = "school hours"
days = "weekdays"
from = "09:00"
to = "15:00"
services = ["youtube"]
categories = ["gambling"]

[[profiles.mia.schedules]]
name = "screen-free morning"
days = "sat-sun"
from = "08:00"
to = "10:00"

[profiles.leo]''')
    served = serve_config(text, FixedClock(AFTERNOON))
    en = served.client().get("/me?lang=en").text
    section = en[en.index('id="what-h"'):en.index('id="log-h"')]
    assert "These apps and games are switched off for you:" in section
    assert "<li><bdi>Roblox</bdi></li>" in section
    assert "Time you can spend each day:" in section
    assert "<li><bdi>Minecraft</bdi>: 60 minutes</li>" in section
    assert ("<bdi>YouTube, gambling</bdi>: closed Monday to Friday "
            '<bdi dir="ltr">09:00–15:00</bdi>') in section
    assert ('The internet: closed Saturday and Sunday <bdi dir="ltr">08:00–10:00</bdi>'
            in section)
    assert "Bedtime: every night" in section  # as before
    fr = served.client().get("/me?lang=fr").text
    section = fr[fr.index('id="what-h"'):fr.index('id="log-h"')]
    assert "<li><bdi>Minecraft</bdi>: 60 minutes</li>" in section
    assert "Ces applis et jeux sont coupés pour toi" in section
    assert "fermé du lundi au vendredi" in section
    assert "These apps" not in section and "closed" not in section
