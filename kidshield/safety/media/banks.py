"""Hash banks: named sets of hashes with a kind, a threshold and an in-memory index each.

``BankService`` is the one place that creates banks, adds hashes and answers "does this hash
match?". Banks of kind ``negative`` hold hashes of known false positives: a hit in any enabled
negative bank cancels every positive match for the same content. Every positive match (also a
cancelled one) becomes a ``MediaMatchRecord`` naming the time, bank, distance, hash and caller.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kidshield.clock import Clock
from kidshield.errors import Conflict, InputError, NotFound
from kidshield.safety.media.formats import (
    MAX_BY,
    MAX_REFERENCE,
    MAX_SOURCE,
    HashListFormat,
    Problem,
    export_lines,
    parse,
)
from kidshield.safety.media.hashing import DEFAULT_MIN_QUALITY, ImageHashes, PdqHash, hash_image
from kidshield.safety.media.index import HammingIndex, hex_to_words
from kidshield.safety.media.results import BankMatch, BankSummary, ImportReport, MatchResult
from kidshield.safety.media.signal import PdqSignal
from kidshield.safety.media.store import BankHash, MediaBank, MediaBankStore, MediaMatchRecord

__all__ = [
    "BANK_KINDS",
    "BankError",
    "BankMatch",
    "BankService",
    "BankSummary",
    "ImportReport",
    "MatchResult",
]

BANK_KINDS = ("match", "negative")
_BANK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


# free text is stored in the database and shown on every listing: a 900 KB description was
MAX_DESCRIPTION = 2000


def check_length(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise BankError(f"{field}: at most {limit:,} characters (this one has {len(value):,})",
                        field=field)


class BankError(InputError):
    """A bank operation was asked for with unusable input (bad name, kind, threshold...)."""


class NoSuchBank(BankError, NotFound):
    """There is no bank of that name."""


class BankExists(BankError, Conflict):
    """A bank of that name exists already."""


@dataclass(slots=True)
class _LoadedBank:
    bank: MediaBank
    index: HammingIndex
    last_id: int = 0


class BankService:
    """Banks backed by a ``MediaBankStore``, with one in-memory ``HammingIndex`` per bank.

    Hashes added through this service are matchable as soon as the call returns. Hashes added by
    another process (e.g. ``kidshield media bank import`` while the server runs) are picked up by
    ``sync()``, which lookups call at most every ``sync_interval``.
    """

    def __init__(
        self,
        store: MediaBankStore,
        clock: Clock,
        *,
        min_quality: int = DEFAULT_MIN_QUALITY,
        sync_interval: timedelta = timedelta(seconds=2),
        index_background: bool = True,
        preload: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.min_quality = min_quality
        self.sync_interval = sync_interval
        self._index_background = index_background
        self._lock = threading.RLock()
        self._loaded: dict[int, _LoadedBank] = {}
        self._synced_at: datetime | None = None
        self._active = preload  # indexes are only built once something is matched
        if preload:
            self.sync()

    # -- banks ------------------------------------------------------------------------------
    def create_bank(
        self,
        name: str,
        *,
        kind: str = "match",
        threshold: int = PdqSignal.default_threshold,
        description: str = "",
        created_by: str = "",
    ) -> MediaBank:
        check_length("description", description, MAX_DESCRIPTION)
        check_length("created_by", created_by, MAX_BY)
        if not _BANK_NAME.fullmatch(name):
            raise BankError(
                f"bank name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
                "(up to 128 characters, starting with a letter or digit)", field="name"
            )
        if kind not in BANK_KINDS:
            raise BankError(f"bank kind {kind!r} is not valid: use 'match' or 'negative'",
                            field="kind")
        if not 0 <= threshold <= PdqSignal.max_distance:
            raise BankError(f"threshold {threshold} is not valid: use 0 to 256 (PDQ default 31)",
                            field="threshold")
        if self.store.bank(name) is not None:
            raise BankExists(f"a bank named {name!r} already exists", field="name")
        bank = MediaBank(
            name=name,
            kind=kind,
            threshold=threshold,
            signal_type=PdqSignal.name,
            description=description,
            created_by=created_by,
        )
        created = self.store.create_bank(bank, self.clock.now())
        self.sync(force=True)
        return created

    def banks(self) -> list[BankSummary]:
        return [BankSummary(b, self.store.count(b.id or 0)) for b in self.store.banks()]

    def bank(self, name: str) -> MediaBank:
        bank = self.store.bank(name)
        if bank is None or bank.id is None:
            known = ", ".join(b.name for b in self.store.banks()) or "none yet"
            raise NoSuchBank(f"there is no bank named {name!r} (banks: {known})", field="name")
        return bank

    def set_enabled(self, name: str, enabled: bool) -> MediaBank:
        self.bank(name)
        self.store.set_enabled(name, enabled)
        self.sync(force=True)
        return self.bank(name)

    # -- adding -----------------------------------------------------------------------------
    def add_hashes(self, name: str, rows: Sequence[tuple[int, BankHash]]) -> ImportReport:
        """Add (line, hash) rows; rows already in the bank come back as duplicates."""
        bank = self.bank(name)
        assert bank.id is not None
        report = ImportReport(bank=name)
        present = self.store.existing(bank.id, [h.hash for _, h in rows])
        fresh: list[BankHash] = []
        first_seen: dict[str, int] = {}
        for line, h in rows:
            if h.hash in present:
                report.problems.append(
                    Problem(line, "duplicate", f"{h.hash} is already in bank {name!r}")
                )
            elif h.hash in first_seen:
                report.problems.append(
                    Problem(line, "duplicate", f"{h.hash} already given at {first_seen[h.hash]}")
                )
            else:
                first_seen[h.hash] = line
                fresh.append(h)
        report.added = self.store.add_hashes(bank.id, fresh, self.clock.now())
        self.sync(force=True)
        return report

    def add(
        self,
        name: str,
        hashes: Iterable[str],
        *,
        source: str = "",
        added_by: str = "",
        reference_id: str = "",
    ) -> ImportReport:
        """Add hex hashes (validated; bad ones reported by position, 1-based)."""
        check_length("source", source, MAX_SOURCE)
        check_length("reference_id", reference_id, MAX_REFERENCE)
        check_length("added_by", added_by, MAX_BY)
        rows: list[tuple[int, BankHash]] = []
        problems: list[Problem] = []
        for position, text in enumerate(hashes, start=1):
            try:
                canonical = PdqSignal.validate(text)
            except InputError as exc:
                problems.append(Problem(position, "malformed", str(exc)))
                continue
            rows.append((position, BankHash(canonical, source, reference_id, None, added_by)))
        report = self.add_hashes(name, rows)
        report.problems[:0] = problems
        report.problems.sort(key=lambda p: p.line)
        return report

    def import_list(
        self,
        name: str,
        lines: Iterable[str],
        fmt: HashListFormat,
        *,
        source: str = "",
        added_by: str = "",
        strict: bool = False,
    ) -> ImportReport:
        """Import a hash list; rows that cannot be used are reported by line. ``strict``:
        when any row is rejected (not a duplicate), nothing is imported."""
        # the default fills rows that name no source, so it has their limit
        check_length("source", source, MAX_SOURCE)
        check_length("added_by", added_by, MAX_BY)
        self.bank(name)
        parsed = parse(lines, fmt, source=source, added_by=added_by)
        if strict and any(p.kind != "duplicate" for p in parsed.problems):
            return ImportReport(name, 0, sorted(parsed.problems, key=lambda p: p.line))
        report = self.add_hashes(name, parsed.rows)
        report.problems = sorted([*parsed.problems, *report.problems], key=lambda p: p.line)
        return report

    def export(self, name: str, fmt: HashListFormat) -> Iterator[str]:
        bank = self.bank(name)
        assert bank.id is not None
        return export_lines(self.store.hashes(bank.id), fmt)

    # -- index ------------------------------------------------------------------------------
    def sync(self, *, force: bool = False) -> None:
        """Load banks and any hashes added since the last sync into the indexes."""
        if not self._active:
            return
        now = self.clock.now()
        if not force and self._synced_at is not None and now - self._synced_at < self.sync_interval:
            return
        with self._lock:
            for bank in self.store.banks():
                assert bank.id is not None
                loaded = self._loaded.get(bank.id)
                if loaded is None:
                    loaded = _LoadedBank(bank, HammingIndex(background=self._index_background))
                    self._loaded[bank.id] = loaded
                loaded.bank = bank
                new = self.store.hash_ids(bank.id, loaded.last_id)
                if new:
                    loaded.index.add(hex_to_words([h for _, h in new]), [i for i, _ in new])
                    loaded.last_id = new[-1][0]
            self._synced_at = now

    # -- matching ---------------------------------------------------------------------------
    def lookup(
        self,
        hash_hex: str,
        *,
        quality: int | None = None,
        caller: str = "",
        variants: Sequence[PdqHash] = (),
    ) -> MatchResult:
        """Match one hash (plus optional rotation/flip variants) against all enabled banks."""
        query = PdqSignal.validate(hash_hex)
        if quality is not None and quality < self.min_quality:
            return MatchResult(
                hash=query,
                quality=quality,
                skipped=f"quality {quality} is below {self.min_quality}: too little detail to "
                "match reliably",
            )
        if not self._active:
            self._active = True
            self.sync(force=True)
        self.sync()
        probes = [PdqHash(query, quality or 0), *variants]
        positive: dict[tuple[str, int], BankMatch] = {}
        negative: dict[tuple[str, int], BankMatch] = {}
        hit_ids: list[int] = []
        raw: list[tuple[MediaBank, int, int, str]] = []
        with self._lock:
            loaded = [lb for lb in self._loaded.values() if lb.bank.enabled]
        probe_words = hex_to_words([probe.hex for probe in probes])  # once, not per bank
        for lb in loaded:
            for probe, words in zip(probes, probe_words, strict=True):
                for hit in lb.index.search(words, lb.bank.threshold):
                    raw.append((lb.bank, hit.id, hit.distance, probe.variant))
                    hit_ids.append(hit.id)
        details = self.store.hashes_by_id(hit_ids) if hit_ids else {}
        for bank, hash_id, distance, variant in raw:
            meta = details.get(hash_id)
            match = BankMatch(
                bank=bank.name,
                kind=bank.kind,
                hash="" if meta is None else meta.hash,
                distance=distance,
                variant=variant,
                reference_id="" if meta is None else meta.reference_id,
                source="" if meta is None else meta.source,
                bank_hash_id=hash_id,
            )
            target = negative if bank.kind == "negative" else positive
            key = (bank.name, hash_id)
            if key not in target or target[key].distance > distance:
                target[key] = match
        order = sorted(positive.values(), key=lambda m: (m.distance, m.bank, m.hash))
        negatives = tuple(sorted(negative.values(), key=lambda m: (m.distance, m.bank, m.hash)))
        cancelled_by = negatives[0].bank if negatives else None
        self._record(query, quality, caller, order, cancelled_by)
        if negatives:
            return MatchResult(query, quality, cancelled=tuple(order), negative=negatives)
        return MatchResult(query, quality, matches=tuple(order))

    def match_image(
        self,
        data: bytes,
        *,
        dihedral: bool = False,
        caller: str = "",
        max_pixels: int | None = None,
        max_side: int | None = None,
    ) -> MatchResult:
        """Hash image bytes in memory and look the hash up; the bytes are not kept."""
        hashes: ImageHashes = hash_image(
            data, dihedral=dihedral, max_pixels=max_pixels, max_side=max_side
        )
        del data
        return self.lookup(
            hashes.original.hex,
            quality=hashes.original.quality,
            caller=caller,
            variants=hashes.variants,
        )

    def _record(
        self,
        query: str,
        quality: int | None,
        caller: str,
        matches: Sequence[BankMatch],
        cancelled_by: str | None,
    ) -> None:
        if not matches:
            return
        now = self.clock.now()
        ids = {b.bank.name: b.bank.id for b in self._loaded.values()}
        self.store.record_matches(
            [
                MediaMatchRecord(
                    at=now,
                    bank_id=ids[m.bank] or 0,
                    bank_hash_id=m.bank_hash_id,
                    query_hash=query,
                    matched_hash=m.hash,
                    distance=m.distance,
                    quality=quality,
                    variant=m.variant,
                    caller=caller,
                    cancelled_by=cancelled_by,
                )
                for m in matches
            ]
        )
