"""Errors the web routes turn into 4xx answers, and the marker for translatable messages."""

from __future__ import annotations

from kidshield.errors import KidshieldError


def N_(text: str) -> str:
    """Marks a message children may read for the translation catalogs."""
    return text


class NotFound(KidshieldError):
    """404: the thing asked for does not exist."""


class Refused(KidshieldError):
    """403/429: not allowed (wrong PIN, too many attempts, used setup link)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status
