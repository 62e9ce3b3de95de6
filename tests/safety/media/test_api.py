"""REST endpoints under /api/v1/media on the application as ``kidshield serve`` composes it
(the household of tests/e2e/household.py with ``[media] max_upload_mb = 4``, one server for
the module), asked with an API token of an analyst's account holding the "media" scope. Every
answer is also checked against the server's OpenAPI document (``Served.client``)."""

from __future__ import annotations

import builtins
import io
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from kidshield.safety.media.banks import BankService
from kidshield.safety.media.hashing import hash_image
from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served

from .images import encode, picture

MAX_UPLOAD_MB = 4  # over big_photo_like_png(), under what the 413 test sends


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    extra = f"\n[media]\nmax_upload_mb = {MAX_UPLOAD_MB}\n"
    with served_household(tmp_path_factory.mktemp("media"), extra) as served:
        served.account("hotline analyst", "analyst")
        yield served


@pytest.fixture(scope="module")
def client(live: Served) -> httpx.Client:
    """A hotline's script: the token of an analyst's account, scope "media" only."""
    return live.client(headers=live.bearer_for("hotline analyst", ["media"]))


@pytest.fixture(scope="module")
def service(live: Served) -> BankService:
    """The served application's hash banks."""
    banks = live.app.features.media
    assert banks is not None
    return banks


@pytest.fixture(scope="module")
def banked(service: BankService) -> bytes:
    data = encode(picture(41))
    service.create_bank("known")
    service.add("known", [hash_image(data).original.hex], reference_id="case-41")
    return data


def big_photo_like_png() -> bytes:
    """A ~3 MB PNG of picture 41 plus strong noise (larger than starlette's 1 MB spool size)."""
    img = np.asarray(picture(41, (1200, 900)), dtype=np.int16)
    noise = np.random.default_rng(0).integers(-3, 4, img.shape)
    out = Image.fromarray(np.clip(img + noise, 0, 255).astype(np.uint8))
    data = encode(out)
    assert 1_500_000 < len(data) < MAX_UPLOAD_MB << 20
    return data


def test_lookup_by_hash_returns_match_with_bank_and_reference(
    client: httpx.Client, banked: bytes
) -> None:
    hex_hash = hash_image(banked).original.hex
    body = client.post("/api/v1/media/lookup", json={"hash": hex_hash.upper()}).json()
    assert body["matched"] is True
    assert body["reason"] == "hash_match"
    assert body["matches"][0] | {"distance": 0} == {
        "bank": "known",
        "kind": "match",
        "hash": hex_hash,
        "distance": 0,
        "variant": "original",
        "reference_id": "case-41",
        "source": "",
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "hash"),
        ({"hash": "abc"}, "hash"),
        ({"hash": 5}, "hash"),
        ({"hash": "a" * 64, "quality": "high"}, "quality"),
    ],
)
def test_bad_lookup_input_gets_a_422_naming_the_field(
    client: httpx.Client, payload: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/media/lookup", json=payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["error"] == "validation" and response.json()["detail"]


def test_lookup_with_low_quality_is_skipped(client: httpx.Client, banked: bytes) -> None:
    hex_hash = hash_image(banked).original.hex
    body = client.post("/api/v1/media/lookup", json={"hash": hex_hash, "quality": 10}).json()
    assert body["matched"] is False
    assert "quality" in body["skipped"]


def test_image_upload_matches_and_records_the_account_not_a_claimed_caller(
    client: httpx.Client, banked: bytes, service: BankService
) -> None:
    jpeg = encode(Image.open(io.BytesIO(banked)), "JPEG", quality=60)
    before = len(service.store.match_records())
    response = client.post(
        "/api/v1/media/match",
        content=jpeg,
        headers={"content-type": "image/jpeg", "x-kidshield-caller": "school-7"},
    )
    assert response.status_code == 200
    assert response.json()["matched"] is True
    # signed in, the caller is the token's account: a header cannot put another name in the
    # audit of matches (the standalone app, without accounts, takes the header)
    (record,) = service.store.match_records()[before:]
    assert record.caller == "hotline analyst"


@pytest.mark.parametrize("as_form", [False, True], ids=["raw-body", "multipart-form"])
def test_upload_never_touches_the_disk_or_the_logs(
    client: httpx.Client,
    banked: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    as_form: bool,
) -> None:
    data = big_photo_like_png()  # over starlette's 1 MiB multipart spooling size
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    opened: list[str] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        opened.append(repr(args)[:80])
        raise AssertionError("the upload path tried to create a file")

    # SpooledTemporaryFile rolls over to disk through tempfile.TemporaryFile.
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, forbidden)
    real_open = builtins.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            forbidden(file, mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    caplog.set_level(logging.DEBUG)

    if as_form:
        response = client.post(
            "/api/v1/media/match",
            files={"image": ("photo.png", data, "image/png")},
            data={"note": "from a form"},
        )
    else:
        response = client.post(
            "/api/v1/media/match",
            content=data,
            headers={"content-type": "application/octet-stream"},
        )

    assert response.status_code == 200, response.text
    assert response.json()["matched"] is True
    assert opened == []
    assert list(spool.iterdir()) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert data[100:140].hex() not in logged and repr(data[100:140]) not in logged


def test_multipart_form_without_an_image_field_names_the_field(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/media/match",
        content=b'--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--x--\r\n',
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert (response.status_code, response.json()["field"]) == (422, "image")


@pytest.mark.parametrize("field", ["photo", "file"])
def test_a_form_whose_file_is_not_in_the_image_field_is_refused_not_guessed(
        client: httpx.Client, banked: bytes, field: str) -> None:
    # once the first file part of any name was hashed: a form's thumbnail or attachment
    # answered as if it were the image asked about
    response = client.post("/api/v1/media/match",
                           files={field: ("photo.png", banked, "image/png")})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "image"
    assert f"'{field}'" in response.json()["detail"]
    assert "'image'" in response.json()["detail"]


def test_url_encoded_forms_are_refused(client: httpx.Client) -> None:
    response = client.post("/api/v1/media/match", data={"image": "abc"})
    assert response.status_code == 415
    assert response.json()["field"] == "body"


def test_non_image_upload_is_a_415_naming_the_body(client: httpx.Client) -> None:
    """Bytes of no format kidshield reads are an unsupported media type (docs/web.md)."""
    response = client.post(
        "/api/v1/media/match", content=b"not an image", headers={"content-type": "image/png"}
    )
    assert response.status_code == 415
    assert response.json() == {"error": "unsupported_media_type", "field": "body",
                               "detail": response.json()["detail"]}
    assert "not an image" in response.json()["detail"]


def test_a_damaged_image_of_a_format_kidshield_reads_is_a_422(client: httpx.Client) -> None:
    response = client.post("/api/v1/media/match", content=encode(picture(1))[:60],
                           headers={"content-type": "image/png"})
    assert (response.status_code, response.json()["field"]) == (422, "body")


def test_an_upload_over_the_configured_limit_is_refused_with_413(client: httpx.Client) -> None:
    # [media] max_upload_mb of the configuration, as serve passes it to the routes
    response = client.post(
        "/api/v1/media/match",
        content=encode(picture(1)) + b"\0" * (MAX_UPLOAD_MB << 20),
        headers={"content-type": "image/png"},
    )
    assert response.status_code == 413
    assert response.json()["field"] == "body"


def test_without_a_token_or_with_another_scope_the_banks_are_refused(live: Served) -> None:
    with live.client() as anonymous:
        assert anonymous.get("/api/v1/media/banks").status_code == 401
        assert anonymous.post("/api/v1/media/lookup", json={"hash": "a" * 64}).status_code == 401
    other = live.bearer_for("hotline analyst", ["assess"])
    with live.client(headers=other) as narrow:
        refused = narrow.post("/api/v1/media/banks", json={"name": "not-mine"})
    assert refused.status_code == 403 and refused.json()["detail"].startswith("not allowed")


def test_dihedral_query_parameter_matches_mirrored_upload(
    client: httpx.Client, banked: bytes
) -> None:
    mirrored = encode(Image.open(io.BytesIO(banked)).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    headers = {"content-type": "image/png"}
    plain = client.post("/api/v1/media/match", content=mirrored, headers=headers).json()
    assert plain["matched"] is False
    both = client.post("/api/v1/media/match?dihedral=1", content=mirrored, headers=headers).json()
    assert both["matched"] is True


def test_bank_management_create_list_disable_add_export(client: httpx.Client) -> None:
    created = client.post(
        "/api/v1/media/banks", json={"name": "fp", "kind": "negative", "threshold": 20}
    )
    assert created.status_code == 201
    assert created.json() | {"created_at": None} == {
        "name": "fp",
        "kind": "negative",
        "signal_type": "pdq",
        "threshold": 20,
        "enabled": True,
        "description": "",
        "created_at": None,
        "created_by": "hotline analyst",  # the token's account
        "hashes": 0,
    }
    assert client.post("/api/v1/media/banks", json={"name": "fp"}).status_code == 409
    bad = client.post("/api/v1/media/banks", json={"name": "x", "kind": "other"})
    assert (bad.status_code, bad.json()["field"]) == (422, "kind")
    added = client.post(
        "/api/v1/media/banks/fp/hashes", json={"hashes": ["a" * 64, "nope", "a" * 64]}
    ).json()
    assert added["added"] == 1
    assert [(p["item"], p["kind"]) for p in added["problems"]] == [
        (2, "malformed"),
        (3, "duplicate"),
    ]
    disabled = client.patch("/api/v1/media/banks/fp", json={"enabled": False})
    assert disabled.json()["enabled"] is False
    listed = client.get("/api/v1/media/banks").json()["banks"]
    assert [(b["name"], b["hashes"], b["enabled"]) for b in listed
            if b["name"] == "fp"] == [("fp", 1, False)]
    exported = client.get("/api/v1/media/banks/fp/export?format=te")
    assert exported.text == f"pdq,{'a' * 64},\n"
    missing = client.get("/api/v1/media/banks/nope/export")
    assert (missing.status_code, missing.json()["field"]) == (404, "name")
    bad_format = client.get("/api/v1/media/banks/fp/export?format=xml")
    assert (bad_format.status_code, bad_format.json()["field"]) == (422, "format")
