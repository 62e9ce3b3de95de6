"""How every HTTP route reports an error: one exception -> status map and one JSON shape
(docs/web.md, "Errors"), and the marker for translatable messages.

    {"error": "not_found", "detail": "no profile named 'zoe'", "field": "pid",
     "fields": [{"field": "...", "message": "..."}]}

``error`` is a fixed word per status (what a script checks), ``detail`` says what was wrong in
words a parent can act on, ``field`` names the input it is about when there is one, ``fields``
lists every problem of a body that failed validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kidshield.bearer import bearer_challenge
from kidshield.errors import (
    Conflict,
    InputError,
    KidshieldError,
    Malformed,
    NotFound,
    Refused,
    RequestTimeout,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMedia,
)

__all__ = ["N_", "NotFound", "Refused", "error_response", "status_of"]

# The one map, most specific first.
STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (TooManyRequests, 429),
    (Unauthorized, 401),
    (Refused, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RequestTimeout, 408),
    (TooLarge, 413),
    (UnsupportedMedia, 415),
    (InputError, 422),
    (ValidationError, 422),
    (Malformed, 400),
    (KidshieldError, 400),
)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "too_large",
         415: "unsupported_media_type", 422: "validation", 429: "too_many_requests",
         500: "internal", 503: "unavailable"}


def N_(text: str) -> str:
    """Marks a message children may read for the translation catalogs."""
    return text


# What the database says when it cannot take a write for now (SQLite; PostgreSQL): a full
# disk, a lock held past the busy timeout, a read-only file or server. Not a bug of
# kidshield's: 503 with the reason and a retry, not 500 with a traceback per request.
UNAVAILABLE = ("disk is full", "database is locked", "readonly database",
               "unable to open database file", "No space left on device",
               "read-only transaction")
RETRY_SECONDS = 30


def database_unavailable(exc: BaseException) -> str | None:
    """The database's reason when ``exc`` is one of those, else None."""
    if isinstance(exc, OperationalError):
        text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if any(words in text for words in UNAVAILABLE):
            return text
    return None


def unavailable_detail(reason: str) -> str:
    return f"the database cannot be written just now ({reason}); try again later"


def status_of(exc: BaseException) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if database_unavailable(exc) is not None:
        return 503
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 500)


def _field_of(exc: BaseException, text: str) -> str | None:
    field = getattr(exc, "field", None)
    if field:
        return str(field)
    # messages of the form "minutes: from 0 to 1440" name their field first
    head, sep, _rest = text.partition(":")
    return head if sep and head and " " not in head else None


def validation_fields(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body",
             "message": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()]


def error_body(status: int, detail: str, field: str | None = None,
               fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": CODES.get(status, "error"), "detail": detail}
    if field:
        body["field"] = field
    if fields:
        body["fields"] = fields
    return body


def error_response(exc: BaseException) -> JSONResponse:
    """The JSON answer for ``exc``, in the one shape."""
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        fields = validation_fields(exc)
        first = fields[0] if fields else {"field": "body", "message": "invalid"}
        body = error_body(422, f"{first['field']}: {first['message']}", first["field"], fields)
    elif isinstance(exc, HTTPException):
        body = error_body(status, str(exc.detail))
        headers.update(exc.headers or {})
    elif status == 500:
        body = error_body(500, "something went wrong on the server; its log says what")
    elif (reason := database_unavailable(exc)) is not None:
        body = error_body(503, unavailable_detail(reason))
        headers["Retry-After"] = str(RETRY_SECONDS)
    else:
        text = str(exc)
        body = error_body(status, text, _field_of(exc, text))
    if isinstance(exc, TooManyRequests) and exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after) + 1)
    if status == 401:
        # RFC 9110 section 15.5.2: a 401 names the scheme to authenticate with. No error code:
        # no token was sent (a refused one is answered by web/auth.py)
        headers.setdefault("WWW-Authenticate", bearer_challenge())
    return JSONResponse(body, status, headers=headers)


async def json_error_handler(_request: Request, exc: Exception) -> Response:
    return error_response(exc)


# For apps that answer only JSON (the standalone message API).
JSON_ERROR_HANDLERS: Any = {
    HTTPException: json_error_handler,
    KidshieldError: json_error_handler,
    ValidationError: json_error_handler,
    Exception: json_error_handler,
}
