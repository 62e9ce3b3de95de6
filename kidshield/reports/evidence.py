"""Tamper-evident evidence: each record stores ``sha256(prev_hash + canonical JSON)`` of
itself, so changing, removing or reordering any record breaks every link after it; the chain
head (record count and newest hash) is signed with the server's Ed25519 key after every
append (``signing.py``), so deleting the newest records or recomputing the whole chain shows.

Retention may purge a record's *content* (after the configured period, never under legal hold
or while the case or its escalation is open); its digests stay, and a ``retention_purge``
record appended to the chain names what was purged, so content removed any other way shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kidshield.reports.signing import key_id, verify_head
from kidshield.reports.store import GENESIS, EvidenceHead, EvidenceRecord

MIN_RETENTION_DAYS = 365
PURGE_KIND = "retention_purge"


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, case_id: int, at: datetime, kind: str, content_sha256: str) -> str:
    """The record hash: sha256 of the previous hash followed by the canonical JSON of the
    record's own fields (its content enters through the content digest)."""
    record = {
        "at": at.isoformat(),
        "case_id": case_id,
        "content_sha256": content_sha256,
        "kind": kind,
    }
    return sha256_hex(prev_hash + canonical_json(record))


@dataclass(frozen=True, slots=True)
class ChainReport:
    records: int
    purged: int
    first_bad_id: int | None = None
    problem: str = ""
    head: str | None = None  # the newest record hash
    signed: bool = False  # the head matches a signature made with the server's key

    @property
    def ok(self) -> bool:
        return not self.problem


def _declared_purges(rec: EvidenceRecord) -> set[int]:
    if rec.kind != PURGE_KIND or rec.content is None:
        return set()
    try:
        ids = json.loads(rec.content).get("purged", [])
    except (ValueError, AttributeError):
        return set()
    return {int(i) for i in ids if isinstance(i, int)}


def verify(
    records: Iterable[EvidenceRecord],
    *,
    head: EvidenceHead | None = None,
    public: Ed25519PublicKey | None = None,
    held_cases: Iterable[int] = (),
    audited_ids: Sequence[int] = (),
) -> ChainReport:
    """Walk the chain in id order and name the first record that was modified, removed, moved
    or emptied; then check the signed head (with ``public``; without it the head is not
    checked and ``signed`` is False) and that every record the audit trail names is there."""
    chain = list(records)
    prev = GENESIS
    purged = 0
    declared: set[int] = set()
    emptied: list[EvidenceRecord] = []
    for count, rec in enumerate(chain, start=1):
        rid = rec.id if rec.id is not None else -1
        if rec.prev_hash != prev:
            return ChainReport(count, purged, rid, "does not link to the record before it "
                               "(a record was removed, inserted or reordered)")
        if rec.content is None:
            purged += 1
            emptied.append(rec)
        elif sha256_hex(rec.content) != rec.content_sha256:
            return ChainReport(count, purged, rid, "its content was changed")
        expected = link_hash(rec.prev_hash, rec.case_id, rec.at, rec.kind, rec.content_sha256)
        if expected != rec.record_hash:
            return ChainReport(count, purged, rid, "its fields or hash were changed")
        declared |= _declared_purges(rec)
        prev = rec.record_hash
    total = len(chain)
    newest = chain[-1].record_hash if chain else None
    held = set(held_cases)
    for rec in emptied:
        if rec.id not in declared:
            why = " although its case is on legal hold" if rec.case_id in held else ""
            return ChainReport(total, purged, rec.id, "its content was removed outside the "
                               f"retention job{why}", newest)
    ids = {rec.id for rec in chain}
    missing = sorted(set(audited_ids) - ids)
    if missing:
        return ChainReport(total, purged, missing[0], "the audit trail records preserving "
                           "it, but it is not in the chain (records were deleted)", newest)
    if public is None:
        return ChainReport(total, purged, None, "", newest, signed=False)
    return _check_head(chain, purged, head, public)


def _check_head(chain: list[EvidenceRecord], purged: int, head: EvidenceHead | None,
                public: Ed25519PublicKey) -> ChainReport:
    total = len(chain)
    newest = chain[-1].record_hash if chain else None

    def broken(problem: str) -> ChainReport:
        return ChainReport(total, purged, None, problem, newest)

    if head is None:
        return broken("the chain has records but no signed head (the heads were deleted)") \
            if chain else ChainReport(0, 0, None, "", None, signed=True)
    if head.key_id != key_id(public):
        return broken(f"the newest head was signed with key {head.key_id}, not this server's "
                      f"key {key_id(public)}")
    if not verify_head(public, head.records, head.head_hash, head.signature):
        return broken("the newest signed head does not verify: it was altered")
    if head.records > total:
        return broken(f"the chain has {total} records but its signed head says "
                      f"{head.records}: records were deleted from the end")
    if head.records < total:
        return broken(f"{total - head.records} record(s) after the last signed head: added "
                      "without the signing key")
    if newest != head.head_hash:
        return broken("the newest record is not the one that was signed: the chain was "
                      "rewritten")
    return ChainReport(total, purged, None, "", newest, signed=True)
