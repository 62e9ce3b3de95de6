"""The key that signs the evidence chain: Ed25519, created once when the server is set up,
kept in the data folder readable by its owner only. Its public key is exported so an authority
(or anyone holding an export) can check a signed chain head without trusting this server.

What is signed after every appended record is the chain head: the number of records and the
newest record hash. Deleting the newest records, or recomputing the whole chain, then no longer
matches the last signature, and nobody without the private key can make a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from kidshield.errors import KidshieldError
from kidshield.reports.keyfile import create_private

HEAD_FORMAT = "kidshield-evidence-head/1"


class SigningKeyError(KidshieldError):
    """The evidence signing key is missing, unreadable or not an Ed25519 key."""


def head_message(records: int, head_hash: str) -> bytes:
    """The bytes a head signature covers (one spelling, so anyone can rebuild them)."""
    body = {"format": HEAD_FORMAT, "head": head_hash, "records": records}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (``kidshield report public-key`` writes one)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{path}: not a readable public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class EvidenceSigner:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def seal(self, records: int, head_hash: str) -> tuple[str, str]:
        """(key id, hex signature) of a chain head; the store calls this while appending."""
        return self.key_id, self.private.sign(head_message(records, head_hash)).hex()

    @classmethod
    def load(cls, path: Path) -> EvidenceSigner:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SigningKeyError(
                f"{path}: no evidence signing key. It is created when `kidshield serve` first "
                "starts (or run `kidshield report keygen`)."
            ) from None
        except OSError as exc:
            raise SigningKeyError(f"{path}: cannot read the signing key ({exc})") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError as exc:
            raise SigningKeyError(f"{path}: not a usable private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path}: not an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> EvidenceSigner:
        """The key at ``path``, created (mode 0600, public key beside it) when missing."""
        if path.exists():
            return cls.load(path)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        if not create_private(path, pem):
            return cls.load(path)
        path.with_suffix(".pub").write_text(public_pem(key.public_key()), encoding="ascii")
        return cls(key)


def verify_head(public: Ed25519PublicKey, records: int, head_hash: str, signature: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature), head_message(records, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_head_dict(at: datetime, records: int, head_hash: str, key: str,
                     signature: str) -> dict[str, object]:
    """How a signed head appears in exports."""
    return {"format": HEAD_FORMAT, "records": records, "head": head_hash, "at": at.isoformat(),
            "key_id": key, "signature": signature}
