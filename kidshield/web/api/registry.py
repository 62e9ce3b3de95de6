"""Every ``/api/v1`` route is declared once, here or in a feature, with an ``Api`` group: its
method and path, who may call it, its body or query model, its answer (model, status, media
type) and the errors it may answer with. The group builds the starlette routes (sign-in, role,
CSRF, body reading and validation) and the OpenAPI document from the same declarations, so
the document lists every route the server mounts, exactly as it behaves.

Each route needs one ``Permission`` (``web/access.py``; the group's unless the route names
its own); the routes are ``Secured`` (``web/routing.py``), so the permission, the CSRF checks
and the body limit are enforced before the handler runs, and the OpenAPI document says which
roles and token scopes hold the permission.

A handler is ``async def handler(request, deps, user, data)``: ``deps`` is what the group was
bound to (the dashboard's ``WebContext``, a feature's site), ``user`` the signed-in account
(None on public routes), ``data`` the validated body or query model. It returns a model, a
dict or list (JSON with the declared status) or a ``Response`` of its own.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kidshield.errors import Malformed, TooLarge
from kidshield.web.access import SCOPES, Permission, User, current_user, roles_with
from kidshield.web.routing import JSON, Rule, Secured

PREFIX = "/api/v1"
MAX_BODY = 1 << 20
D = TypeVar("D")
Handler = Callable[[Request, D, User | None, Any], Awaitable[Any]]
# A body reader: the request's JSON value, after checks of the endpoint's own (e.g. "no
# uploads"); it raises a KidshieldError for a body it refuses.
Reader = Callable[[Request, int], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler[Any]
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a model, list[model], dict[str, model], or a JSON schema (dict)
    status: int = 200
    media_type: str = "application/json"
    also: tuple[str, ...] = ()  # other media types of the answer (a ?format= choice)
    raw_body: tuple[str, ...] = ()  # content types of a non-JSON body the handler reads
    allow: Permission = Permission.HOUSEHOLD_READ
    errors: tuple[int, ...] = ()  # other statuses it answers with (404, 409, 413, 415, 429...)
    reader: Reader | None = None
    max_body: int = MAX_BODY
    wrong_body: str = ""  # what to say to a body of another type (default: the types taken)
    description: str = ""

    @property
    def operation_id(self) -> str:
        return f"{self.method.lower()}_{self.handler.__name__}"

    @property
    def public(self) -> bool:
        return self.allow is Permission.PUBLIC

    @property
    def rule(self) -> Rule:
        bodies = (JSON,) if self.body is not None else tuple(self.raw_body)
        return Rule(self.allow, bodies=bodies, max_body=self.max_body,
                    wrong_body=self.wrong_body)


class Api(Generic[D]):
    """The API routes of one part of the server (a tag of the OpenAPI document). ``allow``
    is what its routes need unless a route names its own permission."""

    def __init__(self, tag: str, description: str = "",
                 allow: Permission = Permission.HOUSEHOLD_READ) -> None:
        self.tag = tag
        self.description = description
        self.allow = allow
        self.endpoints: list[Endpoint] = []

    def __call__(self, method: str, path: str, summary: str, *,
                 allow: Permission | None = None, **options: Any,
                 ) -> Callable[[Handler[D]], Handler[D]]:
        def register(handler: Handler[D]) -> Handler[D]:
            self.endpoints.append(Endpoint(method, PREFIX + path, summary, handler, self.tag,
                                           allow=self.allow if allow is None else allow,
                                           **options))
            return handler

        return register

    def routes(self, deps: D) -> list[Secured]:
        """One ``Secured`` route per method (each with its own rule). A literal path comes
        before one with a parameter in its place: /cases/transparency must not be taken for
        the case "transparency"."""
        ordered = sorted(self.endpoints, key=lambda ep: ep.path.count("{"))
        return [Secured(ep.path, _endpoint(ep, deps), rule=ep.rule, methods=[ep.method])
                for ep in ordered]


# the largest id a row can have (SQLite's INTEGER, PostgreSQL's bigint): a longer number in a
# path names nothing, and must not reach the database, which cannot bind it
MAX_ROW_ID = 2**63 - 1


def row_id(text: str) -> int | None:
    """The row id a path parameter names, or None when it names none."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ROW_ID:
        return None
    return int(text)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused over ``limit`` bytes (read in chunks: a long body is not kept)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes", field="body")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes", field="body")
    return bytes(data)


async def read_json(request: Request, limit: int) -> Any:
    raw = await read_body(request, limit)
    try:
        return json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Malformed("the body must be JSON", field="body") from None
    except RecursionError:  # a small body of "[[[[..." nests past the parser's stack
        raise Malformed("the body's JSON is nested too deeply", field="body") from None


def _endpoint(ep: Endpoint, deps: Any) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = current_user(request)  # the route's rule has checked it (routing.Secured)
        data: Any = None
        if ep.body is not None:
            raw = await (ep.reader or read_json)(request, ep.max_body)
            data = ep.body.model_validate(raw)
        elif ep.query is not None:
            data = ep.query.model_validate(dict(request.query_params))
        result = await ep.handler(request, deps, user, data)
        if isinstance(result, Response):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return JSONResponse(result, ep.status)

    endpoint.__name__ = ep.handler.__name__
    return endpoint


# -- the OpenAPI document ---------------------------------------------------------------------
ERROR_SCHEMA = {
    "type": "object", "required": ["error", "detail"], "additionalProperties": False,
    "description": "Every error of every route (docs/web.md, Errors).",
    "properties": {
        "error": {"type": "string", "description": "a fixed word per status, e.g. not_found"},
        "detail": {"type": "string", "description": "what was wrong, for a person"},
        "field": {"type": "string", "description": "the input it is about"},
        "fields": {"type": "array", "description": "every problem of an invalid body",
                   "items": {"type": "object", "required": ["field", "message"],
                             "properties": {"field": {"type": "string"},
                                            "message": {"type": "string"}}}},
    },
}
ERROR_TEXT = {400: "Not JSON, or refused as it is",
              401: "Not signed in, wrong credentials, or the token sent is not valid "
                   "(WWW-Authenticate: Bearer)",
              403: "Not allowed (role, token scope), from another site, or without the CSRF "
                   "token",
              408: "The body did not arrive in time", 404: "No such thing",
              409: "Not possible in the thing's current state", 413: "The body is too large",
              415: "That kind of content is not accepted", 422: "Invalid input, naming the field",
              429: "Too many requests: wait (Retry-After)",
              503: "The database cannot be written just now (a full disk, a lock held by "
                   "another program): try again (Retry-After)"}
PUBLIC_401 = ("An Authorization header was sent that holds no valid token (this route needs "
              "none; WWW-Authenticate: Bearer)")


class _Schemas:
    """Component schemas, collected as the operations name their models."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        name = model.__name__
        if self.components.get(name, schema) != schema:
            # two features answer with different models of one name (reports' and the
            # dashboard's Created): the second is named by its package as well
            name = f"{model.__module__.split('.')[1]}.{name}"
        self.components.setdefault(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def of(self, kind: Any) -> dict[str, Any]:
        if isinstance(kind, dict):
            schema = dict(kind)
            for name, sub in schema.pop("$defs", {}).items():
                self.components.setdefault(name, sub)
            return schema
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return self.model(kind)
        origin, args = get_origin(kind), get_args(kind)
        if origin is list and args:
            return {"type": "array", "items": self.of(args[0])}
        if origin is dict and len(args) == 2:
            return {"type": "object", "additionalProperties": self.of(args[1])}
        schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        return dict(schema)


def _operation(ep: Endpoint, schemas: _Schemas, access_open: bool) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.summary, "tags": [ep.tag],
                          "operationId": ep.operation_id}
    if ep.description:
        op["description"] = ep.description
    params: list[dict[str, Any]] = [
        {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for part in ep.path.split("/") if part.startswith("{")]
    if ep.query is not None:
        props = ep.query.model_json_schema()["properties"]
        for name, info in ep.query.model_fields.items():
            key = info.alias or name
            params.append({"name": key, "in": "query", "required": info.is_required(),
                           "description": info.description or "", "schema": props[key]})
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": schemas.model(ep.body)}}}
    elif ep.raw_body:
        op["requestBody"] = {"required": True, "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in ep.raw_body}}
    answer: dict[str, Any] = {"description": "OK" if ep.status == 200 else "Created"}
    if ep.response is not None:
        schema = (schemas.of(ep.response) if ep.media_type == "application/json"
                  else {"type": "string"})
        answer["content"] = {ep.media_type: {"schema": schema},
                             **{kind: {"schema": {"type": "string"}} for kind in ep.also}}
    responses: dict[str, Any] = {str(ep.status): answer}
    statuses = set(ep.errors) | {400}  # any route: a NUL character in the query (routing.py)
    if ep.body is not None or ep.query is not None:
        statuses.add(422)
    if ep.body is not None or ep.raw_body:
        statuses |= {400, 413}
    if "{" in ep.path:
        statuses.add(404)
    if not access_open:
        # an Authorization header that holds no valid token is refused before routing, on
        # public routes too (RFC 6750: 401 with WWW-Authenticate: Bearer)
        statuses.add(401)
    if not ep.public and not access_open:
        op["security"] = [{"bearer": []}, {"session": []}]
        if ep.allow is not Permission.ACCOUNT:  # every account and token holds ACCOUNT
            statuses.add(403)  # a role or token scope without the route's permission
    if ep.method != "GET" and not access_open:
        statuses.add(403)  # a write from another site, or without its CSRF token
    if ep.body is not None or ep.raw_body:
        statuses |= {408, 415}
    statuses.add(503)  # any route writes (a session, a token's last use, the audit log)
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status in sorted(statuses):
        text = (PUBLIC_401 if status == 401 and ep.public and 401 not in ep.errors
                else ERROR_TEXT.get(status, "Error"))
        responses[str(status)] = {"description": text, "content": error_ref}
    op["responses"] = responses
    if not ep.public:
        op["x-permission"] = ep.allow.value
        op["x-roles"] = roles_with(ep.allow)
        op["x-scopes"] = sorted(s for s, held in SCOPES.items() if ep.allow in held)
    return op


def openapi(groups: Sequence[Api[Any]], *, access_open: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``groups`` (``access_open``: served without accounts)."""
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for group in groups:
        for ep in group.endpoints:
            paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, schemas,
                                                                          access_open)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "kidshield API", "version": "1",
                 "description": "Everything the parents' dashboard, the report intake, the case "
                                "queue and the message and media checks do. Authenticate with "
                                "a Bearer API token (Settings → API tokens) or a session "
                                "cookie plus the X-CSRF-Token header for writes. Every error "
                                "has the Error shape."},
        "tags": [{"name": g.tag, "description": g.description} for g in groups],
        "paths": paths,
        "components": {"schemas": schemas.components},
    }
    if not access_open:
        doc["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "ks_session"}}
    return doc


def document_routes(groups: Sequence[Api[Any]], *, access_open: bool = False) -> list[Secured]:
    """The route of the OpenAPI document of ``groups`` (and of itself); ``access_open``:
    served without accounts (the standalone apps)."""
    meta: Api[None] = Api("meta", "This description of the API.")
    everything = [*groups, meta]

    @meta("GET", "/openapi.json", "This OpenAPI document: every route under /api/v1",
          allow=Permission.PUBLIC, response={"type": "object"})
    async def openapi_document(_request: Request, _deps: None, _user: User | None,
                               _body: None) -> Any:
        return openapi(everything, access_open=access_open)

    return meta.routes(None)
