"""Domain names: normalisation, and suffix matching that scales to millions of names.

``example.com`` in a list matches ``example.com`` and every name below it. Two structures:

* ``SuffixMap``: a dict keyed by domain, for the small sets (a profile's allow list, services,
  helplines, bypass lists).
* ``DomainIndex``: the big block lists. It keeps no strings: each domain is reduced to a 64-bit
  hash (Python's own string hash, stable for the life of the process and its forked workers) in
  an open-addressing table held in compact arrays. 1,000,000 names cost about 40 MB, and a lookup
  is one hash and usually one probe per label.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import re
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:  # numpy builds the index; a process that only loads a saved one never needs it
    import numpy as np

import idna

from kidshield.errors import InputError

V = TypeVar("V")

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_ASCII_NAME_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                            r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def normalize_name(name: str) -> str:
    """Lower-case, strip the trailing dot, and turn an IDN into its punycode (A-label) form.

    Raises InputError with a short reason when the text is not a domain name.
    """
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise InputError("empty domain name")
    if text.isascii():
        text = text.lower()
        if _ASCII_NAME_RE.match(text):
            return text
        if text.startswith("*."):
            # name the covering domain itself: "'example.com' covers" for '*.games.example'
            # sent people looking for an example.com line (the family walk, session 16)
            raise InputError(f"{name!r}: wildcards are not needed, {text[2:]!r} covers "
                             "its subdomains")
        raise InputError(f"{name!r} is not a valid domain name")
    try:
        encoded = idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise InputError(f"{name!r} is not a valid internationalised domain name: {exc}") from exc
    return encoded.lower()


def suffixes(name: str) -> Iterator[str]:
    """``a.b.c`` -> ``a.b.c``, ``b.c``, ``c`` (most specific first)."""
    while True:
        yield name
        dot = name.find(".")
        if dot < 0:
            return
        name = name[dot + 1 :]


def covered_by(name: str, names: set[str] | frozenset[str]) -> bool:
    """True when ``name`` or one of its parents is in ``names`` (no generator: the resolver
    asks this for every new name)."""
    while True:
        if name in names:
            return True
        dot = name.find(".")
        if dot < 0:
            return False
        name = name[dot + 1 :]


class SuffixMap(Generic[V]):
    """Small suffix-matching map: the most specific listed suffix wins. Fixed once built
    (a reload builds new profiles and catalogs), so what is derived from a map, such as the
    engine's names of interest per profile, holds for as long as the map does."""

    __slots__ = ("_map",)

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._map: dict[str, V] = {}
        for domain, value in items:
            self._map.setdefault(domain, value)

    def match(self, name: str) -> tuple[str, V] | None:
        m = self._map
        while True:
            value = m.get(name)
            if value is not None:
                return name, value
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1 :]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.match(name) is not None

    def __len__(self) -> int:
        return len(self._map)

    def keys(self) -> Iterable[str]:
        return self._map.keys()


@dataclass(frozen=True, slots=True)
class IndexHit:
    """One list entry that matched: which domain, in which category, from which list and line."""

    domain: str
    category: int
    list_id: int
    line: int
    allow: bool


# Up to this many rows an index is built in plain Python (the shipped lists: about a thousand,
# well under 0.1 s): numpy, which the big lists need, costs the resolver about 15 MB of RSS
# for as long as it runs once imported.
SMALL_INDEX = 100_000


class DomainIndexBuilder:
    """Collects (domain, category, list, line, allow) rows as compact arrays, then freezes."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self._cats = array("H")
        self._lists = array("H")
        self._lines = array("I")
        self._allow = array("B")

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, domain: str, category: int, list_id: int, line: int, allow: bool = False) -> None:
        self._hashes.append(_h(domain))
        self._cats.append(category)
        self._lists.append(list_id)
        self._lines.append(line)
        self._allow.append(1 if allow else 0)

    def add_many(
        self, domains: list[str], category: int, list_id: int, lines: Iterable[int]
    ) -> None:
        """Bulk add for the hot path of list loading (plain block rules)."""
        self._hashes.extend([_h(d) for d in domains])
        n = len(domains)
        self._cats.extend(array("H", [category]) * n)
        self._lists.extend(array("H", [list_id]) * n)
        self._lines.extend(lines)
        self._allow.extend(bytes(n))

    def truncate(self, size: int) -> None:
        """Forget the rows added after the builder held ``size`` (a list that was rejected
        once parsed)."""
        for rows in (self._hashes, self._cats, self._lists, self._lines, self._allow):
            del rows[size:]

    def build(self) -> DomainIndex:
        if len(self._hashes) <= SMALL_INDEX:
            return DomainIndex._from_rows(self._hashes, self._cats, self._lists, self._lines,
                                          self._allow)
        import numpy as np

        return DomainIndex._from_arrays(
            np.frombuffer(self._hashes, dtype=np.int64) if len(self._hashes) else
            np.zeros(0, dtype=np.int64),
            np.frombuffer(self._cats, dtype=np.uint16) if len(self._cats) else
            np.zeros(0, dtype=np.uint16),
            np.frombuffer(self._lists, dtype=np.uint16) if len(self._lists) else
            np.zeros(0, dtype=np.uint16),
            np.frombuffer(self._lines, dtype=np.uint32) if len(self._lines) else
            np.zeros(0, dtype=np.uint32),
            np.frombuffer(self._allow, dtype=np.uint8) if len(self._allow) else
            np.zeros(0, dtype=np.uint8),
        )


def _table_mask(unique: int) -> int:
    """The slot mask of the open-addressing table for ``unique`` keys: load factor <= 0.5."""
    return (1 << max(4, int(unique * 2 - 1).bit_length())) - 1


def _h(domain: str) -> int:
    # 0 marks an empty slot; a domain that hashes to 0 is moved to 1 (a harmless collision).
    return hash(domain) or 1


class DomainIndex:
    """Immutable suffix index over millions of domains. Build with ``DomainIndexBuilder``.

    Layout: ``_slots`` is an open-addressing table (linear probing, load <= 0.5) of indexes
    into ``_keys``, the distinct domain hashes; ``_starts[u]:_starts[u+1]`` are the entries
    (category, list, line, allow flag) of distinct domain ``u``. All are flat buffers; lookups
    index them from Python, which is faster than going through numpy for single items.
    """

    __slots__ = ("_allow", "_cats", "_keys", "_lines", "_lists", "_mask", "_owners", "_slots",
                 "_starts", "size", "unique")

    def __init__(self) -> None:
        self._slots: Sequence[int] = array("i", [-1])
        self._keys: Sequence[int] = array("q")
        self._starts: Sequence[int] = array("I", [0])
        self._cats: Sequence[int] = array("H")
        self._lists: Sequence[int] = array("H")
        self._lines: Sequence[int] = array("I")
        self._allow: Sequence[int] = array("B")
        self._owners: tuple[object, ...] = ()
        self._mask = 0
        self.size = 0
        self.unique = 0

    @classmethod
    def empty(cls) -> DomainIndex:
        return cls()

    @classmethod
    def _from_arrays(
        cls,
        hashes: np.ndarray,
        cats: np.ndarray,
        lists: np.ndarray,
        lines: np.ndarray,
        allow: np.ndarray,
    ) -> DomainIndex:
        import numpy as np

        n = int(hashes.shape[0])
        if n == 0:
            return cls()
        # Group rows by hash so the entries of one domain are contiguous.
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        uniq, first = np.unique(sorted_hashes, return_index=True)
        del sorted_hashes
        u = int(uniq.shape[0])
        mask = _table_mask(u)
        slots = np.full(mask + 1, -1, dtype=np.int32)
        # Linear probing, placed in vectorised rounds. An item only moves past a slot that is
        # already taken, so the probe invariant of a one-by-one insertion holds.
        pos = (uniq & mask).astype(np.int64)
        pending = np.arange(u, dtype=np.int64)
        while pending.size:
            p = pos[pending]
            free = slots[p] == -1
            cand = pending[free]
            if cand.size:
                taken, idx = np.unique(p[free], return_index=True)
                winners = cand[idx]
                slots[taken] = winners.astype(np.int32)
                placed = np.zeros(u, dtype=bool)
                placed[winners] = True
                pending = pending[~placed[pending]]
                del placed
            pos[pending] = (pos[pending] + 1) & mask
        del pos, pending
        starts = np.append(first, n).astype(np.uint32)
        self = cls._adopt((slots, uniq, starts, np.ascontiguousarray(cats[order]),
                           np.ascontiguousarray(lists[order]),
                           np.ascontiguousarray(lines[order]),
                           np.ascontiguousarray(allow[order])), mask, n, u)
        release_free_memory()
        return self

    @classmethod
    def _from_rows(cls, hashes: array[int], cats: array[int], lists: array[int],
                   lines: array[int], allow: array[int]) -> DomainIndex:
        """The same layout as ``_from_arrays``, built one row at a time: a small index then
        costs no numpy in the process (about 15 MB of RSS), a big one would take three times
        as long (1,000,000 rows: about 2 s against 0.7 s)."""
        n = len(hashes)
        if n == 0:
            return cls()
        order = sorted(range(n), key=hashes.__getitem__)  # stable: a domain's rows in order
        keys = array("q")
        starts = array("I")
        last = None
        for position, row in enumerate(order):
            if hashes[row] != last:
                last = hashes[row]
                keys.append(last)
                starts.append(position)
        starts.append(n)
        u = len(keys)
        mask = _table_mask(u)
        slots = array("i", [-1]) * (mask + 1)
        for k, key in enumerate(keys):
            i = key & mask
            while slots[i] != -1:
                i = (i + 1) & mask
            slots[i] = k
        return cls._adopt((slots, keys, starts, array("H", [cats[r] for r in order]),
                           array("H", [lists[r] for r in order]),
                           array("I", [lines[r] for r in order]),
                           array("B", [allow[r] for r in order])), mask, n, u)

    @classmethod
    def _adopt(cls, owned: tuple[object, ...], mask: int, size: int, unique: int
               ) -> DomainIndex:
        """An index over built buffers (slots, keys, starts, cats, lists, lines, allow),
        kept alive by the index and read through memoryviews."""
        self = cls()
        self._owners = owned
        (self._slots, self._keys, self._starts, self._cats, self._lists, self._lines,
         self._allow) = [memoryview(cast(Any, a)) for a in owned]
        self._mask = mask
        self.size = size
        self.unique = unique
        return self

    def __len__(self) -> int:
        return self.size

    def _find(self, key: int) -> int:
        slots = self._slots
        keys = self._keys
        mask = self._mask
        i = key & mask
        while True:
            u = slots[i]
            if u < 0:
                return -1
            if keys[u] == key:
                return u
            i = (i + 1) & mask

    def contains_suffix(self, name: str) -> bool:
        """True when ``name`` or one of its parents is listed (as a block or allow rule)."""
        if not self.size:
            return False
        while True:
            if self._find(_h(name)) >= 0:
                return True
            dot = name.find(".")
            if dot < 0:
                return False
            name = name[dot + 1 :]

    def lookup(self, name: str) -> list[IndexHit]:
        """Every list entry matching ``name`` or a parent, most specific first."""
        hits: list[IndexHit] = []
        if not self.size:
            return hits
        starts = self._starts
        while True:
            u = self._find(_h(name))
            if u >= 0:
                for e in range(starts[u], starts[u + 1]):
                    hits.append(
                        IndexHit(name, self._cats[e], self._lists[e], self._lines[e],
                                 bool(self._allow[e]))
                    )
            dot = name.find(".")
            if dot < 0:
                return hits
            name = name[dot + 1 :]

    def memory_bytes(self) -> int:
        return sum(int(getattr(a, "nbytes", 0)) for a in self._arrays())

    def _arrays(self) -> tuple[Any, ...]:
        return (self._slots, self._keys, self._starts, self._cats, self._lists, self._lines,
                self._allow)

    # -- saving and loading ---------------------------------------------------------------
    # A saved index is mapped, not read: the pages are shared by every process that maps it
    # and the loading process never imports numpy. Keys are Python string hashes, so only a
    # process with the same PYTHONHASHSEED as the builder can use the file.

    def save(self, path: str) -> None:
        header = struct.pack(_HEADER, _MAGIC, self.size, self.unique, self._mask,
                             len(self._slots), _hash_seed_tag())
        with open(path, "wb") as out:
            out.write(header)
            for arr in self._arrays():
                data = bytes(arr) if len(arr) else b""
                out.write(data)
                out.write(b"\0" * (-len(data) % 8))

    @classmethod
    def load(cls, path: str) -> DomainIndex:
        with open(path, "rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        # lookups probe random slots: map only the pages they touch (no read-ahead, no
        # fault-around), so resident memory follows the names actually asked for
        with contextlib.suppress(AttributeError, OSError):
            mapped.madvise(mmap.MADV_RANDOM)
        if len(mapped) < struct.calcsize(_HEADER):
            raise ValueError(f"{path}: not a kidshield domain index (too short)")
        magic, size, unique, mask, nslots, seed = struct.unpack_from(_HEADER, mapped)
        if magic != _MAGIC:
            raise ValueError(f"{path}: not a kidshield domain index")
        if seed != _hash_seed_tag():
            raise ValueError(f"{path}: built by a process with another hash seed")
        self = cls()
        self.size, self.unique, self._mask = size, unique, mask
        view = memoryview(mapped)
        layout = (("i", nslots), ("q", unique), ("I", unique + 1 if size else 1),
                  ("H", size), ("H", size), ("I", size), ("B", size))
        sizes = [struct.calcsize(code) * count for code, count in layout]
        if struct.calcsize(_HEADER) + sum(n + (-n % 8) for n in sizes[:-1]) + sizes[-1] > len(
                mapped):
            raise ValueError(f"{path}: the domain index is truncated")
        offset = struct.calcsize(_HEADER)
        parts = []
        for (code, _count), nbytes in zip(layout, sizes, strict=True):
            parts.append(cast(Any, view[offset : offset + nbytes]).cast(code))
            offset += nbytes + (-nbytes % 8)
        (self._slots, self._keys, self._starts, self._cats, self._lists, self._lines,
         self._allow) = parts
        self._owners = (mapped,)
        return self


_MAGIC = b"KSDIDX01"
_HEADER = "<8sqqqqq"


def _hash_seed_tag() -> int:
    """Identifies this interpreter's string hashing, so a file from another seed is refused."""
    return hash("kidshield-domain-index-seed-check") or 1


def release_free_memory() -> None:
    """Give the build's freed temporaries back to the OS (glibc keeps them otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)
