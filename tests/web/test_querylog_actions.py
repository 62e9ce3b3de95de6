"""Query log row actions and reasons in plain words (issue 16 item 5): a parent allows a
blocked name, or blocks an allowed one, for the child whose device asked, from the row; the
next DNS answer follows, and each row says why in words."""

from __future__ import annotations

import re

import httpx

from tests.e2e.harness import Served


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def _row_action(client: httpx.Client, page: str, name: str, do: str) -> httpx.Response:
    return client.post("/querylog/action", data={
        "csrf": _csrf(page), "profile": "mia", "name": name, "do": do,
        "back_profile": "mia", "back_since_hours": "24"})


def test_allow_a_blocked_name_for_this_child_from_its_row(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    assert served.addresses("casino.example") == ["127.0.0.1"]  # the block page
    served.pump()
    page = client.get("/querylog?profile=mia").text
    assert "on a list of gambling sites" in page  # the reason in words, not "category"
    assert "Allow for Mia" in page
    r = _row_action(client, page, "casino.example", "allow")
    assert r.url.path == "/querylog" and r.url.params["profile"] == "mia"
    assert "casino.example is now allowed for Mia: on this child&#39;s always-allow list" \
        in r.text
    assert served.addresses("casino.example") == ["192.0.2.1"]  # the real answer
    assert "casino.example" in served.app.config.profiles["mia"].allow
    audit = client.get("/api/v1/audit").json()
    assert any(e["action"] == "querylog.allow" and e["target"] == "casino.example"
               for e in audit)


def test_block_an_allowed_name_and_the_allow_entry_goes(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    served.addresses("games.example")
    served.pump()
    page = client.get("/querylog").text
    assert "nothing in the rules applies" in page and "Block for Mia" in page
    _row_action(client, page, "games.example", "allow")
    r = _row_action(client, client.get("/querylog").text, "games.example", "block")
    assert "games.example is now blocked for Mia: on this child&#39;s always-block list" in r.text
    assert served.addresses("games.example") == ["127.0.0.1"]
    mia = served.app.config.profiles["mia"]
    assert "games.example" in mia.deny and "games.example" not in mia.allow


def test_helpline_rows_offer_no_block(served: Served,
                                      parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    served.addresses("childline.org.uk")
    served.pump()
    page = client.get("/querylog?q=childline").text
    assert "a helpline: always open" in page and "Block for Mia" not in page


def test_reason_filter_and_rows_in_arabic(served: Served,
                                          parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    served.addresses("casino.example")
    served.pump()
    page = client.get("/querylog?lang=ar").text
    assert 'dir="rtl"' in page
    assert "في قائمة مواقع قمار" in page  # "on a list of gambling sites"
    assert ">وقت النوم</option>" in page  # the bedtime reason in the filter
    assert ">bedtime</option>" not in page
