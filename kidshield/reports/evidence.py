"""Tamper-evident evidence: each record stores ``sha256(prev_hash + canonical JSON)`` of
itself, so changing, removing or reordering any record breaks every link after it.

Retention may purge a record's *content* (after the configured period, never under legal hold);
its digests stay, so the chain still verifies and shows that something was there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kidshield.storage.protocols import GENESIS, EvidenceRecord

MIN_RETENTION_DAYS = 365


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

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify(records: Iterable[EvidenceRecord]) -> ChainReport:
    """Walk the chain in id order; name the first record that was modified, removed or moved."""
    prev = GENESIS
    count = purged = 0
    for rec in records:
        count += 1
        rid = rec.id if rec.id is not None else -1
        if rec.prev_hash != prev:
            return ChainReport(count, purged, rid, "does not link to the record before it "
                               "(a record was removed, inserted or reordered)")
        if rec.content is None:
            purged += 1
        elif sha256_hex(rec.content) != rec.content_sha256:
            return ChainReport(count, purged, rid, "its content was changed")
        expected = link_hash(rec.prev_hash, rec.case_id, rec.at, rec.kind, rec.content_sha256)
        if expected != rec.record_hash:
            return ChainReport(count, purged, rid, "its fields or hash were changed")
        prev = rec.record_hash
    return ChainReport(count, purged)
