"""Every API answer the tests see is checked against the server's own OpenAPI document: the
route and status must be documented, and a JSON body must match the documented schema (the
Error shape for errors). The harness's HTTP clients do this on every response, so the whole
suite keeps the document true."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:kidshield:openapi"
# answered by the router or the sign-in middleware for any route, not by the route itself;
# a route the document lists must list its 401 (every one answers it to a bad token)
FRAMEWORK_STATUSES = {"401", "405"}
UNLISTED_ON_A_ROUTE = {"405"}


class ContractError(AssertionError):
    pass


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(
            DOC_URI, Resource(contents=document, specification=DRAFT202012))
        # literal paths before ones with a parameter in the same place
        self.templates = sorted(document["paths"], key=lambda p: p.count("{"))

    @cache  # noqa: B019 - one contract per served app, kept for its lifetime
    def _pattern(self, template: str) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")

    def template_of(self, path: str) -> str | None:
        return next((t for t in self.templates if self._pattern(t).match(path)), None)

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if not path.startswith("/api/v1/"):
            return
        status = str(response.status_code)
        template = self.template_of(path)
        operation = (self.document["paths"].get(template, {}).get(request.method.lower())
                     if template else None)
        if operation is None:
            if status in FRAMEWORK_STATUSES:
                return
            raise ContractError(f"{request.method} {path} answered {status} but is not in the "
                                "OpenAPI document")
        answer = operation["responses"].get(status)
        documented = answer is not None
        if answer is None:
            if status in UNLISTED_ON_A_ROUTE:
                answer = {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
            else:
                raise ContractError(f"{request.method} {template} answered {status}, which the "
                                    f"document does not list ({sorted(operation['responses'])})")
        media = response.headers.get("content-type", "").split(";")[0].strip()
        content = answer.get("content", {})
        if media != "application/json":
            if content and media not in content and not any(
                    kind.endswith("/*") for kind in content):
                raise ContractError(f"{request.method} {template} {status}: {media} is not "
                                    f"the documented {sorted(content)}")
            return
        if "application/json" not in content:
            raise ContractError(f"{request.method} {template} {status} answered JSON, which "
                                "the document does not describe")
        pointer = "/".join(["#/paths", _escape(template), request.method.lower(), "responses",
                            status, "content", "application~1json", "schema"]) if documented \
            else "#/components/schemas/Error"  # a framework status the route does not list
        schema = {"$ref": DOC_URI + pointer}
        validator = Draft202012Validator(schema, registry=self.registry)
        response.read()
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(body)"
            raise ContractError(f"{request.method} {template} {status}: the body does not "
                                f"match the document at {where}: {first.message}")


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")
