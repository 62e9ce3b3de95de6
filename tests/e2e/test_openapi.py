"""The OpenAPI document lists every API route the served app mounts, with its answers, and
every route answers errors in one shape (docs/web.md, Errors)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Route

from tests.e2e.contract import Contract, ContractError
from tests.e2e.harness import Served


def mounted_api_routes(served: Served) -> set[tuple[str, str]]:
    assert served.app.web is not None
    found = set()
    for route in served.app.web.app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            found |= {(route.path, m.lower()) for m in route.methods or () if m != "HEAD"}
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in doc["paths"].items() for method in ops}


def test_the_document_lists_exactly_the_mounted_api_routes(served: Served) -> None:
    doc = served.client().get("/api/v1/openapi.json").json()
    mounted = mounted_api_routes(served)
    assert len(mounted) > 60  # dashboard, reports, cases, media, assess and the document
    assert documented(doc) == mounted
    tags = {op["tags"][0] for ops in doc["paths"].values() for op in ops.values()}
    assert tags == {"dashboard", "notifications", "reports", "cases", "media", "assess", "meta"}


def test_every_operation_documents_its_answer_and_its_errors(served: Served) -> None:
    doc = served.client().get("/api/v1/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            success = [s for s in op["responses"] if s.startswith("2")]
            assert len(success) == 1, where
            assert op["responses"][success[0]].get("content"), f"{where}: no answer schema"
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, where
            if "{" in path:
                assert "404" in op["responses"], where
            if "requestBody" in op:
                assert {"413"} <= set(op["responses"]), where


def test_every_operation_lists_401_and_a_refusable_one_403(served: Served) -> None:
    # every route answers 401 to an Authorization header holding no valid token (public ones
    # too: tests/web/test_bearer_refusals.py), a protected one also to no credentials; 403
    # where a role or token scope can lack the route's permission, or a write can come from
    # another site or without its CSRF token
    doc = served.client().get("/api/v1/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert "401" in op["responses"], where
            refusable = ("security" in op and op["x-permission"] != "account") or \
                method != "get"
            assert ("403" in op["responses"]) == refusable, where
            if "security" not in op and "401" in op["responses"]:
                assert "Authorization" in op["responses"]["401"]["description"] or \
                    path in ("/api/v1/login", "/api/v1/reports"), where


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/setup"), ("post", "/api/v1/clients"), ("post", "/api/v1/grants"),
    ("post", "/api/v1/users"), ("post", "/api/v1/tokens"), ("post", "/api/v1/reports"),
    ("post", "/api/v1/reports/{code}/appeal"), ("post", "/api/v1/cases/{case_id}/notes"),
    ("post", "/api/v1/cases/{case_id}/decision"), ("post", "/api/v1/cases/{case_id}/appeal"),
    ("post", "/api/v1/cases/{case_id}/escalate"), ("post", "/api/v1/media/banks"),
])
def test_what_creates_answers_201(served: Served, method: str, path: str) -> None:
    op = served.contract.document["paths"][path][method]
    assert [s for s in op["responses"] if s.startswith("2")] == ["201"]


def test_every_family_of_routes_answers_errors_in_one_shape(
    served: Served, client: httpx.Client, parent: tuple[httpx.Client, dict[str, str]],
) -> None:
    signed_in, headers = parent
    answers = {
        "dashboard": signed_in.get("/api/v1/profiles/zoe"),
        "dashboard validation": signed_in.post("/api/v1/pause", json={"profile": "mia"},
                                               headers=headers),
        "dashboard csrf": signed_in.post("/api/v1/pause", json={"profile": "mia",
                                                                "minutes": 5}),
        "reports": client.get("/api/v1/reports/KS-AAAA-AAAA"),
        "reports upload": client.post("/api/v1/reports", content=b"\xff\xd8",
                                      headers={"content-type": "image/jpeg"}),
        "cases": client.get("/api/v1/cases"),
        "media": signed_in.post("/api/v1/media/lookup", json={"hash": "nope"},
                                headers=headers),
        "assess": signed_in.post("/api/v1/assess/message", content=b"{oops",
                                 headers={**headers, "content-type": "application/json"}),
        "not json": signed_in.post("/api/v1/pause", content=b"{oops",
                                   headers={**headers, "content-type": "application/json"}),
        "not typed json": signed_in.post("/api/v1/pause", content=b'{"profile": "mia"}',
                                         headers={**headers, "content-type": "text/plain"}),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"dashboard": 404, "dashboard validation": 422, "dashboard csrf": 403,
                        "reports": 404, "reports upload": 415, "cases": 401, "media": 422,
                        "assess": 400, "not json": 400, "not typed json": 415}
    for name, r in answers.items():
        body = r.json()
        assert set(body) <= {"error", "detail", "field", "fields"}, name
        assert body["error"] and body["detail"], name
    assert answers["dashboard validation"].json()["field"] == "minutes"
    assert answers["reports"].json()["field"] == "code"
    assert answers["media"].json()["field"] == "hash"


def test_a_failure_inside_a_route_is_a_500_in_the_same_shape(
    served: Served, parent: tuple[httpx.Client, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    signed_in, _ = parent

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(served.web.state, "requests", broken)
    with httpx.Client(base_url=served.url, cookies=signed_in.cookies) as plain:
        r = plain.get("/api/v1/requests")
    assert r.status_code == 500
    assert r.json() == {"error": "internal",
                        "detail": "something went wrong on the server; its log says what"}
    assert "the disk is on fire" not in r.text  # details go to the log, not the caller
    assert "disk is on fire" in caplog.text


def test_the_contract_check_catches_an_answer_the_document_does_not_describe(
    served: Served,
) -> None:
    contract = Contract(served.contract.document)
    request = httpx.Request("GET", f"{served.url}/api/v1/settings")
    good = {"retention_days": 7, "anonymize_clients": True, "only_blocked": False,
            "block_mode": "block_page", "country": "GB",
            "notifications": {"kind": "none", "url": ""}}
    contract.check(httpx.Response(200, json=good, request=request))
    with pytest.raises(ContractError, match="retention_days"):
        contract.check(httpx.Response(200, json={**good, "retention_days": "a week"},
                                      request=request))
    with pytest.raises(ContractError, match="does not list"):
        contract.check(httpx.Response(418, json=good, request=request))
    # a route's 401 is its own to list (once exempt, so the document could leave it out)
    bare = Contract({**served.contract.document, "paths": {"/api/v1/settings": {"get": {
        **served.contract.document["paths"]["/api/v1/settings"]["get"], "responses": {
            k: v for k, v in served.contract.document["paths"]["/api/v1/settings"]["get"]
            ["responses"].items() if k != "401"}}}}})
    with pytest.raises(ContractError, match="does not list"):
        bare.check(httpx.Response(401, json={"error": "unauthorized", "detail": "sign in"},
                                  request=request))
    with pytest.raises(ContractError, match="not in the OpenAPI document"):
        contract.check(httpx.Response(200, json={}, request=httpx.Request(
            "GET", f"{served.url}/api/v1/nothing-here")))
