"""The key of reporters' e-mail digests: 32 random bytes, created once beside the database in
the data folder, readable by its owner only, and never stored in the database, so a copy of
the database alone cannot be searched for a known address."""

from __future__ import annotations

import secrets
from pathlib import Path

from kidshield.errors import KidshieldError
from kidshield.reports.keyfile import create_private


class ContactKeyError(KidshieldError):
    """The contact key file is unreadable or not a key."""


def load_contact_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ContactKeyError(f"{path}: cannot read the contact key ({exc})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ContactKeyError(f"{path}: not a contact key (64 hex digits expected)")
    return key


def load_or_create_contact_key(path: Path) -> bytes:
    """The key at ``path``, created (mode 0600) when missing. Losing it makes every stored
    reporter digest unmatchable (each reporter then counts as new), so back it up with the
    data folder."""
    if path.exists():
        return load_contact_key(path)
    key = secrets.token_bytes(32)
    if not create_private(path, (key.hex() + "\n").encode("ascii")):
        return load_contact_key(path)
    return key
