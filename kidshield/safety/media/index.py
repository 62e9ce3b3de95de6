"""Exact Hamming-distance search over 256-bit hashes (multi-index hashing in numpy).

Layout
------
* ``words``: the hashes as a C-contiguous ``uint64[N, 4]`` array (32 bytes per hash).
* Multi-index hashing: the 256 bits are cut into 16 substrings of 16 bits. For each substring
  the positions of all hashes are kept sorted by the substring value (``order``, ``uint32``)
  with a 65,537-entry offset table, so the hashes sharing a given 16-bit value are one slice.
* Pigeonhole: if two hashes differ in at most ``t`` bits, at least one of the 16 substrings
  differs in at most ``t // 16`` bits. Probing every substring with all values within that
  radius (radius 1 = 17 probes per substring for ``t <= 31``) yields a candidate set that is
  guaranteed to contain every true match; candidates are then verified with a popcount.
  Results are therefore exact, not approximate. Thresholds of 48 and more fall back to a
  full scan (still exact, just slower).
* Incremental additions go to a small ``delta`` array that is scanned in full; when it grows
  past ``delta_limit`` it is merged into a freshly built main index, in a background thread
  by default. Searches keep using the old main index plus the delta until the swap, so every
  addition is matchable immediately and no addition waits for a rebuild.

Memory: 32 bytes (hash) + 64 bytes (16 x uint32 order) + 8 bytes (id) = 104 bytes per hash,
about 1.0 GiB for 10 million hashes (a rebuild temporarily needs a second copy).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kidshield.errors import InputError

WORDS = 4  # uint64 words per 256-bit hash
SUBSTRINGS = 16  # 16-bit substrings per hash
BUCKETS = 1 << 16
MAX_PROBE_RADIUS = 2  # beyond this a full scan is cheaper than probing

Words = NDArray[np.uint64]
Ids = NDArray[np.int64]


def hex_to_words(hexes: Sequence[str]) -> Words:
    """64-char hex strings to a ``uint64[N, 4]`` array (byte order is irrelevant to Hamming)."""
    if not hexes:
        return np.zeros((0, WORDS), dtype=np.uint64)
    try:
        raw = bytes.fromhex("".join(hexes))
    except ValueError as exc:
        raise InputError(f"not a hexadecimal hash list: {exc}") from exc
    if len(raw) != 32 * len(hexes):
        raise InputError("every hash must be exactly 64 hexadecimal characters")
    return np.frombuffer(raw, dtype=np.uint64).reshape(len(hexes), WORDS).copy()


def words_to_hex(words: Words) -> list[str]:
    raw = np.ascontiguousarray(words, dtype=np.uint64).tobytes()
    return [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


def popcount_distances(words: Words, query: Words) -> NDArray[np.int16]:
    """Hamming distance from ``query`` (shape ``[4]``) to every row of ``words``.

    Written for speed on a few thousand rows: an in-place XOR and column-wise adds are several
    times faster than ``.sum(axis=1)`` on the tiny inner dimension.
    """
    x = np.bitwise_xor(words, query)
    counts = np.bitwise_count(x)
    dist = counts[:, 0].astype(np.int16)
    dist += counts[:, 1]
    dist += counts[:, 2]
    dist += counts[:, 3]
    return dist


def _gathered_distances(words: Words, rows: NDArray[np.uint32], query: Words) -> NDArray[np.int16]:
    picked = np.take(words, rows, axis=0)
    np.bitwise_xor(picked, query, out=picked)
    counts = np.bitwise_count(picked)
    dist = counts[:, 0].astype(np.int16)
    dist += counts[:, 1]
    dist += counts[:, 2]
    dist += counts[:, 3]
    return dist


def _probe_masks(radius: int) -> NDArray[np.int64]:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(16), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


_MASKS = {r: _probe_masks(r) for r in range(MAX_PROBE_RADIUS + 1)}


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    distance: int


class _MultiIndex:
    """The immutable main part: hashes, ids and the 16 sorted substring tables."""

    def __init__(self, words: Words, ids: Ids) -> None:
        self.words = np.ascontiguousarray(words, dtype=np.uint64)
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        n = len(self.words)
        if n >= 2**32:
            raise ValueError("at most 2**32 - 1 hashes per index")
        subs = self.words.view(np.uint16).reshape(n, SUBSTRINGS)
        self.order = np.empty((SUBSTRINGS, n), dtype=np.uint32)
        self.offsets = np.empty((SUBSTRINGS, BUCKETS + 1), dtype=np.int64)
        for j in range(SUBSTRINGS):
            keys = subs[:, j]
            self.order[j] = np.argsort(keys, kind="stable")
            self.offsets[j, 0] = 0
            np.cumsum(np.bincount(keys, minlength=BUCKETS), out=self.offsets[j, 1:])
        self._flat_offsets = self.offsets.reshape(-1)
        self._flat_order = self.order.reshape(-1)
        self._row_base = (np.arange(SUBSTRINGS, dtype=np.int64) * (BUCKETS + 1))[:, None]
        self._order_base = (np.arange(SUBSTRINGS, dtype=np.int64) * n)[:, None]

    def __len__(self) -> int:
        return len(self.words)

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.ids.nbytes + self.order.nbytes + self.offsets.nbytes)

    def candidates(self, query: Words, radius: int) -> NDArray[np.uint32]:
        """Positions of all hashes sharing a substring within ``radius`` bits of the query's."""
        qsubs = query.view(np.uint16).astype(np.int64)  # [16]
        keys = qsubs[:, None] ^ _MASKS[radius][None, :]  # [16, K]
        at = keys + self._row_base
        starts = self._flat_offsets[at]
        lengths = self._flat_offsets[at + 1] - starts
        starts = (starts + self._order_base).reshape(-1)
        lengths = lengths.reshape(-1)
        keep = lengths > 0
        starts, lengths = starts[keep], lengths[keep]
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, dtype=np.uint32)
        ends = np.cumsum(lengths)
        positions = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
        found: NDArray[np.uint32] = self._flat_order[positions]
        return found

    def search(self, query: Words, threshold: int) -> tuple[Ids, NDArray[np.int16]]:
        if len(self.words) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int16)
        radius = threshold // SUBSTRINGS
        if radius > MAX_PROBE_RADIUS:
            dist = popcount_distances(self.words, query)
            rows = np.flatnonzero(dist <= threshold)
            return self.ids[rows], dist[rows]
        cand = self.candidates(query, radius)
        dist = _gathered_distances(self.words, cand, query)
        hit = dist <= threshold
        rows, first = np.unique(cand[hit], return_index=True)
        return self.ids[rows], dist[hit][first]


_EMPTY_MAIN: _MultiIndex | None = None


def _empty_main() -> _MultiIndex:
    global _EMPTY_MAIN
    if _EMPTY_MAIN is None:
        _EMPTY_MAIN = _MultiIndex(np.zeros((0, WORDS), np.uint64), np.zeros(0, np.int64))
    return _EMPTY_MAIN


class HammingIndex:
    """Exact Hamming-distance search over 256-bit hashes with cheap incremental additions.

    ``search`` is safe to call from many threads while another thread calls ``add``.
    """

    def __init__(
        self,
        words: Words | None = None,
        ids: Iterable[int] | Ids | None = None,
        *,
        delta_limit: int = 16_384,
        background: bool = True,
    ) -> None:
        self.delta_limit = delta_limit
        self.background = background
        self._lock = threading.Lock()
        self._compacting = threading.Lock()
        self._main = _empty_main()
        self._dwords = np.zeros((1024, WORDS), dtype=np.uint64)
        self._dids = np.zeros(1024, dtype=np.int64)
        self._dn = 0
        self._builder: threading.Thread | None = None
        self.rebuilds = 0
        if words is not None and len(words):
            id_array = (
                np.arange(len(words), dtype=np.int64)
                if ids is None
                else np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64)
            )
            self._main = _MultiIndex(_check_words(words), id_array)

    # -- size -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._main) + self._dn

    @property
    def delta_size(self) -> int:
        return self._dn

    @property
    def nbytes(self) -> int:
        return self._main.nbytes + int(self._dwords.nbytes + self._dids.nbytes)

    # -- writing ----------------------------------------------------------------------------
    def add(self, words: Words, ids: Iterable[int] | Ids) -> None:
        """Add hashes; they are searchable as soon as this returns."""
        words = _check_words(words)
        id_array = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if len(id_array) != len(words):
            raise ValueError("one id per hash")
        if not len(words):
            return
        with self._lock:
            need = self._dn + len(words)
            if need > len(self._dwords):
                cap = max(need, 2 * len(self._dwords))
                grown_w = np.zeros((cap, WORDS), dtype=np.uint64)
                grown_i = np.zeros(cap, dtype=np.int64)
                grown_w[: self._dn] = self._dwords[: self._dn]
                grown_i[: self._dn] = self._dids[: self._dn]
                self._dwords, self._dids = grown_w, grown_i
            self._dwords[self._dn : need] = words
            self._dids[self._dn : need] = id_array
            self._dn = need  # published last: readers only look at rows below _dn
            due = self._dn > self.delta_limit and self._builder is None
        if len(words) >= self.delta_limit:
            self.compact()  # a bulk load: build now rather than scan a huge delta meanwhile
        elif due:
            if self.background:
                self._start_background_compaction()
            else:
                self.compact()

    def compact(self) -> None:
        """Merge the delta into a newly built main index (synchronously)."""
        with self._compacting:  # one merge at a time; searches and adds go on meanwhile
            self._compact()

    def _compact(self) -> None:
        with self._lock:
            main, dn = self._main, self._dn
            dwords, dids = self._dwords[:dn].copy(), self._dids[:dn].copy()
        if dn == 0:
            return
        built = _MultiIndex(np.concatenate([main.words, dwords]), np.concatenate([main.ids, dids]))
        with self._lock:
            # Rows added while we were building move to a fresh buffer: readers may still hold
            # the old one (with the old main index), so it must not change under them.
            rest = self._dn - dn
            cap = max(1024, 2 * rest)
            fresh_w = np.zeros((cap, WORDS), dtype=np.uint64)
            fresh_i = np.zeros(cap, dtype=np.int64)
            fresh_w[:rest] = self._dwords[dn : self._dn]
            fresh_i[:rest] = self._dids[dn : self._dn]
            self._main, self._dwords, self._dids, self._dn = built, fresh_w, fresh_i, rest
            self.rebuilds += 1

    def _start_background_compaction(self) -> None:
        def run() -> None:
            try:
                self.compact()
            finally:
                with self._lock:
                    self._builder = None

        with self._lock:
            if self._builder is not None:
                return
            self._builder = threading.Thread(target=run, name="hash-index-compaction", daemon=True)
            self._builder.start()

    def wait(self) -> None:
        """Block until a background compaction (if any) has finished."""
        builder = self._builder
        if builder is not None:
            builder.join()

    # -- reading ----------------------------------------------------------------------------
    def search(self, query: Words, threshold: int) -> list[Hit]:
        """All ids whose hash is within ``threshold`` bits of ``query``, nearest first."""
        if threshold < 0:
            raise InputError("threshold must be 0 or more")
        q = np.ascontiguousarray(query, dtype=np.uint64).reshape(WORDS)
        with self._lock:  # a consistent snapshot; the search itself runs unlocked
            main, dwords, dids, dn = self._main, self._dwords, self._dids, self._dn
        ids, dist = main.search(q, threshold)
        hits = [Hit(int(i), int(d)) for i, d in zip(ids, dist, strict=True)]
        if dn:
            ddist = popcount_distances(dwords[:dn], q)
            rows = np.flatnonzero(ddist <= threshold)
            hits.extend(Hit(int(dids[r]), int(ddist[r])) for r in rows)
        hits.sort(key=lambda h: (h.distance, h.id))
        return hits

    def search_hex(self, hex_hash: str, threshold: int) -> list[Hit]:
        return self.search(hex_to_words([hex_hash])[0], threshold)


def _check_words(words: Words) -> Words:
    array = np.ascontiguousarray(words, dtype=np.uint64)
    if array.ndim != 2 or array.shape[1] != WORDS:
        raise ValueError(f"expected a uint64[N, {WORDS}] array, got shape {array.shape}")
    return array
