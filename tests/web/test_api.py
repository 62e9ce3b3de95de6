"""The REST API: every dashboard action, validation errors naming the field, OpenAPI."""

from __future__ import annotations

import time

import httpx

from kidshield.storage.schema import query_log
from tests.e2e.harness import Served

P = tuple[httpx.Client, dict[str, str]]


def test_openapi_document_lists_every_endpoint(client: httpx.Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/v1/profiles/{pid}/bedtime", "/api/v1/requests/{rid}/decision",
                 "/api/v1/pause", "/api/v1/querylog", "/api/v1/lists/update",
                 "/api/v1/settings", "/api/v1/audit", "/api/v1/tokens", "/api/v1/clients"):
        assert path in paths, path
    body = paths["/api/v1/profiles/{pid}/bedtime"]["put"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/BedtimeIn")
    assert "BedtimeIn" in doc["components"]["schemas"]


def test_validation_errors_name_the_field(parent: P) -> None:
    client, headers = parent
    r = client.put("/api/v1/profiles/mia/bedtime", json={"bedtime": "25:99",
                                                         "wake_up": "07:00"},
                   headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == "bedtime"
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": -3}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "minutes"
    r = client.post("/api/v1/pause", json={"profile": "mia"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "minutes"
    r = client.patch("/api/v1/settings", json={"retention_days": "lots"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "retention_days"
    r = client.patch("/api/v1/profiles/mia", json={"allow": ["not a domain!"]}, headers=headers)
    assert r.status_code == 422 and r.json()["field"].startswith("allow")
    r = client.post("/api/v1/pause", content=b"{oops",
                    headers={**headers, "content-type": "application/json"})
    assert r.status_code == 400


def test_unknown_profile_is_404(parent: P) -> None:
    client, headers = parent
    r = client.put("/api/v1/profiles/nobody/bedtime", json={"bedtime": "20:00",
                                                            "wake_up": "07:00"},
                   headers=headers)
    assert r.status_code == 404 and "nobody" in r.json()["detail"]


def test_bedtime_edit_changes_the_policy_and_is_kept_over_the_file(served: Served,
                                                                   parent: P) -> None:
    client, headers = parent
    before = served.config_path.read_text()
    r = client.put("/api/v1/profiles/mia/bedtime",
                   json={"bedtime": "20:30", "wake_up": "07:15", "days": "school-nights"},
                   headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["bedtime"]["from"] == "20:30" and r.json()["bedtime"]["to"] == "07:15"
    assert sorted(e["setting"] for e in r.json()["edits"]) == [
        "profiles.mia.bedtime", "profiles.mia.bedtime_days", "profiles.mia.wake_up"]
    assert served.config_path.read_text() == before  # the file is the person's
    # ... and can be regenerated with the change written in, comments kept
    export = client.get("/api/v1/config/export")
    assert export.status_code == 200
    assert 'bedtime = "20:30"' in export.text and "# Mia is 10" in export.text
    week = client.get("/api/v1/profiles/mia").json()["week"]
    assert week[6][21] == "bedtime"  # Sunday 21:00 is a school night
    assert week[4][21] == ""  # Friday is not


def test_profile_patch_and_check(parent: P) -> None:
    client, headers = parent
    r = client.patch("/api/v1/profiles/kai", json={"deny": ["example.net"],
                                                   "safe_search": "moderate"},
                     headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["deny"] == ["example.net"] and r.json()["safe_search"] == "moderate"
    d = client.get("/api/v1/check?profile=kai&name=www.example.net").json()
    assert d["action"] == "block" and d["reason"] == "deny_list"


def test_settings_edit(served: Served, parent: P) -> None:
    client, headers = parent
    r = client.patch("/api/v1/settings", json={"retention_days": 3, "only_blocked": True},
                     headers=headers)
    assert r.status_code == 200
    assert r.json()["retention_days"] == 3 and r.json()["only_blocked"] is True
    ctx = served.web
    assert ctx.config.logging.retention_days == 3


def test_clients_add_and_remove(served: Served, parent: P) -> None:
    client, headers = parent
    r = client.post("/api/v1/clients", json={"name": "Kai's phone", "profile": "kai",
                                             "addresses": ["192.168.1.50"]}, headers=headers)
    assert r.status_code == 201
    ctx = served.web
    assert ctx.runtime.profile_for_client("192.168.1.50").id == "kai"
    r = client.delete("/api/v1/clients/1", headers=headers)
    assert [c["name"] for c in r.json()["clients"]] == ["Mia's tablet"]
    r = client.post("/api/v1/clients", json={"name": "x", "profile": "kai",
                                             "addresses": ["nope"]}, headers=headers)
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    for method, path, field in (("DELETE", "/api/v1/clients/first", "index"),
                                ("POST", "/api/v1/clients/x/secret", "index"),
                                ("DELETE", "/api/v1/edits/last", "eid"),
                                ("DELETE", "/api/v1/grants/g1", "gid")):
        r = client.request(method, path, headers=headers)
        assert (r.status_code, r.json()["field"]) == (404, field), (path, r.text)
    clients = client.get("/api/v1/clients", headers=headers).json()
    assert [c["name"] for c in clients] == ["Mia's tablet"]


def test_a_bedtime_without_a_wake_up_time_is_refused_naming_it(parent: P) -> None:
    client, headers = parent
    r = client.put("/api/v1/profiles/mia/bedtime", json={"bedtime": "20:00"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "wake_up", r.text


def _log(served: Served, rows: list[tuple[str, str, str, str | None]]) -> None:
    ctx = served.web
    now = ctx.now().timestamp()
    with ctx.db.engine.begin() as conn:
        for i, (profile, name, action, category) in enumerate(rows):
            conn.execute(query_log.insert().values(
                ts=now - 60 * i, client=None, profile=profile, name=name, qtype="A",
                action=action, reason="category" if action == "block" else "allowed",
                category=category, latency_ms=1.0, rcode=0, count=1))


def test_query_log_search_and_overview(served: Served, parent: P) -> None:
    client, _ = parent
    _log(served, [("mia", "casino.example", "block", "gambling"),
                  ("mia", "example.org", "allow", None),
                  ("leo", "bet.example", "block", "gambling")])
    rows = client.get("/api/v1/querylog?q=example&action=block").json()["rows"]
    assert {r["name"] for r in rows} == {"casino.example", "bet.example"}
    rows = client.get("/api/v1/querylog?profile=leo").json()["rows"]
    assert [r["name"] for r in rows] == ["bet.example"]
    assert client.get("/api/v1/querylog?limit=0").status_code == 422
    o = client.get("/api/v1/overview").json()
    assert o["totals"]["mia"] == {"queries": 2, "blocks": 1}
    assert o["by_category"] == {"gambling": 2}


def test_lists_show_errors_with_line_numbers_and_update(parent: P) -> None:
    client, headers = parent
    lists = {entry["name"]: entry for entry in client.get("/api/v1/lists").json()}
    assert lists["bad"]["rules"] == 2
    assert any(":3:" in e for e in lists["bad"]["error_lines"])
    r = client.post("/api/v1/lists/update", json={}, headers=headers)
    assert r.status_code == 200
    assert {x["status"] for x in r.json()["results"]} == {"local"}


def test_pause_all_and_resume(served: Served, parent: P) -> None:
    client, headers = parent
    r = client.post("/api/v1/pause", json={"profile": "all", "minutes": 10}, headers=headers)
    assert r.json()["paused_until"]
    ctx = served.web
    assert {p for p in ctx.runtime.profiles if ctx.state.paused_until(p)} == {
        "mia", "leo", "kai", "sam"}
    d = client.get("/api/v1/check?profile=mia&name=casino.example").json()
    assert d["reason"] == "paused"
    client.post("/api/v1/pause", json={"profile": "all", "minutes": 0}, headers=headers)
    assert not any(ctx.state.paused_until(p) for p in ctx.runtime.profiles)


def test_audit_log_records_who_what_when(parent: P) -> None:
    client, headers = parent
    client.post("/api/v1/pause", json={"profile": "mia", "minutes": 5}, headers=headers)
    time.sleep(0)
    entries = client.get("/api/v1/audit").json()
    assert entries[0]["action"] == "pause" and entries[0]["actor"] == "Alex"
    assert entries[0]["target"] == "mia" and entries[0]["at"]
    assert {"account.setup", "login"} <= {e["action"] for e in entries}
