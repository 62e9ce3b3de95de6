"""Who sends notices, pure rules: trusted flaggers known by a key (DSA Art. 22), other
notifiers known by a digest of their contact address, and misuse handling (Art. 23): a source
whose notices keep being decided as manifestly unfounded is warned first, then has its notices
held, unprocessed, for a while."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

TRUSTED_FLAGGER = "trusted_flagger"
NOTIFIER = "notifier"


@dataclass(frozen=True, slots=True)
class MisusePolicy:
    warn_after: int = 3
    suspend_after: int = 5
    window: timedelta = timedelta(days=180)
    suspend_for: timedelta = timedelta(days=30)


def misuse_step(status: str, unfounded: int, policy: MisusePolicy,
                now: datetime) -> tuple[str, datetime | None] | None:
    """The change due for a source with ``unfounded`` manifestly unfounded notices in the
    window: ("warned", None), ("suspended", until), or None."""
    if unfounded >= policy.suspend_after and status != "suspended":
        return "suspended", now + policy.suspend_for
    if unfounded >= policy.warn_after and status == "active":
        return "warned", None
    return None


def is_suspended(suspended_until: datetime | None, now: datetime) -> bool:
    return suspended_until is not None and suspended_until > now


def new_flagger_key() -> str:
    """A key for a trusted flagger's API submissions (shown once, stored as a digest)."""
    return "ksf_" + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def keyed(key: bytes, sha256_hex: str) -> str:
    """HMAC-SHA256 under the server's contact key of a contact's plain SHA-256 (hex).
    Keyed over the old digest, not the address, so rows stored before the key existed can be
    keyed too (migration 0014) and agree with new ones without any address being kept."""
    return hmac.new(key, sha256_hex.encode("ascii"), hashlib.sha256).hexdigest()


def _address(contact: str | None) -> str | None:
    text = (contact or "").strip().lower()
    if "@" not in text or " " in text or text.startswith("@") or text.endswith("@"):
        return None
    return text


def contact_digest(contact: str | None, key: bytes) -> str | None:
    """A keyed digest of an e-mail contact (the same address in any case gives the same
    digest); None for anything that is not an e-mail address. Keyed so that whoever holds
    the database alone cannot test a known address (or a dictionary of them) against it."""
    text = _address(contact)
    return None if text is None else keyed(key, digest("contact:" + text))


def email_of(contact: str | None) -> str | None:
    """The contact if it is an e-mail address we can write to."""
    return (contact or "").strip() if _address(contact) else None
