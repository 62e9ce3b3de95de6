"""REST routes for hash lookup, image matching and bank management (starlette).

Image uploads are read into memory, hashed and dropped: either the raw request body
(``image/*`` or ``application/octet-stream``) or the ``image`` field of a multipart form, which
is parsed here in memory with python-multipart's streaming parser. ``request.form()`` is never
used: starlette spools multipart parts over 1 MiB to a temporary file, and image bytes must
never reach the disk. Nothing here logs request bodies.

``routes(site)`` gives the routes with their ``MediaSite`` (the ``BankService`` and upload
limits) bound in; the web app mounts them behind its authentication, ``create_app()`` serves
them standalone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kidshield.errors import KidshieldError
from kidshield.safety.media.banks import BankError, BankService
from kidshield.safety.media.formats import parse_format
from kidshield.safety.media.hashing import ImageHashError
from kidshield.safety.media.signal import PdqSignal
from kidshield.web.access import require_role
from kidshield.web.feature import bind

DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024
CALLER_HEADER = "x-kidshield-caller"


@dataclass
class MediaSite:
    """What the media routes work with."""

    banks: BankService
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_side: int | None = None  # shrink uploads to this before hashing (faster)
    signed_in: bool = True  # False: the standalone app, which has no accounts


Handler = Callable[[Request, MediaSite], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _error(status: int, field: str | None, message: str) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _guarded(handler: Handler) -> Handler:
    """Turn expected errors into JSON 4xx bodies; never echo request bodies."""

    async def wrapped(request: Request, site: MediaSite) -> Response:
        if site.signed_in:
            require_role(request)
        try:
            return await handler(request, site)
        except _BadRequest as exc:
            return _error(exc.status, exc.field, exc.message)
        except ImageHashError as exc:
            return _error(422, "body", str(exc))
        except BankError as exc:
            status = 404 if "there is no bank" in str(exc) else 400
            return _error(status, "name" if status == 404 else None, str(exc))
        except KidshieldError as exc:
            return _error(400, None, str(exc))

    return wrapped


def _caller(request: Request) -> str:
    user = request.scope.get("user")
    name = getattr(user, "display_name", None) if user is not None else None
    if isinstance(name, str) and name:
        return name[:128]
    return request.headers.get(CALLER_HEADER, "api")[:128]


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise _BadRequest(400, None, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise _BadRequest(400, None, "the body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise _BadRequest(400, name, f"'{name}' is required")
        return None
    value = data[name]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise _BadRequest(400, name, f"'{name}' must be a {kind.__name__}")
    return value


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw request body, in memory only, refusing anything over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(413, "body", f"the upload is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BadRequest(413, "body", f"the upload is larger than {limit} bytes")
    return bytes(body)


def _multipart_image(body: bytes, content_type: str) -> bytes:
    """The image part of a multipart form, parsed in memory.

    Deliberately not ``request.form()``: starlette spools parts over 1 MiB to a temporary file.
    The part named ``image`` (or ``file``) wins, else the first part with a file name.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _BadRequest(400, "body", "the multipart Content-Type has no boundary")
    parts: list[tuple[dict[str, str], bytearray]] = []
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        name = header["field"].decode("latin-1").strip().lower()
        parts[-1][0][name] = header["value"].decode("latin-1")
        header["field"], header["value"] = bytearray(), bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks: dict[str, Callable[..., None]] = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise _BadRequest(400, "body", f"the multipart form is malformed ({exc})") from None
    chosen: bytearray | None = None
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("latin-1")
        if name in ("image", "file"):
            chosen = data
            break
        if chosen is None and b"filename" in disposition:
            chosen = data
    if chosen is None:
        raise _BadRequest(400, "image", "the form has no 'image' file field")
    return bytes(chosen)


async def _read_image_body(request: Request, limit: int) -> bytes:
    """The image bytes from a raw body or a multipart form, kept in memory only."""
    full_type = request.headers.get("content-type", "")
    ctype = full_type.split(";", 1)[0].strip().lower()
    multipart = ctype == "multipart/form-data"
    if not (
        not ctype or multipart or ctype.startswith("image/") or ctype == "application/octet-stream"
    ):
        raise _BadRequest(
            415,
            "body",
            f"unsupported content type {ctype!r}: send the image as the raw body (image/* or "
            "application/octet-stream) or as the 'image' field of a multipart/form-data form",
        )
    body = await _read_body(request, limit + (64 * 1024 if multipart else 0))
    data = _multipart_image(body, full_type) if multipart else body
    if not data:
        raise _BadRequest(400, "body", "the upload is empty: send the bytes of an image")
    return data


@_guarded
async def lookup(request: Request, site: MediaSite) -> Response:
    data = await _json_object(request)
    hash_hex = _field(data, "hash", str, required=True)
    quality = _field(data, "quality", int)
    try:
        PdqSignal.validate(hash_hex)
    except KidshieldError as exc:
        raise _BadRequest(400, "hash", str(exc)) from None
    service = site.banks
    result = await run_in_threadpool(
        service.lookup, hash_hex, quality=quality, caller=_caller(request)
    )
    return JSONResponse(result.to_dict())


@_guarded
async def match(request: Request, site: MediaSite) -> Response:
    dihedral = request.query_params.get("dihedral", "").lower() in ("1", "true", "yes")
    data = await _read_image_body(request, site.max_upload_bytes)
    service = site.banks
    caller = _caller(request)
    max_side = site.max_side
    result = await run_in_threadpool(
        lambda: service.match_image(data, dihedral=dihedral, caller=caller, max_side=max_side)
    )
    return JSONResponse(result.to_dict())


@_guarded
async def list_banks(request: Request, site: MediaSite) -> Response:
    banks = await run_in_threadpool(site.banks.banks)
    return JSONResponse({"banks": [b.to_dict() for b in banks]})


@_guarded
async def create_bank(request: Request, site: MediaSite) -> Response:
    data = await _json_object(request)
    name = _field(data, "name", str, required=True)
    kind = _field(data, "kind", str) or "match"
    threshold = _field(data, "threshold", int)
    description = _field(data, "description", str) or ""
    service = site.banks
    kwargs: dict[str, Any] = {"kind": kind, "description": description}
    if threshold is not None:
        kwargs["threshold"] = threshold
    try:
        await run_in_threadpool(service.create_bank, name, created_by=_caller(request), **kwargs)
    except BankError as exc:
        text = str(exc)
        field = next(
            (
                f
                for f in ("name", "kind", "threshold")
                if text.startswith(f"bank {f}") or text.startswith(f"{f} ")
            ),
            "name",
        )
        status = 409 if "already exists" in text else 400
        raise _BadRequest(status, field, text) from None
    summary = next(b for b in await run_in_threadpool(service.banks) if b.bank.name == name)
    return JSONResponse(summary.to_dict(), status_code=201)


@_guarded
async def update_bank(request: Request, site: MediaSite) -> Response:
    name = request.path_params["name"]
    data = await _json_object(request)
    enabled = _field(data, "enabled", bool, required=True)
    service = site.banks
    await run_in_threadpool(service.set_enabled, name, enabled)
    summary = next(b for b in await run_in_threadpool(service.banks) if b.bank.name == name)
    return JSONResponse(summary.to_dict())


@_guarded
async def add_hashes(request: Request, site: MediaSite) -> Response:
    name = request.path_params["name"]
    data = await _json_object(request)
    hashes = _field(data, "hashes", list, required=True)
    if not all(isinstance(h, str) for h in hashes):
        raise _BadRequest(400, "hashes", "'hashes' must be a list of 64-character hex strings")
    source = _field(data, "source", str) or ""
    reference_id = _field(data, "reference_id", str) or ""
    service = site.banks
    report = await run_in_threadpool(
        lambda: service.add(
            name, hashes, source=source, reference_id=reference_id, added_by=_caller(request)
        )
    )
    return JSONResponse(
        {
            "bank": name,
            "added": report.added,
            "problems": [
                {"item": p.line, "kind": p.kind, "message": p.message} for p in report.problems
            ],
        }
    )


@_guarded
async def export_bank(request: Request, site: MediaSite) -> Response:
    name = request.path_params["name"]
    try:
        fmt = parse_format(request.query_params.get("format", "csv"))
    except KidshieldError as exc:
        raise _BadRequest(400, "format", str(exc)) from None
    service = site.banks
    service.bank(name)
    lines = list(await run_in_threadpool(lambda: list(service.export(name, fmt))))
    media = "text/csv" if fmt.value in ("csv", "te") else "text/plain"
    return StreamingResponse(iter(lines), media_type=f"{media}; charset=utf-8")


def routes(site: MediaSite) -> list[BaseRoute]:
    return [
        Route("/api/v1/media/lookup", bind(lookup, site), methods=["POST"]),
        Route("/api/v1/media/match", bind(match, site), methods=["POST"]),
        Route("/api/v1/media/banks", bind(list_banks, site), methods=["GET"]),
        Route("/api/v1/media/banks", bind(create_bank, site), methods=["POST"]),
        Route("/api/v1/media/banks/{name}", bind(update_bank, site), methods=["PATCH"]),
        Route("/api/v1/media/banks/{name}/hashes", bind(add_hashes, site), methods=["POST"]),
        Route("/api/v1/media/banks/{name}/export", bind(export_bank, site), methods=["GET"]),
    ]


def create_app(
    service: BankService,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_side: int | None = None,
) -> Starlette:
    """A standalone app serving only the media routes (no authentication: bind to loopback).

    ``max_side`` shrinks uploads before hashing (faster; see ``hashing.load_pixels``).
    """
    return Starlette(routes=routes(MediaSite(service, max_upload_bytes, max_side,
                                             signed_in=False)))
