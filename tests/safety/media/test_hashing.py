from __future__ import annotations

import io

import pytest
from PIL import Image

from kidshield.errors import InputError
from kidshield.safety.media.hashing import (
    DIHEDRAL_NAMES,
    ImageTooLargeError,
    NotAnImageError,
    hash_image,
)
from kidshield.safety.media.signal import PdqSignal

from .images import brightened, cropped, encode, flat, mirrored, picture, resized

THRESHOLD = PdqSignal.default_threshold
SEEDS = (1, 2, 3)


def distance(a: bytes, b: bytes) -> int:
    return PdqSignal.distance(hash_image(a).original.hex, hash_image(b).original.hex)


def test_hash_is_64_lowercase_hex_with_quality_for_a_structured_picture() -> None:
    result = hash_image(encode(picture(1)))
    assert len(result.original.hex) == 64
    assert result.original.hex == result.original.hex.lower()
    assert result.original.quality >= 50
    assert result.usable()


def test_same_bytes_give_the_same_hash() -> None:
    data = encode(picture(7))
    assert hash_image(data) == hash_image(data)


@pytest.mark.parametrize("seed", SEEDS)
def test_recompressed_jpeg_stays_within_threshold(seed: int) -> None:
    img = picture(seed)
    assert distance(encode(img), encode(img, "JPEG", quality=30)) <= THRESHOLD


@pytest.mark.parametrize("seed", SEEDS)
def test_half_size_copy_stays_within_threshold(seed: int) -> None:
    img = picture(seed)
    assert distance(encode(img), encode(resized(img, 0.5))) <= THRESHOLD


@pytest.mark.parametrize("seed", SEEDS)
def test_one_percent_crop_on_each_side_stays_within_threshold(seed: int) -> None:
    img = picture(seed)
    assert distance(encode(img), encode(cropped(img, 0.01))) <= THRESHOLD


@pytest.mark.parametrize(("seed", "factor"), [(1, 1.3), (2, 0.7), (3, 1.2)])
def test_brightness_change_stays_within_threshold(seed: int, factor: float) -> None:
    img = picture(seed)
    assert distance(encode(img), encode(brightened(img, factor))) <= THRESHOLD


def test_mirrored_copy_differs_but_one_dihedral_variant_matches_it() -> None:
    img = picture(4)
    original = hash_image(encode(img), dihedral=True)
    mirror = hash_image(encode(mirrored(img))).original.hex
    assert PdqSignal.distance(original.original.hex, mirror) > THRESHOLD
    assert min(PdqSignal.distance(v.hex, mirror) for v in original.variants) <= THRESHOLD


def test_dihedral_option_returns_seven_named_variants() -> None:
    result = hash_image(encode(picture(5)), dihedral=True)
    assert [v.variant for v in result.all] == list(DIHEDRAL_NAMES)
    assert hash_image(encode(picture(5))).variants == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_unrelated_pictures_are_far_apart(seed: int) -> None:
    assert distance(encode(picture(seed)), encode(picture(seed + 100))) > 2 * THRESHOLD


def test_flat_image_has_low_quality_and_is_not_usable() -> None:
    result = hash_image(encode(flat()))
    assert result.original.quality < 50
    assert not result.usable()


def test_exif_orientation_is_applied_before_hashing() -> None:
    img = picture(6)
    # Store the pixels rotated and tell viewers (EXIF 6: rotate 90° clockwise) to undo it.
    stored = img.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert distance(encode(img), data) <= 10


def test_animated_gif_is_hashed_by_its_first_frame() -> None:
    first, second = picture(8), picture(9)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=100)
    animated = hash_image(buffer.getvalue()).original.hex
    still = hash_image(encode(first, "GIF")).original.hex
    assert PdqSignal.distance(animated, still) <= 4


@pytest.mark.parametrize("data", [b"", b"hello, this is text", b"\x89PNG\r\n\x1a\nbroken"])
def test_non_images_raise_a_clear_input_error(data: bytes) -> None:
    with pytest.raises(NotAnImageError) as info:
        hash_image(data)
    assert isinstance(info.value, InputError)
    assert "image" in str(info.value)


def test_images_over_the_pixel_limit_are_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="too large"):
        hash_image(encode(picture(1)), max_pixels=1000)


def test_pillow_decompression_bomb_becomes_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    with pytest.raises(ImageTooLargeError, match="too large"):
        hash_image(encode(picture(1, (200, 200))))  # 40,000 px: Pillow itself refuses it


def test_max_side_shrinks_large_images_and_keeps_the_hash_close() -> None:
    from kidshield.safety.media.hashing import load_pixels

    data = encode(picture(10, (1600, 1200)))
    assert load_pixels(data, max_side=512).shape == (384, 512, 3)
    full = hash_image(data).original.hex
    assert PdqSignal.distance(full, hash_image(data, max_side=512).original.hex) <= 16
