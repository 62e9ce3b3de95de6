"""A small endpoint registry: each API route declares its body/query model, role and summary
once; the registry builds the starlette route (auth, CSRF, validation) and the OpenAPI
document from the same declarations."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kidshield.web.access import User, require_role
from kidshield.web.context import WebContext, web_context
from kidshield.web.csrf import check_api_write

PREFIX = "/api/v1"
Handler = Callable[[Request, WebContext, User | None, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    roles: tuple[str, ...] = ("parent",)
    public: bool = False
    tag: str = "dashboard"


ENDPOINTS: list[Endpoint] = []


def api(method: str, path: str, summary: str, *, body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None, roles: tuple[str, ...] = ("parent",),
        public: bool = False, tag: str = "dashboard") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method, PREFIX + path, summary, handler, body, query, roles,
                                  public, tag))
        return handler

    return register


def _wrap(ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ctx = web_context(request)
        user = None if ep.public else require_role(request, *ep.roles)
        if ep.method != "GET" and user is not None:
            check_api_write(request, ctx.secret)
        data: Any = None
        if ep.body is not None:
            try:
                raw = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise HTTPException(400, "the body must be JSON") from None
            data = ep.body.model_validate(raw)
        elif ep.query is not None:
            data = ep.query.model_validate(dict(request.query_params))
        result = await ep.handler(request, ctx, user, data)
        if isinstance(result, Response):
            return result
        status = 201 if ep.method == "POST" and isinstance(result, dict) and result.get(
            "_created") else 200
        if isinstance(result, dict):
            result.pop("_created", None)
        return JSONResponse(result, status)

    return endpoint


def routes() -> list[Route]:
    grouped: dict[str, list[Endpoint]] = {}
    for ep in ENDPOINTS:
        grouped.setdefault(ep.path, []).append(ep)
    out: list[Route] = []
    for path, eps in grouped.items():
        handlers = {ep.method: _wrap(ep) for ep in eps}

        def make(handlers: dict[str, Callable[[Request], Awaitable[Response]]]) -> Callable[
                [Request], Awaitable[Response]]:
            async def dispatch(request: Request) -> Response:
                return await handlers[request.method if request.method != "HEAD" else "GET"](
                    request)

            return dispatch

        out.append(Route(path, make(handlers), methods=list(handlers)))
    return out


def openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        op: dict[str, Any] = {"summary": ep.summary, "tags": [ep.tag],
                              "operationId": f"{ep.method.lower()}_{ep.handler.__name__}"}
        params = [{"name": part[1:-1], "in": "path", "required": True,
                   "schema": {"type": "string"}}
                  for part in ep.path.split("/") if part.startswith("{")]
        if ep.query is not None:
            for name, field in ep.query.model_fields.items():
                params.append({"name": name, "in": "query", "required": field.is_required(),
                               "description": field.description or "",
                               "schema": ep.query.model_json_schema()["properties"][name]})
        if params:
            op["parameters"] = params
        if ep.body is not None:
            schema = ep.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[ep.body.__name__] = schema
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{ep.body.__name__}"}}}}
        op["responses"] = {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "422": {"description": "Validation error naming the field",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}},
        }
        if not ep.public:
            op["security"] = [{"bearer": []}, {"session": []}]
            op["responses"]["401"] = {"description": "Not signed in"}
            op["responses"]["403"] = {"description": "Missing role or CSRF token"}
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    schemas["Error"] = {"type": "object", "properties": {
        "error": {"type": "string"}, "detail": {"type": "string"},
        "field": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "kidshield API", "version": "1",
                 "description": "Everything the parents' dashboard does. Authenticate with a "
                                "Bearer API token (Settings → API tokens) or a session cookie "
                                "plus the X-CSRF-Token header for writes."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "ks_session"}}},
    }
