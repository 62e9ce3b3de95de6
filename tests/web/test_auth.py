"""First run, sign-in, sessions, CSRF, rate limiting, API tokens, the parent PIN (COP-24)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import PASSWORD, config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def test_first_start_has_a_one_time_setup_link_that_creates_the_parent(
        served: Served, client: httpx.Client) -> None:
    ctx = served.web
    assert client.get("/", follow_redirects=False).headers["location"] == "/setup"
    assert ctx.setup_url("http://127.0.0.1:8080").startswith(
        "http://127.0.0.1:8080/setup?token=")
    page = client.get(f"/setup?token={ctx.setup_token}")
    token = ctx.setup_token
    r = client.post("/setup", data={"csrf": _csrf(page.text), "token": token, "name": "Alex",
                                    "password": PASSWORD, "password2": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    assert ctx.setup_token is None
    # the link works once
    r = client.post("/api/v1/setup", json={"token": token, "name": "Eve", "password": PASSWORD})
    assert r.status_code == 403
    assert [u.name for u in ctx.users.all()] == ["Alex"]
    assert ctx.users.all()[0].password_hash.startswith("$argon2id$")


def test_wrong_setup_token_is_refused(client: httpx.Client) -> None:
    r = client.post("/api/v1/setup", json={"token": "nope", "name": "Eve",
                                            "password": PASSWORD})
    assert r.status_code == 403


def test_session_cookie_is_httponly_and_samesite(served: Served, client: httpx.Client) -> None:
    ctx = served.web
    client.post("/api/v1/setup", json={"token": ctx.setup_token, "name": "Alex",
                                        "password": PASSWORD})
    r = client.post("/api/v1/login", json={"name": "Alex", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "ks_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure behind TLS


def test_secure_cookie_behind_tls(serve_config: ServeConfig, upstream: FakeUpstream,
                                  tls_files: tuple[Path, Path], tmp_path: Path) -> None:
    cert, key = tls_files
    write_lists(tmp_path)
    text = config_text(upstream.port).replace(
        "[dns]\n", f'[dns]\ntls_certificate = "{cert}"\ntls_key = "{key}"\n')
    served = serve_config(text)
    assert served.url.startswith("https://")
    with httpx.Client(base_url=served.url, verify=str(cert)) as c:
        c.post("/api/v1/setup", json={"token": served.web.setup_token, "name": "Alex",
                                       "password": PASSWORD})
        r = c.post("/api/v1/login", json={"name": "Alex", "password": PASSWORD})
        assert "Secure" in r.headers["set-cookie"]


def test_form_without_csrf_token_is_rejected(
        served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _headers = parent
    r = client.post("/pause", data={"profile": "mia", "minutes": "30"})
    assert r.status_code == 403
    r = client.post("/pause", data={"profile": "mia", "minutes": "30", "csrf": "0" * 64})
    assert r.status_code == 403
    assert served.app.state.paused_until("mia") is None


def test_cookie_api_write_needs_csrf_header(parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": 5})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": 5}, headers=headers)
    assert r.status_code == 200


def test_login_is_rate_limited(served: Served, parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client = served.client()
    for _ in range(5):
        assert client.post("/api/v1/login", json={"name": "Alex",
                                                  "password": "wrong"}).status_code == 401
    r = client.post("/api/v1/login", json={"name": "Alex", "password": PASSWORD})
    assert r.status_code == 429


def test_api_token_works_without_cookies_and_can_be_revoked(
        parent: tuple[httpx.Client, dict[str, str]], served: Served) -> None:
    client, headers = parent
    r = client.post("/api/v1/tokens", json={"name": "home assistant", "scopes": ["dns"]},
                    headers=headers)
    assert r.status_code == 201
    token, tid = r.json()["token"], r.json()["id"]
    with served.client() as bare:
        auth = {"Authorization": f"Bearer {token}"}
        assert bare.get("/api/v1/profiles").status_code == 401
        assert bare.get("/api/v1/profiles", headers=auth).status_code == 200
        assert bare.post("/api/v1/pause", json={"profile": "leo", "minutes": 10},
                         headers=auth).status_code == 200
        assert client.delete(f"/api/v1/tokens/{tid}", headers=headers).status_code == 200
        assert bare.get("/api/v1/profiles", headers=auth).status_code == 401
    listed = client.get("/api/v1/tokens").json()
    assert "token" not in listed[0] and listed[0]["revoked"]


def test_wrong_pin_on_the_child_page_is_refused_and_audited(served: Served,
        parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    assert client.put("/api/v1/pin", json={"pin": "864213"}, headers=headers).status_code == 200
    page = client.get("/me")
    r = client.post("/me/pause", data={"csrf": _csrf(page.text), "pin": "000000",
                                       "minutes": "30"})
    assert r.status_code == 403
    ctx = served.web
    assert ctx.state.paused_until("mia") is None
    r = client.post("/me/pause", data={"csrf": _csrf(page.text), "pin": "864213",
                                       "minutes": "30"}, follow_redirects=False)
    assert r.status_code == 303
    assert ctx.state.paused_until("mia") is not None
    actions = [e["action"] for e in client.get("/api/v1/audit").json()]
    assert "pin.wrong" in actions and "pause" in actions


def test_pin_attempts_are_rate_limited(parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    client.put("/api/v1/pin", json={"pin": "864213"}, headers=headers)
    csrf = _csrf(client.get("/me").text)
    for _ in range(5):
        client.post("/me/pause", data={"csrf": csrf, "pin": "111111", "minutes": "30"})
    r = client.post("/me/pause", data={"csrf": csrf, "pin": "864213", "minutes": "30"})
    assert r.status_code == 429


def test_pages_need_sign_in(client: httpx.Client) -> None:
    r = client.get("/profiles", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/profiles").status_code == 401


def test_audit_log_has_no_update_or_delete() -> None:
    from kidshield.storage.web_sql import SqlAuditLog

    assert not [m for m in dir(SqlAuditLog) if m.startswith(("update", "delete", "remove"))]


def test_admin_adds_a_moderator_who_cannot_change_protections(
        parent: tuple[httpx.Client, dict[str, str]], served: Served) -> None:
    client, headers = parent
    r = client.post("/api/v1/users", json={"name": "Sam", "password": "moderate me please",
                                           "roles": ["moderator"]}, headers=headers)
    assert r.status_code == 201 and r.json()["roles"] == ["moderator"]
    r = client.post("/api/v1/users", json={"name": "Sam", "password": "moderate me please",
                                           "roles": ["moderator"]}, headers=headers)
    assert r.status_code == 409
    r = client.post("/api/v1/users", json={"name": "X", "password": "long enough pw",
                                           "roles": ["wizard"]}, headers=headers)
    assert r.status_code == 422 and r.json()["field"].startswith("roles")
    with served.client() as mod:
        r = mod.post("/api/v1/login", json={"name": "Sam", "password": "moderate me please"})
        assert r.status_code == 200
        csrf = mod.get("/api/v1/me").json()["csrf"]
        r = mod.post("/api/v1/pause", json={"profile": "mia", "minutes": 5},
                     headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and "parent" in r.json()["detail"]
        assert mod.get("/api/v1/users").status_code == 403


def test_change_password(parent: tuple[httpx.Client, dict[str, str]]) -> None:
    client, headers = parent
    r = client.put("/api/v1/password", json={"current_password": "nope",
                                             "new_password": "a new long password"},
                   headers=headers)
    assert r.status_code == 403
    r = client.put("/api/v1/password", json={"current_password": PASSWORD,
                                             "new_password": "a new long password"},
                   headers=headers)
    assert r.status_code == 200
    r = client.post("/api/v1/login", json={"name": "Alex", "password": "a new long password"},
                    headers=headers)
    assert r.status_code == 200


def test_account_names_are_one_however_they_are_typed(
        parent: tuple[httpx.Client, dict[str, str]], served: Served) -> None:
    """`Sam` and `sAM` are one account: adding the other spelling is a clear 409, and the
    account signs in under any spelling (it was 401 for any but the one typed at creation)."""
    client, headers = parent
    r = client.post("/api/v1/users", json={"name": "Sam", "password": "moderate me please",
                                           "roles": ["moderator"]}, headers=headers)
    assert r.status_code == 201
    r = client.post("/api/v1/users", json={"name": "sAM", "password": "moderate me please",
                                           "roles": ["moderator"]}, headers=headers)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    with served.client() as mod:
        r = mod.post("/api/v1/login", json={"name": " SAM ", "password": "moderate me please"})
        assert r.status_code == 200
        assert mod.get("/api/v1/me").json()["name"] == "Sam"
