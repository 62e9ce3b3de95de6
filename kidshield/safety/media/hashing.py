"""PDQ hashing of image bytes (Pillow + pdqhash).

The bytes are decoded in memory, EXIF orientation is applied, animated images contribute their
first frame, and nothing is written anywhere. Decompression bombs and non-images raise a clear
``InputError`` subclass instead of a Pillow traceback.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pdqhash
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from kidshield.errors import InputError

DEFAULT_MIN_QUALITY = 50
HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
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


class ImageHashError(InputError):
    """The bytes could not be hashed as an image."""


class NotAnImageError(ImageHashError):
    """The bytes are not an image format Pillow can read."""


class ImageTooLargeError(ImageHashError):
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
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"the image is too large to hash safely ({exc}); limit is {limit} pixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError(
            "the data is not an image kidshield can read (JPEG, PNG, GIF, WebP, BMP, TIFF ...)"
        ) from exc
    with img:
        width, height = img.size
        if limit is not None and width * height > limit:
            raise ImageTooLargeError(
                f"the image is too large to hash safely ({width}x{height} = "
                f"{width * height} pixels; limit is {limit})"
            )
        try:
            img.seek(0)  # animated GIF/WebP/APNG: the first frame
            oriented = ImageOps.exif_transpose(img)
            rgb = oriented.convert("RGB")
            if max_side is not None and max(rgb.size) > max_side:
                rgb.thumbnail((max_side, max_side), Image.Resampling.BOX)
            return np.asarray(rgb, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise NotAnImageError(f"the image is damaged and cannot be decoded ({exc})") from exc


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
