"""Issue 15, items 6 and 7 and "also": API tokens hold only their scopes and expire, revoking
one revokes what it issued, a new password ends the other sessions and the tokens, sessions
per account are capped; the setup link works once, from the home network, for a while."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import httpx

from kidshield.clock import FixedClock
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import PASSWORD, Served, sign_in
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream


def bare(served: Served, auth: dict[str, str]) -> httpx.Client:
    return served.client(headers=auth)


def test_a_token_does_only_what_its_scopes_name(served: Served) -> None:
    served.parent()
    with bare(served, served.bearer_for("Alex", ["read"])) as read:
        assert read.get("/api/v1/profiles").status_code == 200
        r = read.post("/api/v1/pause", json={"profile": "mia", "minutes": 5})
        assert r.status_code == 403 and "scopes (read)" in r.json()["detail"]
    with bare(served, served.bearer_for("Alex", ["dns"])) as dns_only:
        assert dns_only.post("/api/v1/pause", json={"profile": "mia",
                                                     "minutes": 5}).status_code == 200
        assert dns_only.patch("/api/v1/settings", json={"retention_days": 1}).status_code == 403
        assert dns_only.get("/api/v1/media/banks").status_code == 403


def test_a_token_cannot_add_accounts_or_issue_tokens_without_the_tokens_scope(
        served: Served) -> None:
    served.parent()
    everything_else = ["read", "dns", "household", "reports", "media", "assess", "metrics"]
    with bare(served, served.bearer_for("Alex", everything_else)) as script:
        r = script.post("/api/v1/users", json={"name": "mallory", "password": PASSWORD,
                                                "roles": ["admin"]})
        assert r.status_code == 403
        r = script.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]})
        assert r.status_code == 403
        assert script.put("/api/v1/password", json={"current_password": PASSWORD,
                                                    "new_password": "x" * 12}).status_code == 403
    assert [u.name for u in served.web.users.all()] == ["Alex"]


def test_revoking_a_token_revokes_the_tokens_it_issued(served: Served) -> None:
    served.parent()
    with bare(served, served.bearer_for("Alex", ["tokens", "dns"])) as issuer:
        r = issuer.post("/api/v1/tokens", json={"name": "wider", "scopes": ["household"]})
        assert r.status_code == 403  # no more than it holds
        child = issuer.post("/api/v1/tokens", json={"name": "child", "scopes": ["dns"],
                                                    "expires_in_days": 366})
        assert child.status_code == 201
        grandchild_header = {"Authorization": f"Bearer {child.json()['token']}"}
    issued = {t.name: t for t in served.web.tokens.list()}
    assert issued["child"].expires_at == issued["Alex's script"].expires_at  # no longer
    admin, headers = served.parent()
    root = issued["Alex's script"].id
    r = admin.delete(f"/api/v1/tokens/{root}", headers=headers)
    assert r.status_code == 200 and r.json()["revoked"] == [root, issued["child"].id]
    with bare(served, grandchild_header) as orphan:
        assert orphan.get("/api/v1/profiles").status_code == 401


def test_tokens_expire(serve_config: ServeConfig, upstream: FakeUpstream,
                       tmp_path: Path) -> None:
    write_lists(tmp_path)
    clock = FixedClock(AFTERNOON)
    served = serve_config(config_text(upstream.port), clock)
    served.parent()
    header = served.bearer_for("Alex", ["read"], days=1)
    with bare(served, header) as script:
        assert script.get("/api/v1/profiles").status_code == 200
        clock.advance(timedelta(days=1, seconds=1))
        assert script.get("/api/v1/profiles").status_code == 401
    listed = served.parent()[0].get("/api/v1/tokens").json()
    assert listed[0]["expired"] and listed[0]["expires_at"].startswith("2026-11-26")


def test_a_new_password_ends_other_sessions_and_revokes_tokens(served: Served) -> None:
    laptop, headers = served.parent()
    phone = served.client()
    sign_in(phone, "Alex")
    token = served.bearer_for("Alex", ["read"])
    r = laptop.put("/api/v1/password", json={"current_password": PASSWORD,
                                             "new_password": "a new long password"},
                   headers=headers)
    assert r.status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    with bare(served, token) as script:
        assert script.get("/api/v1/profiles").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 200  # the one that changed it stays


def test_sessions_per_account_are_capped(served: Served) -> None:
    first, _ = served.parent()
    for _ in range(10):
        served.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
        sign_in(served.client(), "Alex")
    assert first.get("/api/v1/me").status_code == 401  # the oldest ended


def test_the_setup_link_makes_one_account_however_many_try_at_once(served: Served) -> None:
    token = served.web.setup_token
    answers: list[int] = []

    def claim(n: int) -> None:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            answers.append(c.post("/api/v1/setup", json={
                "token": token, "name": f"admin{n}", "password": PASSWORD}).status_code)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 403, 403, 403, 403, 403]
    assert len(served.web.users.all()) == 1


def test_the_setup_link_works_only_from_allowed_networks_and_expires(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    clock = FixedClock(AFTERNOON)
    text = config_text(upstream.port).replace(
        "[web]\n", '[web]\nsetup_networks = ["127.0.0.1/32"]\nsetup_minutes = 30\n')
    served = serve_config(text, clock)
    body = {"token": served.web.setup_token, "name": "Alex", "password": PASSWORD}
    with served.client(transport=httpx.HTTPTransport(local_address="127.0.0.8")) as outside:
        r = outside.post("/api/v1/setup", json=body)
        assert r.status_code == 403 and "setup_networks" in r.json()["detail"]
    clock.advance(timedelta(minutes=31))
    with served.client() as inside:
        r = inside.post("/api/v1/setup", json=body)
        assert r.status_code == 403 and "expired" in r.json()["detail"]
    assert served.web.users.all() == []


def test_a_huge_offset_is_a_validation_error_not_a_crash(served: Served) -> None:
    client, _ = served.parent()
    assert client.get("/api/v1/querylog?offset=1e20").status_code == 422
    assert client.get("/api/v1/audit?offset=100000000000000000000").status_code == 422
    assert client.get("/audit?offset=1e20").status_code == 200
