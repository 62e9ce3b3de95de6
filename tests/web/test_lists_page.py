"""A parent adds, refreshes and removes block lists on the Lists page of the served app: the
list comes from an HTTP server on 127.0.0.1, its names are blocked for the profiles that block
its category (real DNS queries), it is kept as a dashboard edit (a restart and `kidshield
config export` keep it), a failed download keeps the last good copy and says why, and a path
on the server is never read."""

from __future__ import annotations

import re

import httpx
import pytest
from typer.testing import CliRunner

from kidshield.cli import app as cli
from tests.e2e import harness
from tests.e2e.harness import Served
from tests.lists.helpers import FakeListServer, Reply

Parent = tuple[httpx.Client, dict[str, str]]
BLOCKED = ["127.0.0.1"]  # the household's block page address
OPEN = ["192.0.2.1"]  # what the fake upstream answers
KAI = "127.0.0.3"  # not a device of the household: the default profile, Mia's


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def _add(client: httpx.Client, **fields: str) -> httpx.Response:
    csrf = _csrf(client.get("/lists").text)
    return client.post("/lists", data={"csrf": csrf, "format": "auto", **fields})


def _card(html: str, name: str) -> str:
    match = re.search(rf'<section class="card"[^>]*id="list-{re.escape(name)}">(.*?)</section>',
                      html, re.S)
    assert match, f"no card for {name}"
    return match.group(1)


def test_a_parent_adds_refreshes_and_removes_a_list_and_dns_follows(
        served: Served, parent: Parent, lists_server: FakeListServer) -> None:
    client, _headers = parent
    assert served.addresses("meet-strangers.example") == OPEN
    r = _add(client, name="dating-extra", source=lists_server.url, category="dating")
    assert r.status_code == 200 and "The list was added and downloaded." in r.text, r.text
    card = _card(r.text, "dating-extra")
    assert "Rules: 2" in card and "added in the dashboard" in card
    assert "Last update: 2026-11-25" in card
    assert "1 lines could not be read" in card and "not_a..name!" in card
    # blocked for Mia (9-12 blocks dating), at once, on a real query; Sam (16-17) does not
    assert served.addresses("meet-strangers.example") == BLOCKED
    assert served.addresses("flirt.example") == BLOCKED
    served.write_config(served.config_path.read_text().replace(
        'addresses = ["127.0.0.1", "::1"]', 'addresses = ["127.0.0.1", "::1"]\n\n'
        '[[clients]]\nname = "Sam\'s laptop"\nprofile = "sam"\naddresses = ["127.0.0.2"]'))
    assert served.reload()
    assert served.addresses("flirt.example", source="127.0.0.2") == OPEN
    assert served.addresses("flirt.example") == BLOCKED  # the reload kept the dashboard list

    # refresh: the list changed on its server
    lists_server.reply = Reply(body=b"meet-strangers.example\nswipe.example\n")
    page = client.get("/lists").text
    r = client.post("/lists/update", data={"csrf": _csrf(page), "name": "dating-extra"})
    assert r.status_code == 200
    assert "Rules: 2" in _card(r.text, "dating-extra")
    assert served.addresses("swipe.example") == BLOCKED
    assert served.addresses("flirt.example") == OPEN

    # a failed refresh keeps the last good copy and says why
    lists_server.reply = Reply(status=500)
    r = client.post("/lists/update", data={"csrf": _csrf(r.text), "name": "dating-extra"})
    card = _card(r.text, "dating-extra")
    assert "HTTP 500" in card and "keeping the last good copy" in card
    assert served.addresses("swipe.example") == BLOCKED

    # remove: no longer blocked, the page no longer shows it
    r = client.post("/lists/dating-extra/remove", data={"csrf": _csrf(r.text)})
    assert r.status_code == 200 and "The list was removed." in r.text
    assert 'id="list-dating-extra"' not in r.text
    assert served.addresses("swipe.example") == OPEN


def test_an_added_list_is_kept_by_a_restart_and_written_by_config_export(
        served: Served, parent: Parent, lists_server: FakeListServer) -> None:
    client, headers = parent
    before = served.config_path.read_text()
    r = client.post("/api/v1/lists", json={"name": "dating-extra", "source": lists_server.url,
                                           "category": "dating"}, headers=headers)
    assert r.status_code == 201, r.text
    assert any(x["name"] == "dating-extra" and x["added_in_dashboard"] and x["rules"] == 2
               for x in r.json())
    assert served.config_path.read_text() == before  # the file is untouched
    served.run(served.app.stop())
    lists_server.reply = Reply(status=404)  # offline at the restart: the downloaded copy
    with harness.start(served.config_path, served.clock, web=False) as again:
        assert again.addresses("flirt.example") == BLOCKED
    result = CliRunner().invoke(cli, ["config", "export", "-c", str(served.config_path)])
    assert result.exit_code == 0, result.output
    assert 'name = "dating-extra"' in result.output and lists_server.url in result.output
    assert "# kidshield test configuration (comments must survive edits)" in result.output


@pytest.mark.parametrize("source", ["file:///etc/passwd", "/etc/passwd", "bad.txt"])
def test_a_path_on_the_server_is_refused_and_the_form_keeps_what_was_typed(
        served: Served, parent: Parent, source: str) -> None:
    client, headers = parent
    r = _add(client, name="sneaky", source=source, category="adult")
    assert r.status_code == 422
    assert "That could not be saved" in r.text and "Saved." not in r.text
    assert "http:// or https://" in r.text
    assert 'aria-invalid="true" aria-describedby="source-error"' in r.text
    assert f'value="{source}"' in r.text and 'value="sneaky"' in r.text
    assert 'id="list-sneaky"' not in r.text
    r = client.post("/api/v1/lists", json={"name": "sneaky", "source": source,
                                           "category": "adult"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "source"
    assert "root:" not in r.text
    assert all(x["name"] != "sneaky" for x in client.get("/api/v1/lists").json())


def test_a_list_that_cannot_be_downloaded_is_not_added_and_says_why(
        served: Served, parent: Parent, lists_server: FakeListServer) -> None:
    client, _headers = parent
    lists_server.reply = Reply(body=b"<html><body>Not a list</body></html>\n")
    r = _add(client, name="dating-extra", source=lists_server.url, category="dating")
    assert r.status_code == 422
    assert "it looks like a web page" in r.text
    assert 'id="list-dating-extra"' not in r.text
    lists_server.reply = Reply(status=404)
    r = _add(client, name="dating-extra", source=lists_server.url, category="dating")
    assert r.status_code == 422 and "HTTP 404" in r.text
    assert 'id="list-dating-extra"' not in r.text


def test_names_of_the_shipped_and_the_files_lists_are_refused(
        served: Served, parent: Parent, lists_server: FakeListServer) -> None:
    client, _headers = parent
    for name, says in (("bad", "already a list called &#39;bad&#39;"),
                       ("builtin-adult", "kept for"), ("Bad Name", "not a valid name")):
        r = _add(client, name=name, source=lists_server.url, category="dating")
        assert r.status_code == 422 and says in r.text, (name, r.text)
    assert lists_server.requests == []  # nothing was downloaded for a refused list


def test_reading_the_lists_page_does_not_let_one_add_lists(
        served: Served, parent: Parent, lists_server: FakeListServer) -> None:
    client, _headers = parent
    reader = served.client()
    token = served.bearer("reader", "analyst")
    r = reader.post("/api/v1/lists", json={"name": "x", "source": lists_server.url,
                                           "category": "dating"}, headers=token)
    assert r.status_code == 403
    # and a form post without the CSRF token is refused
    r = client.post("/lists", data={"name": "x", "source": lists_server.url,
                                    "category": "dating"})
    assert r.status_code == 403
    assert lists_server.requests == []
