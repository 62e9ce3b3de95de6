"""Small helpers for reading posted forms."""

from __future__ import annotations

from starlette.datastructures import FormData


def text(form: FormData, key: str, default: str = "") -> str:
    """A form field as stripped text (``default`` when missing or a file)."""
    value = form.get(key, default)
    return value.strip() if isinstance(value, str) else default


def lines(value: str) -> list[str]:
    """One item per line (commas also separate)."""
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]
