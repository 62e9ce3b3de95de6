"""PDQ hashing of image bytes (Pillow + pdqhash).

The bytes are decoded in memory, EXIF orientation is applied, animated images contribute their
first frame, and nothing is written anywhere. Only the formats in ``FORMATS`` are opened:
Pillow can also hand some formats to outside programs (EPS and PDF to Ghostscript, which
writes temporary files), and untrusted uploads must never reach those. Images larger than
the pixel limit are refused before they are decoded; damaged, truncated and unknown files
raise a clear ``InputError`` subclass instead of a Pillow traceback. 16- and 32-bit
greyscale images are scaled to 8 bits (as the reference PDQ hasher reads them), not clipped.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from kidshield.errors import InputError, TooLarge, UnsupportedMedia

DEFAULT_MIN_QUALITY = 50
# What uploads may be: image formats Pillow decodes itself (a camera's multi-picture JPEG
# opens as JPEG too). Never EPS, PDF or anything decoded by another program.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
# registered by importing them (Image.open with formats= does not load plugins itself)
_PLUGINS = (BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin,
            TiffImagePlugin, WebPImagePlugin)
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError,
            TypeError, KeyError, ZeroDivisionError, MemoryError)
HASH_BITS = 256
HEX_LENGTH = HASH_BITS // 4

# pdqhash.compute_dihedral returns the hashes in this order (checked against numpy transforms):
# rotate90 = 90° counter-clockwise, rotate270 = 90° clockwise, flip_x = upside down (mirror in the
# horizontal axis), flip_y = left-right mirror, flip_plus1 = transpose (main diagonal),
# flip_minus1 = anti-diagonal.
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)


# the first bytes of each format in ``FORMATS`` (WebP: "RIFF", a size, "WEBP")
_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
)


class ImageHashError(InputError):
    """The bytes could not be hashed as an image."""


class NotAnImageError(ImageHashError):
    """The bytes are not an image format Pillow can read."""


class UnsupportedImageError(NotAnImageError, UnsupportedMedia):
    """The bytes are of a format kidshield does not read (SVG, PDF, text): ``415`` on the API,
    as HTTP says of a type the server does not support; a damaged image of a format it reads
    stays ``422``."""


class ImageTooLargeError(ImageHashError, TooLarge):
    """The image has more pixels than allowed (decompression bomb guard)."""


@dataclass(frozen=True, slots=True)
class PdqHash:
    """One PDQ hash: 64 lower-case hex characters plus the quality score (0-100)."""

    hex: str
    quality: int
    variant: str = "original"


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """The hash of an image and, when asked for, the hashes of its 7 other rotations/flips."""

    original: PdqHash
    variants: tuple[PdqHash, ...] = ()

    @property
    def all(self) -> tuple[PdqHash, ...]:
        return (self.original, *self.variants)

    def usable(self, min_quality: int = DEFAULT_MIN_QUALITY) -> bool:
        """PDQ hashes below the quality threshold match too much to be trusted."""
        return self.original.quality >= min_quality


def bits_to_hex(bits: NDArray[np.integer]) -> str:
    """pdqhash's 256 0/1 values to hex, first value = most significant bit (as ThreatExchange)."""
    if bits.shape != (HASH_BITS,):
        raise ValueError(f"expected {HASH_BITS} bits, got shape {bits.shape}")
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def load_pixels(
    data: bytes, *, max_pixels: int | None = None, max_side: int | None = None
) -> NDArray[np.uint8]:
    """Decode image bytes to an RGB array: EXIF orientation applied, first frame only.

    ``max_pixels`` defaults to ``PIL.Image.MAX_IMAGE_PIXELS``; larger images are refused before
    they are decoded. ``max_side`` (off by default) shrinks larger images first: about 5x faster
    hashing of photos, at the cost of a few bits of distance (2-10 measured at 512) to hashes
    computed at full resolution, as partners' hashes usually are.
    """
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if not data:
        raise NotAnImageError("the upload is empty: send the bytes of an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"the image is too large to hash safely ({exc}); limit is {limit} pixels"
        ) from exc
    except UnidentifiedImageError as exc:
        webp = data.startswith(b"RIFF") and data[8:12] == b"WEBP"
        if data.startswith(_SIGNATURES) or webp:
            # a format kidshield reads, cut short or damaged: the sender's file is broken (422),
            # not of a type the server does not take (415)
            raise NotAnImageError("the image is damaged and cannot be read (cut short or "
                                  "broken before its header ends)") from exc
        raise UnsupportedImageError(
            "the data is not an image kidshield reads (JPEG, PNG, GIF, WebP, BMP or TIFF)"
        ) from exc
    except _DAMAGED as exc:
        raise NotAnImageError(f"the image is damaged and cannot be read ({exc})") from exc
    with img:
        width, height = img.size
        if limit is not None and width * height > limit:
            _shrink_jpeg(img, limit)
            if img.size[0] * img.size[1] > limit:
                raise ImageTooLargeError(
                    f"the image is too large to hash safely ({width}x{height} = "
                    f"{width * height} pixels; limit is {limit})"
                )
        try:
            img.seek(0)  # animated GIF/WebP/APNG: the first frame
            full = _full_scale(img)  # before exif_transpose, which drops the file's tags
            oriented = ImageOps.exif_transpose(img)
            rgb = _eight_bit(oriented, full).convert("RGB")
            if max_side is not None and max(rgb.size) > max_side:
                rgb.thumbnail((max_side, max_side), Image.Resampling.BOX)
            return np.asarray(rgb, dtype=np.uint8)
        except _DAMAGED as exc:
            raise NotAnImageError(f"the image is damaged and cannot be decoded ({exc})") from exc


def _shrink_jpeg(img: Image.Image, limit: int) -> None:
    """A JPEG over the pixel limit is decoded at 1/2, 1/4 or 1/8 of its size (the decoder
    does this cheaply), the first that fits: a 50-megapixel photo is hashed, a few bits
    away from its full-size hash, instead of refused. Other formats cannot shrink so."""
    if img.format != "JPEG":
        return
    width, height = img.size
    for scale in (2, 4, 8):
        if (width // scale) * (height // scale) <= limit:
            img.draft("RGB", (width // scale, height // scale))
            return


def _full_scale(img: Image.Image) -> float | None:
    """The value white has in greyscale deeper than 8 bits (None: 8 bits or colour).
    Pillow's own conversion clips such images, so a 16-bit one came out almost white and
    never matched its 8-bit copy; they are scaled by their full range instead."""
    mode = img.mode
    if mode == "F":
        top = float(np.asarray(img).max(initial=0.0))
        return 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0
    if mode == "I" and isinstance(img, TiffImagePlugin.TiffImageFile):
        # the file says how deep its samples are, and whether they are signed
        bits = img.tag_v2.get(258, (32,))
        formats = img.tag_v2.get(339, (1,))
        depth = int(bits[0] if isinstance(bits, tuple) else bits)
        signed = int(formats[0] if isinstance(formats, tuple) else formats) == 2
        return -(2.0 ** (depth - 1) - 1) if signed else 2.0**depth - 1
    if mode.startswith("I"):  # 16-bit samples ("I;16...", or "I" from a 16-bit PNG)
        return 65535.0
    return None


def _eight_bit(img: Image.Image, full: float | None) -> Image.Image:
    if full is None:
        return img
    values = np.asarray(img).astype(np.float64)
    if full > 2.0**31:  # unsigned 32-bit samples, which Pillow holds as signed
        values = np.where(values < 0, values + 2.0**32, values)
    scaled = np.clip(np.rint(values * (255.0 / abs(full))), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def hash_pixels(pixels: NDArray[np.uint8], *, dihedral: bool = False) -> ImageHashes:
    """PDQ hash of an RGB array; with ``dihedral`` also the 7 other rotations/flips."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageHashError(f"expected an RGB array of shape (h, w, 3), got {pixels.shape}")
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(pixels)  # one quality for all eight
        hashes = tuple(
            PdqHash(bits_to_hex(np.asarray(v)), int(quality), name)
            for v, name in zip(vectors, DIHEDRAL_NAMES, strict=True)
        )
        return ImageHashes(hashes[0], hashes[1:])
    vector, quality = pdqhash.compute(pixels)
    return ImageHashes(PdqHash(bits_to_hex(np.asarray(vector)), int(quality)))


def hash_image(
    data: bytes,
    *,
    dihedral: bool = False,
    max_pixels: int | None = None,
    max_side: int | None = None,
) -> ImageHashes:
    """PDQ hash of image bytes. The bytes are only decoded in memory, never stored."""
    pixels = load_pixels(data, max_pixels=max_pixels, max_side=max_side)
    return hash_pixels(pixels, dihedral=dihedral)
