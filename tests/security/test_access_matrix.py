"""Every route the served app mounts, asked by every role (and by nobody), answers exactly as
its declared permission says: the list of routes and what each needs come from the route
registry itself (``web/routing.py``), so a route added tomorrow is checked here too.

A refusal by the access rules is recognisable: a 401 "sign in first" (or, for a page, a
redirect to the sign-in page that comes back afterwards) or a 403 whose text starts "not
allowed:". A route the identity may use must never answer one of those, whatever else it
answers (404 for the made-up ids used here, 422 for the empty bodies).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import Route

from kidshield.web.access import DENIED, ROLE_PERMISSIONS, SCOPES, Permission, permissions_of
from kidshield.web.routing import FORM, JSON, Declared, declared, page, undeclared
from kidshield.web.server import create_app
from tests.e2e.harness import Served, csrf_of

PATH_VALUES = {"pid": "nobody", "index:int": "9999", "rid:int": "9999", "gid:int": "9999",
               "tid:int": "9999", "tid": "9999", "rid": "9999", "gid": "9999",
               "index": "9999", "case_id": "9999", "code": "KS-AAAA-AAAA", "token": "a" * 32,
               "name": "no-such-bank", "band": "9-12", "topic": "no-such-topic",
               "scenario": "none", "client_id": "nobody", "path": "nothing.css",
               "path:path": "nothing", "eid": "9999", "record_id": "9999"}


def routes_of(served: Served) -> list[Declared]:
    app = served.app.web.app  # type: ignore[union-attr]
    return [*declared(app.routes), *declared(app.state.block_app.routes, host="foreign")]


def fill(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES[m.group(1)], path)


@dataclass
class Identity:
    name: str
    client: httpx.Client
    csrf: str  # the CSRF token of this browser (header and form field)
    permissions: frozenset[Permission]
    bearer: dict[str, str] | None = None


def ask(who: Identity, route: Declared) -> httpx.Response:
    url = fill(route.path)
    headers: dict[str, str] = {}
    if route.host == "foreign":
        headers["host"] = "blocked.example"
    if who.bearer is not None:
        headers.update(who.bearer)
    options: dict[str, object] = {}
    if route.method != "GET":
        headers["x-csrf-token"] = who.csrf
        bodies = route.rule.bodies
        if JSON in bodies:
            options["json"] = {}
        elif FORM in bodies:
            options["data"] = {"csrf": who.csrf}
        elif bodies:
            options["content"] = b""
            headers["content-type"] = bodies[0].replace("*", "png")
    return who.client.request(route.method, url, headers=headers, follow_redirects=False,
                              **options)  # type: ignore[arg-type]


def refused_by_access_rules(r: httpx.Response) -> bool:
    if r.status_code == 303 and r.headers.get("location", "").startswith("/login?next="):
        return True  # a page: the browser is sent to sign in first
    if r.status_code == 401 and "sign in first" in r.text:
        return True
    return r.status_code == 403 and DENIED in r.text


def check(identity: Identity, routes: list[Declared]) -> list[str]:
    wrong = []
    # signing out last: it ends the identity's session
    for route in sorted(routes, key=lambda r: r.path == "/logout"):
        may = route.rule.allow is Permission.PUBLIC or route.rule.allow in identity.permissions
        r = ask(identity, route)
        if refused_by_access_rules(r) == may:
            wrong.append(f"{identity.name}: {route.method} {route.path} ({route.rule.allow}) "
                         f"-> {r.status_code} {r.text[:120]!r}")
    return wrong


def browser(served: Served, client: httpx.Client | None = None) -> tuple[httpx.Client, str]:
    client = client or served.client()
    if client.cookies.get("ks_session"):
        return client, client.get("/api/v1/me").json()["csrf"]
    return client, csrf_of(client.get("/login").text)


@pytest.fixture
def identities(served: Served) -> Iterator[list[Identity]]:
    admin, _ = served.parent()  # the first account: parent and admin
    people = [Identity("anonymous", *browser(served), frozenset())]
    people.append(Identity("admin", *browser(served, admin),
                           permissions_of(frozenset({"parent", "admin"}), None)))
    for role in ("parent", "moderator", "analyst"):
        client, _ = served.account(f"a {role}", role)
        people.append(Identity(role, *browser(served, client), ROLE_PERMISSIONS[role]))
    yield people


def test_every_route_answers_every_role_as_declared(served: Served,
                                                    identities: list[Identity]) -> None:
    routes = routes_of(served)
    assert len(routes) > 90  # the dashboard, API, child page, features, block page
    assert undeclared(served.app.web.app.routes) == []  # type: ignore[union-attr]
    wrong = [line for who in identities for line in check(who, routes)]
    assert wrong == [], "\n".join(wrong)


def test_api_tokens_hold_only_what_their_scopes_name(served: Served) -> None:
    served.parent()
    routes = [r for r in routes_of(served)
              if r.path.startswith("/api/v1/") or r.path == "/metrics"]
    wrong = []
    for scope, granted in SCOPES.items():
        # a token of the first account (parent and admin: every permission there is)
        header = served.bearer_for("Alex", [scope])
        who = Identity(f"token[{scope}]", httpx.Client(base_url=served.url), "",
                       permissions_of(frozenset({"parent", "admin"}), frozenset({scope})),
                       header)
        assert who.permissions == granted | {Permission.ACCOUNT}
        with who.client:
            wrong += check(who, routes)
    assert wrong == [], "\n".join(wrong)


def test_a_route_without_an_access_rule_is_not_served(served: Served) -> None:
    from kidshield.web.context import WebDeps
    from kidshield.web.feature import WebFeature

    async def hello(_request: object) -> object:  # pragma: no cover - never served
        raise AssertionError

    app = served.app

    def deps(*features: WebFeature) -> WebDeps:
        return WebDeps(host=app, dns=app.dns, db=app.db, state=app.state, editor=app.editor,
                       clock=app.clock, secret=b"k" * 32, limiter=served.web.limiter,
                       features=features)

    with pytest.raises(RuntimeError, match="/careless"):
        create_app(deps(WebFeature("careless", [Route("/careless", hello)])))
    create_app(deps(WebFeature("careful", [page("/careful", hello, Permission.HOUSEHOLD_READ)])))


def test_the_api_offers_exactly_the_scopes_there_are() -> None:
    from typing import get_args

    from kidshield.web.api.models import Scope

    assert set(get_args(Scope)) == set(SCOPES)
