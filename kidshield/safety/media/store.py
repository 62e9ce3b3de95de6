"""What the hash banks need from storage: the records they keep and the store interface
(``kidshield.storage.media_sql`` implements it over SQLite or PostgreSQL). Hashes are 64-char
lower-case hex; image bytes never get here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MediaBank:
    name: str
    kind: str = "match"  # match | negative
    threshold: int = 31
    enabled: bool = True
    signal_type: str = "pdq"
    description: str = ""
    created_at: datetime | None = None
    created_by: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class BankHash:
    hash: str
    source: str = ""
    reference_id: str = ""
    added_at: datetime | None = None
    added_by: str = ""
    bank_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MediaMatchRecord:
    at: datetime
    bank_id: int
    bank_hash_id: int | None
    query_hash: str
    matched_hash: str
    distance: int
    quality: int | None = None
    variant: str = "original"
    caller: str = ""
    cancelled_by: str | None = None
    id: int | None = None


class MediaBankStore(Protocol):
    def create_bank(self, bank: MediaBank, now: datetime) -> MediaBank: ...
    def bank(self, name: str) -> MediaBank | None: ...
    def banks(self) -> list[MediaBank]: ...
    def set_enabled(self, name: str, enabled: bool) -> bool: ...
    def existing(self, bank_id: int, hashes: Sequence[str]) -> set[str]: ...
    def add_hashes(self, bank_id: int, hashes: Sequence[BankHash], now: datetime) -> int: ...
    def hash_ids(self, bank_id: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(id, hex) of the bank's hashes with id > after_id, in id order (to build indexes)."""
        ...

    def hashes(self, bank_id: int) -> Iterator[BankHash]: ...
    def hashes_by_id(self, ids: Sequence[int]) -> dict[int, BankHash]: ...
    def count(self, bank_id: int) -> int: ...
    def record_matches(self, records: Sequence[MediaMatchRecord]) -> None: ...
    def match_records(self, limit: int = 100) -> list[MediaMatchRecord]: ...
