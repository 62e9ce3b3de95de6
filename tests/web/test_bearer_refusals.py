"""Every API route refuses bad credentials the same way: 401, ``WWW-Authenticate: Bearer``
(RFC 6750: ``error="invalid_token"`` for a token that is wrong, revoked or expired,
``error="invalid_request"`` for a header that holds no one token) and the JSON error shape
saying what was wrong; never a 500, never a redirect to the sign-in page. Browser navigation
to a page keeps its sign-in redirect. Against the app as ``kidshield serve`` composes it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kidshield.clock import FixedClock
from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served

CHALLENGE = 'Bearer realm="kidshield"'
SAMPLE = ("/api/v1/me", "/api/v1/setup", "/api/v1/profiles", "/api/v1/media/banks")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_household(tmp_path_factory.mktemp("bearer")) as served:
        served.parent()
        yield served


def _operations(served: Served) -> list[tuple[str, str, bool]]:
    """(method, path with its parameters filled in, needs credentials) of every API route."""
    with served.client() as client:
        doc = client.get("/api/v1/openapi.json").json()
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                filled = path.replace("{", "").replace("}", "")  # "{pid}" -> "pid"
                out.append((method.upper(), filled, "security" in op))
    assert len(out) > 50  # the whole API, not a few routes
    return out


def _send(client: httpx.Client, method: str, path: str,
          headers: Mapping[str, str | bytes]) -> httpx.Response:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    raw = [(b"accept", b"application/json"),
           *((k.encode(), v if isinstance(v, bytes) else v.encode()) for k, v in headers.items())]
    return client.request(method, path, headers=raw, follow_redirects=False, **body)


def _assert_refused(r: httpx.Response, error: str | None, words: str, where: str) -> None:
    assert r.status_code == 401, (where, r.status_code, r.text)
    challenge = r.headers.get("www-authenticate", "")
    assert challenge.startswith(CHALLENGE), (where, r.headers)
    if error is None:
        assert "error=" not in challenge, where
    else:
        assert f'error="{error}"' in challenge, (where, challenge)
    assert r.headers["content-type"].startswith("application/json"), where
    body = r.json()
    assert body["error"] == "unauthorized" and words in body["detail"], (where, body)


@pytest.mark.parametrize(("header", "error", "words"), [
    ("Bearer ks_" + "x" * 43, "invalid_token", "not valid"),  # a wrong token
    ("bearer ks_wrong", "invalid_token", "not valid"),  # the scheme is case-insensitive
    ("Bearer", "invalid_request", "malformed"),  # no token
    ("Bearer one two", "invalid_request", "malformed"),  # two
    ("Bearer ks_\u00e9t\u00e9", "invalid_request", "malformed"),  # not a b64token
])
def test_every_api_route_refuses_a_bad_bearer_with_the_challenge(
        live: Served, header: str, error: str, words: str) -> None:
    operations = _operations(live)
    if error == "invalid_request":  # refused before routing, as a wrong token is: a few
        operations = [op for op in operations if op[1] in SAMPLE]
        assert {op[1] for op in operations} == set(SAMPLE)
    with live.client() as client:
        for method, path, _needs in operations:
            # as bytes: httpx sends a str header only when it is ASCII
            r = _send(client, method, path, {"Authorization": header.encode()})
            _assert_refused(r, error, words, f"{method} {path}")


@pytest.mark.parametrize("header", [None, "Basic YWxleDpjb3JyZWN0", "Token ks_abc"])
def test_every_api_route_without_a_bearer_asks_for_one(live: Served, header: str | None) -> None:
    # no credentials, or another scheme's (RFC 6750 section 3.1: then no error code)
    headers = {"Authorization": header} if header else {}
    with live.client() as client:
        for method, path, needs in _operations(live):
            r = _send(client, method, path, headers)
            where = f"{method} {path}"
            assert r.status_code < 500 and not r.is_redirect, (where, r.status_code, r.text)
            if needs:
                _assert_refused(r, None, "sign in first", where)
                if header:
                    assert "Bearer ks_" in r.json()["detail"], where
            elif r.status_code == 401:  # a wrong password on POST /api/v1/login, say
                _assert_refused(r, None, "", where)


def test_metrics_asked_for_json_without_a_token_get_the_challenge(live: Served) -> None:
    with live.client() as client:
        r = client.get("/metrics", headers={"accept": "application/json"})
    _assert_refused(r, None, "sign in first", "/metrics")


def test_a_revoked_token_is_refused_with_invalid_token(live: Served) -> None:
    parent, csrf = live.parent()
    r = parent.post("/api/v1/tokens", json={"name": "script", "scopes": ["read"]}, headers=csrf)
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    with live.client() as client:
        assert _send(client, "GET", "/api/v1/profiles", auth).status_code == 200
        assert parent.delete(f"/api/v1/tokens/{r.json()['id']}", headers=csrf).status_code == 200
        for path in ("/api/v1/profiles", "/api/v1/me", "/metrics"):
            _assert_refused(_send(client, "GET", path, auth), "invalid_token", "revoked", path)


def test_an_expired_token_is_refused_with_invalid_token(live: Served) -> None:
    auth = live.bearer_for("Alex", ["read"], days=1)
    clock = live.clock
    assert isinstance(clock, FixedClock)
    with live.client() as client:
        assert _send(client, "GET", "/api/v1/profiles", auth).status_code == 200
        clock.advance(timedelta(days=1, seconds=1))
        try:
            r = _send(client, "GET", "/api/v1/profiles", auth)
        finally:
            clock.advance(-timedelta(days=1, seconds=1))
    _assert_refused(r, "invalid_token", "expired", "/api/v1/profiles")


def test_browser_navigation_keeps_its_sign_in_redirect(live: Served) -> None:
    html = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with live.client() as client:
        for path in ("/", "/metrics"):
            r = client.get(path, headers=html, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        # behind a reverse proxy that asks for Basic, the browser sends it on every request
        r = client.get("/", headers={**html, "Authorization": "Basic YWxleDpjb3JyZWN0"},
                       follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")

