"""Secret key files the reports service makes for itself on first start (the evidence signing
key, the reporter-digest key): written once, readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def create_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file at ``path`` (mode 0600). False when the file exists:
    another process starting at the same time made it first, and its key is the one to read
    (O_EXCL, so two processes never both write a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return True
