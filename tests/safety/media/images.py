"""Synthetic test pictures: gradients, shapes and a little noise, reproducible from a seed.

PDQ needs structure (edges, shapes) to produce a high-quality hash; flat images hash badly by
design. Nothing here is a real photo.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance


def picture(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    angle = rng.uniform(0, np.pi)
    base = np.cos(angle) * x + np.sin(angle) * y
    channels = [
        (base * rng.uniform(80, 255) + rng.uniform(0, 60)) * np.ones((height, width))
        for _ in range(3)
    ]
    array = np.clip(np.stack(channels, axis=2), 0, 255).astype(np.uint8)
    img = Image.fromarray(array, "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(10, 18))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (
            int(rng.integers(width // 10, width // 2)),
            int(rng.integers(height // 10, height // 2)),
        )
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=color)
        elif shape == 1:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=color)
        else:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)]
            draw.polygon(points, fill=color)
    noise = rng.normal(0, 6, (height, width, 3))
    noisy = np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(noisy, "RGB")


def flat(
    size: tuple[int, int] = (200, 200), color: tuple[int, int, int] = (120, 130, 140)
) -> Image.Image:
    return Image.new("RGB", size, color)


def encode(img: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def resized(img: Image.Image, factor: float) -> Image.Image:
    return img.resize((int(img.width * factor), int(img.height * factor)), Image.Resampling.LANCZOS)


def cropped(img: Image.Image, fraction: float) -> Image.Image:
    dx, dy = int(img.width * fraction), int(img.height * fraction)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


def brightened(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def mirrored(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
