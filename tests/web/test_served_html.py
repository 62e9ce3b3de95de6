"""Every HTML page of the served app works under its Content-Security-Policy (``script-src
'self'; style-src 'self'``): no inline ``<script>`` or ``<style>``, no ``style=`` or ``on...=``
attribute, no ``javascript:`` link, and each stylesheet, script and image it names is served.
Every page names the shield as its icon and ``/favicon.ico`` serves it, on our pages and on a
blocked name's (every browser asks for it).

The pages come from the route registry (``web/routing.py``), so a page added tomorrow is
checked too; the household has a report, a decided and appealed case, and published
transparency figures, so the pages show their full content, not only their empty state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from kidshield.clock import FixedClock
from kidshield.education.lessons import default_library
from kidshield.education.tabletop import scenarios
from kidshield.web.routing import declared
from kidshield.web.server import FAVICON
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

# not pages: machine endpoints and files
NOT_PAGES = ("/api/", "/metrics", "/healthz", "/dns-query", "/static/", "/report/assets/",
             "/learn/assets/", "/favicon.ico")


class Inline(HTMLParser):
    """What a page holds that the CSP would block, and what it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.loads: list[str] = []
        self.icons: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        line = self.getpos()[0]
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"line {line}: <{tag} {name}=...> (an inline handler)")
            elif name == "style":
                self.problems.append(f"line {line}: <{tag} style=...> (an inline style)")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"line {line}: <{tag} {name}={value!r}>")
        if tag == "style":
            self.problems.append(f"line {line}: <style> (an inline style sheet)")
        elif tag == "script":
            if a.get("src"):
                self.loads.append(a["src"] or "")
            else:
                self._script = True
        elif tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").split()
            if "icon" in rel:
                self.icons.append(a["href"] or "")
            if {"stylesheet", "icon"} & set(rel):
                self.loads.append(a["href"] or "")
        elif tag == "img" and a.get("src") and not (a["src"] or "").startswith("data:"):
            self.loads.append(a["src"] or "")

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.problems.append(f"line {self.getpos()[0]}: an inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = False


@pytest.fixture
def household(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> Served:
    write_lists(tmp_path)
    text = config_text(upstream.port) + "\n[reports]\npublic_transparency = true\n"
    return serve_config(text, FixedClock(AFTERNOON))


def _with_a_decided_and_appealed_case(served: Served, reporter: httpx.Client) -> dict[str, str]:
    filed = reporter.post("/api/v1/reports", json={
        "url": "https://scam.example/win", "case_type": "under_blocking",
        "description": "a fake prize"})
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    maria, csrf = served.account("maria", "moderator")
    [case] = maria.get("/api/v1/cases").json()["cases"]
    decided = maria.post(f"/api/v1/cases/{case['id']}/decision", headers=csrf, json={
        "facts": "scam.example was reported and checked.", "ground": "policy",
        "action": "block_listed"})
    assert decided.status_code == 201, decided.text
    appeal = reporter.post(f"/api/v1/reports/{code}/appeal", json={"reason": "look again"})
    assert appeal.status_code == 201, appeal.text
    return {"code": code, "case_id": str(case["id"])}


def _pages(served: Served, values: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(path, host) of every page: each route the registry declares, with real values."""
    app = served.app.web.app  # type: ignore[union-attr]
    routes = [*declared(app.routes), *declared(app.state.block_app.routes, host="foreign")]
    for route in routes:
        if route.method != "GET" or route.path.startswith(NOT_PAGES):
            continue
        path = re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda m: values[m.group(1)], route.path)
        yield path, "blocked.example" if route.host == "foreign" else ""
    # the same routes in the forms and languages they have
    yield from ((p, "") for p in (
        "/report?for=child", f"/report/status/{values['code']}?for=child",
        f"/report/status?code={values['code']}", "/cases?state=closed",
        "/preview/block?band=under-9&reason=self_harm&name=sh.example",
        "/preview/block?band=16-17&reason=category&name=casino.example",
        "/me?lang=ar", "/learn?lang=zh", "/workshop?lang=ru", "/no-such-page",
        "/api/v1/cases/transparency?format=html"))
    library = default_library()
    yield from ((lesson.url, "") for lesson in library.items.values() if lesson.lang == "en")
    yield from ((lesson.url, "") for lesson in library.guides())
    yield from ((f"/workshop/{name}", "") for name in scenarios())
    yield from (("/", host) for host in ("casino.example", "sh.example"))


def test_every_page_is_free_of_inline_code_and_names_the_shield_as_its_icon(
        household: Served) -> None:
    served = household
    child = served.client()  # Mia's tablet (127.0.0.1), anonymous
    setup = child.get(served.setup_url)
    staff, staff_csrf = served.parent()  # the first account: parent and admin
    # Mia's tablet gets a secret for encrypted DNS, so its settings page shows in full
    issued = staff.post("/api/v1/clients/0/secret", headers=staff_csrf)
    assert issued.status_code == 201, issued.text
    values = {"pid": "mia", "band": "9-12", "topic": "strangers", "index": "0",
              "scenario": next(iter(scenarios())), "path": "nothing-here",
              **_with_a_decided_and_appealed_case(served, child)}
    checked: dict[str, list[str]] = {}
    loads: set[str] = set()
    pages = [("/setup-page", setup), *(
        (f"{host}{path}", (child if path.startswith(("/me", "/report", "/learn", "/workshop",
                                                     "/assess", "/transparency")) or host
                           else staff).get(path, headers={"host": host} if host else {}))
        for path, host in _pages(served, values))]
    for where, response in pages:
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        assert "script-src 'self'" in response.headers["content-security-policy"], where
        parser = Inline()
        parser.feed(response.text)
        parser.close()
        problems = list(parser.problems)
        if parser.icons != ["/favicon.ico"]:
            problems.append(f"icons {parser.icons}, not ['/favicon.ico']")
        checked[f"{where} ({response.status_code})"] = problems
        loads.update(parser.loads)
    wrong = {where: problems for where, problems in checked.items() if problems}
    assert wrong == {}, "\n".join(f"{w}: {p}" for w, p in wrong.items())
    # the pages did render, with their full content
    assert len(checked) > 60
    shown = " ".join(checked)
    for page in ("/cases/transparency (200)", "/transparency (200)",
                 f"/cases/{values['case_id']} (200)", f"/report/status/{values['code']} (200)",
                 "/me (200)", "blocked.example/nothing-here (", "/requests (200)",
                 "/devices/0/encrypted-dns (200)",
                 "/api/v1/cases/transparency?format=html (200)"):
        assert page in shown, f"{page} was not checked"
    missing = {url: r.status_code for url in sorted(loads)
               if (r := child.get(url)).status_code != 200}
    assert missing == {}


def test_the_favicon_is_the_shield_on_our_pages_and_on_blocked_names(
        client: httpx.Client) -> None:
    for host in ({}, {"host": "casino.example"}):
        icon = client.get("/favicon.ico", headers=host)
        assert icon.status_code == 200, host
        assert icon.headers["content-type"] == "image/svg+xml"
        assert icon.content == FAVICON.read_bytes()
        assert "max-age" in icon.headers["cache-control"]
    assert client.head("/favicon.ico").status_code == 200
