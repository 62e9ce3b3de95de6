"""Issue 15, media uploads: untrusted bytes reaching the server. Damaged images are a clear
error, Ghostscript never runs, oversized images are refused before decoding, decodes are
bounded, deep greyscale is scaled, ThreatExchange's own list layouts import, and an import
with rejected rows says so in its exit status."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image
from typer.testing import CliRunner

from kidshield.cli import app as cli
from kidshield.safety.media.hashing import hash_image
from kidshield.web.api.media import Busy, MediaSite
from tests.e2e.harness import Served
from tests.safety.media.images import encode, picture

runner = CliRunner()


def analyst(served: Served) -> tuple[object, dict[str, str]]:
    return served.account("an analyst", "analyst")


def match(served: Served, data: bytes, kind: str = "image/png") -> tuple[int, dict[str, str]]:
    client, headers = analyst(served)
    r = client.post("/api/v1/media/match", content=data,  # type: ignore[attr-defined]
                    headers={**headers, "content-type": kind})
    return r.status_code, r.json()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_a_clear_error_not_a_crash(served: Served, fmt: str) -> None:
    whole = encode(picture(7), fmt)
    client, headers = analyst(served)
    for cut in (12, 40, len(whole) // 2):
        r = client.post("/api/v1/media/match", content=whole[:cut],  # type: ignore[attr-defined]
                        headers={**headers, "content-type": f"image/{fmt.lower()}"})
        assert r.status_code == 422, (cut, r.text)
        assert r.json()["field"] == "body" and "image" in r.json()["detail"]


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
       b"newpath 0 0 moveto 10 10 lineto stroke showpage\n%%EOF\n")


def test_ghostscript_never_sees_an_upload(served: Served, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ran = tmp_path / "gs-ran"
    fake = tmp_path / "bin" / "gs"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\n[ "$1" = "--version" ] && exit 0\ntouch {ran}\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # look for gs again
    status, body = match(served, EPS, "application/octet-stream")
    assert status == 415 and "not an image kidshield reads" in body["detail"]
    assert not ran.exists()
    code = runner.invoke(cli, ["media", "hash", str(_write(tmp_path / "x.eps", EPS))]).exit_code
    assert code == 1 and not ran.exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(served: Served) -> None:
    bomb = _png_header_only(9000, 9000)  # 69 bytes that would cost gigabytes to decode
    assert len(bomb) < 120
    status, body = match(served, bomb)
    assert status == 413 and "too large" in body["detail"]


def test_a_large_jpeg_is_hashed_at_a_reduced_scale_instead(served: Served) -> None:
    photo = encode(picture(9, (6000, 5000)), "JPEG", quality=85)  # 30 megapixels
    status, body = match(served, photo, "image/jpeg")
    assert status == 200
    full = hash_image(photo, max_pixels=10**9).original.hex
    assert bin(int(body["hash"], 16) ^ int(full, 16)).count("1") <= 10


def test_decodes_at_once_are_bounded() -> None:
    async def scenario() -> None:
        site = MediaSite(banks=None, max_decodes=1, decode_wait=0.05)  # type: ignore[arg-type]
        async with site.decoder():
            with pytest.raises(Busy):
                async with site.decoder():
                    pass  # pragma: no cover
        async with site.decoder():
            pass  # free again

    asyncio.run(scenario())


def _deep(image: Image.Image, fmt: str, bits: int) -> bytes:
    grey = np.asarray(image.convert("L")).astype(np.int64)
    if bits == 16:
        deep = Image.fromarray((grey * 257).astype(np.uint16))
    else:
        deep = Image.fromarray((grey * (2**31 - 1) // 255).astype(np.int32))
    out = io.BytesIO()
    deep.save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "bits"), [("PNG", 16), ("TIFF", 16), ("TIFF", 32)])
def test_deep_greyscale_matches_its_eight_bit_copy(served: Served, fmt: str, bits: int) -> None:
    image = picture(11)
    admin, headers = served.parent()
    eight_bit = hash_image(encode(image.convert("L"))).original.hex
    admin.post("/api/v1/media/banks", json={"name": "known"}, headers=headers)
    admin.post("/api/v1/media/banks/known/hashes", json={"hashes": [eight_bit]},
               headers=headers)
    status, body = match(served, _deep(image, fmt, bits), f"image/{fmt.lower()}")
    assert status == 200 and body["matched"] is True and body["hash"] == eight_bit


def test_threatexchange_layouts_import(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    one, two = hash_image(encode(picture(1))).original.hex, hash_image(
        encode(picture(2))).original.hex
    printed = _write(tmp_path / "hashes.txt", f"pdq {one}\npdq {two}\n".encode())
    api_rows = _write(tmp_path / "te.csv", f"HASH_PDQ,{one},ref-1\nHASH_PDQ,{two},ref-2\n"
                      .encode())
    assert runner.invoke(cli, ["media", "bank", "create", "a", "--db", db]).exit_code == 0
    assert runner.invoke(cli, ["media", "bank", "create", "b", "--db", db]).exit_code == 0
    result = runner.invoke(cli, ["media", "bank", "import", "a", str(printed), "--db", db])
    assert result.exit_code == 0 and "imported 2 hashes" in result.stdout
    result = runner.invoke(cli, ["media", "bank", "import", "b", str(api_rows), "--db", db])
    assert result.exit_code == 0 and "imported 2 hashes" in result.stdout


def test_rejected_rows_give_a_non_zero_exit_and_strict_imports_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    good = hash_image(encode(picture(3))).original.hex
    mixed = _write(tmp_path / "mixed.txt", f"{good}\nnot-a-hash\n".encode())
    runner.invoke(cli, ["media", "bank", "create", "a", "--db", db])
    strict = runner.invoke(cli, ["media", "bank", "import", "a", str(mixed), "--strict",
                                 "--db", db])
    assert strict.exit_code == 1 and "nothing imported" in strict.stderr
    listed = runner.invoke(cli, ["media", "bank", "list", "--json", "--db", db]).stdout
    assert '"hashes": 0' in listed
    lenient = runner.invoke(cli, ["media", "bank", "import", "a", str(mixed), "--db", db])
    assert lenient.exit_code == 1 and "imported 1 hashes" in lenient.stdout
    assert f"{mixed}:2: malformed" in lenient.stderr


def test_the_command_line_says_what_is_wrong_with_a_damaged_image(tmp_path: Path) -> None:
    whole = encode(picture(4), "JPEG")
    broken = _write(tmp_path / "broken.jpg", whole[: len(whole) // 3])
    result = runner.invoke(cli, ["media", "hash", str(broken)])
    assert result.exit_code == 1
    assert "damaged" in result.stderr and "Traceback" not in result.stderr
