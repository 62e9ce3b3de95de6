"""Where the shipped model files live, and the one error for a missing or altered one.

Both the text model (:mod:`classifier`) and the outside profanity table (:mod:`profanity`)
check their files against a manifest's sha256 before reading them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kidshield.errors import KidshieldError

MODEL_DIR = Path(__file__).parent / "models"


class ModelError(KidshieldError):
    """The shipped (or given) model files are missing, altered or unreadable."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["MODEL_DIR", "ModelError", "sha256"]
