"""REST routes for hash lookup, image matching and bank management (starlette).

Image uploads are read into memory, hashed and dropped: either the raw request body
(``image/*`` or ``application/octet-stream``) or the ``image`` field of a multipart form, which
is parsed here in memory with python-multipart's streaming parser. ``request.form()`` is never
used: starlette spools multipart parts over 1 MiB to a temporary file, and image bytes must
never reach the disk. Nothing here logs request bodies.

The routes are declared in the ``api`` group (``registry.py``): ``kidshield serve`` mounts them
behind its sign-in (the media API has no standalone app: without accounts nothing would say
who matched or changed a bank).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute

from kidshield.errors import (
    InputError,
    KidshieldError,
    Malformed,
    RequestTimeout,
    TooManyRequests,
    UnsupportedMedia,
)
from kidshield.safety.media.banks import MAX_DESCRIPTION, BankService
from kidshield.safety.media.formats import MAX_REFERENCE, MAX_SOURCE, parse_format
from kidshield.safety.media.hashing import ImageHashError
from kidshield.safety.media.signal import PdqSignal
from kidshield.web.access import Permission, User
from kidshield.web.api.registry import Api, read_body

DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024
# what the route reads at most, whatever the site allows (the site's limit is checked too)
UPLOAD_CAP = 256 * 1024 * 1024
CALLER_HEADER = "x-kidshield-caller"
IMAGE_TYPES = ("image/*", "application/octet-stream", "multipart/form-data")


DEFAULT_MAX_PIXELS = 24_000_000
DECODE_WAIT = 30.0  # seconds an upload waits for a free decoder before "busy"
READ_TIME = 120.0  # seconds to send a whole upload (a trickle must not hold a decoder)


@dataclass
class MediaSite:
    """What the media routes work with. At most ``max_decodes`` uploads are read and decoded
    at once (a decode of a large image takes some 22 bytes a pixel); the others wait for a
    turn before their bodies are read, so waiting uploads hold no memory."""

    banks: BankService
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_side: int | None = None  # shrink uploads to this before hashing (faster)
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger images are refused before decoding
    max_decodes: int = 2
    decode_wait: float = DECODE_WAIT
    read_time: float = READ_TIME
    _decoders: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    @contextlib.asynccontextmanager
    async def decoder(self) -> AsyncIterator[None]:
        """A turn to read and decode one upload (503 when none frees up in time)."""
        if self._decoders is None:
            self._decoders = asyncio.Semaphore(self.max_decodes)
        try:
            await asyncio.wait_for(self._decoders.acquire(), self.decode_wait)
        except TimeoutError:
            raise Busy("the server is busy hashing other images: try again shortly",
                       retry_after=5) from None
        try:
            yield
        finally:
            self._decoders.release()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LookupIn(_In):
    hash: str = Field(description="a PDQ hash: 64 hex digits")
    quality: int | None = Field(None, ge=0, le=100, description="the hash's quality, 0-100")


class MatchQuery(_In):
    dihedral: bool = Field(False, description="also match the 7 rotations and flips")


class BankIn(_In):
    name: str
    kind: Literal["match", "negative"] = "match"
    threshold: int | None = Field(None, description="largest matching distance (default 31)")
    description: str = Field("", max_length=MAX_DESCRIPTION)


class BankPatch(_In):
    enabled: bool


class HashesIn(_In):
    hashes: list[str] = Field(description="PDQ hashes, 64 hex digits each")
    source: str = Field("", max_length=MAX_SOURCE)
    reference_id: str = Field("", max_length=MAX_REFERENCE)


class ExportQuery(_In):
    format: Literal["csv", "hex", "te"] = "csv"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BankMatchOut(_Out):
    bank: str
    kind: str
    hash: str
    distance: int
    variant: str
    reference_id: str
    source: str


class MatchOut(_Out):
    matched: bool = Field(description="the one field a caller has to act on")
    reason: str | None
    hash: str
    quality: int | None
    skipped: str | None = Field(description="why no lookup was made (low quality)")
    matches: list[BankMatchOut]
    cancelled: list[BankMatchOut]
    negative: list[BankMatchOut]


class BankOut(_Out):
    name: str
    kind: str
    signal_type: str
    threshold: int
    enabled: bool
    description: str
    created_at: str | None
    created_by: str
    hashes: int


class Banks(_Out):
    banks: list[BankOut]


class Problem(_Out):
    item: int
    kind: str
    message: str


class Added(_Out):
    bank: str
    added: int
    problems: list[Problem]


api: Api[MediaSite] = Api(
    "media", "PDQ hash banks: look up a hash, match an image (hashed in memory, never kept), "
    "manage banks.", allow=Permission.MEDIA_MATCH)
MANAGE = Permission.MEDIA_MANAGE


class Busy(TooManyRequests):
    """Every decoder is taken."""


def _caller(request: Request, user: User | None) -> str:
    if user is not None:
        return user.name[:128]
    return request.headers.get(CALLER_HEADER, "api")[:128]


def _multipart_image(body: bytes, content_type: str) -> bytes:
    """The image part of a multipart form, parsed in memory.

    Deliberately not ``request.form()``: starlette spools parts over 1 MiB to a temporary file.
    The part named ``image`` is the image; a form without one is refused.
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise Malformed("the multipart Content-Type has no boundary", field="body")
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
        raise Malformed(f"the multipart form is malformed ({exc})", field="body") from None
    # Only the documented field: falling back to some other file part would hash whatever a
    # form happened to carry first (a thumbnail, an attachment) and answer as if it were the
    # image asked about.
    names: list[str] = []
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("latin-1")
        if name == "image":
            return bytes(data)
        names.append(repr(name[:40]))
    found = f" (it has {', '.join(names[:5])})" if names else ""
    raise InputError(f"the form has no 'image' field{found}: send the image as the file "
                     "field named 'image'", field="image")


async def _read_image_body(request: Request, limit: int) -> bytes:
    """The image bytes from a raw body or a multipart form, kept in memory only."""
    full_type = request.headers.get("content-type", "")
    ctype = full_type.split(";", 1)[0].strip().lower()
    multipart = ctype == "multipart/form-data"
    if not (
        not ctype or multipart or ctype.startswith("image/") or ctype == "application/octet-stream"
    ):
        raise UnsupportedMedia(
            f"unsupported content type {ctype!r}: send the image as the raw body (image/* or "
            "application/octet-stream) or as the 'image' field of a multipart/form-data form",
            field="body")
    body = await read_body(request, limit + (64 * 1024 if multipart else 0))
    data = _multipart_image(body, full_type) if multipart else body
    if not data:
        raise InputError("the upload is empty: send the bytes of an image", field="body")
    return data


@api("POST", "/media/lookup", "Match one PDQ hash against every enabled bank", body=LookupIn,
     response=MatchOut)
async def lookup(request: Request, site: MediaSite, user: User | None, body: LookupIn) -> Any:
    try:
        PdqSignal.validate(body.hash)
    except KidshieldError as exc:
        raise InputError(str(exc), field="hash") from None
    caller = _caller(request, user)
    result = await run_in_threadpool(
        lambda: site.banks.lookup(body.hash, quality=body.quality, caller=caller))
    return result.to_dict()


@api("POST", "/media/match", "Hash an image (never stored) and match it", query=MatchQuery,
     raw_body=IMAGE_TYPES, response=MatchOut, errors=(400, 413, 415, 429),
     max_body=UPLOAD_CAP)
async def match(request: Request, site: MediaSite, user: User | None,
                query: MatchQuery) -> Any:
    caller = _caller(request, user)
    async with site.decoder():
        try:
            data = await asyncio.wait_for(_read_image_body(request, site.max_upload_bytes),
                                          site.read_time)
        except TimeoutError:
            raise RequestTimeout(f"the upload took longer than {site.read_time:g} s",
                                 field="body") from None
        try:
            result = await run_in_threadpool(
                lambda: site.banks.match_image(data, dihedral=query.dihedral, caller=caller,
                                               max_pixels=site.max_pixels,
                                               max_side=site.max_side))
        except ImageHashError as exc:
            exc.field = exc.field or "body"
            raise
    return result.to_dict()


@api("GET", "/media/banks", "The banks, with their sizes", response=Banks)
async def list_banks(request: Request, site: MediaSite, user: User | None, _b: None) -> Any:
    banks = await run_in_threadpool(site.banks.banks)
    return {"banks": [b.to_dict() for b in banks]}


def _summary(site: MediaSite, name: str) -> dict[str, Any]:
    return next(b for b in site.banks.banks() if b.bank.name == name).to_dict()


@api("POST", "/media/banks", "Create a bank", body=BankIn, response=BankOut, status=201,
     errors=(409,), allow=MANAGE)
async def create_bank(request: Request, site: MediaSite, user: User | None,
                      body: BankIn) -> Any:
    options: dict[str, Any] = {"kind": body.kind, "description": body.description}
    if body.threshold is not None:
        options["threshold"] = body.threshold
    caller = _caller(request, user)
    await run_in_threadpool(
        lambda: site.banks.create_bank(body.name, created_by=caller, **options))
    return await run_in_threadpool(_summary, site, body.name)


@api("PATCH", "/media/banks/{name}", "Turn a bank on or off", body=BankPatch,
     response=BankOut, allow=MANAGE)
async def update_bank(request: Request, site: MediaSite, user: User | None,
                      body: BankPatch) -> Any:
    name = request.path_params["name"]
    await run_in_threadpool(site.banks.set_enabled, name, body.enabled)
    return await run_in_threadpool(_summary, site, name)


@api("POST", "/media/banks/{name}/hashes", "Add hashes to a bank (bad and duplicate ones are "
     "listed, not added)", body=HashesIn, response=Added, max_body=16 << 20, allow=MANAGE)
async def add_hashes(request: Request, site: MediaSite, user: User | None,
                     body: HashesIn) -> Any:
    name = request.path_params["name"]
    caller = _caller(request, user)
    report = await run_in_threadpool(
        lambda: site.banks.add(name, body.hashes, source=body.source,
                               reference_id=body.reference_id, added_by=caller))
    return {"bank": name, "added": report.added,
            "problems": [{"item": p.line, "kind": p.kind, "message": p.message}
                         for p in report.problems]}


@api("GET", "/media/banks/{name}/export", "A bank's hashes as CSV, hex lines or "
     "ThreatExchange CSV", query=ExportQuery, response={"type": "string"},
     media_type="text/csv", also=("text/plain",), allow=MANAGE)
async def export_bank(request: Request, site: MediaSite, user: User | None,
                      query: ExportQuery) -> Any:
    name = request.path_params["name"]
    fmt = parse_format(query.format)
    site.banks.bank(name)
    lines = await run_in_threadpool(lambda: list(site.banks.export(name, fmt)))
    media = "text/csv" if fmt.value in ("csv", "te") else "text/plain"
    return StreamingResponse(iter(lines), media_type=f"{media}; charset=utf-8")


def routes(site: MediaSite) -> list[BaseRoute]:
    return list(api.routes(site))

