"""Where the shipped model files live, and the one error for a missing or altered one.

Both the text model (:mod:`classifier`) and the outside profanity table (:mod:`profanity`)
check their files against a manifest's sha256 before reading them."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from kidshield.errors import KidshieldError

MODEL_DIR = Path(__file__).parent / "models"


class ModelError(KidshieldError):
    """The shipped (or given) model files are missing, altered or unreadable."""


def read_manifest(path: Path, missing: str, what: str = "manifest") -> Any:
    """A model folder's JSON manifest; a missing or unreadable one is a :class:`ModelError`
    naming the file (``missing``: what to do about it, ``what``: what the file is)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable {what} ({exc})") from None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


T = TypeVar("T")


class LoadedOnce(Generic[T]):
    """What ``load`` reads from a folder, read at first use and then shared by every thread:
    the engine asks for its model on every message."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: dict[Path, T] = {}

    def __call__(self, folder: Path) -> T:
        found = self._loaded.get(folder)
        if found is None:
            with self._lock:
                found = self._loaded.get(folder)
                if found is None:
                    found = self._load(folder)
                    self._loaded[folder] = found
        return found


__all__ = ["MODEL_DIR", "LoadedOnce", "ModelError", "read_manifest", "sha256"]
