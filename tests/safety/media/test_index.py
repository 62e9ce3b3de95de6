from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.errors import InputError
from kidshield.safety.media.index import (
    HammingIndex,
    hex_to_words,
    popcount_distances,
    words_to_hex,
)


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def flip_bits(word: np.ndarray, bits: np.ndarray) -> np.ndarray:
    out = word.copy()
    for b in bits:
        out[b // 64] ^= np.uint64(1 << int(b % 64))
    return out


def brute_force(words: np.ndarray, query: np.ndarray, threshold: int) -> set[tuple[int, int]]:
    dist = popcount_distances(words, query)
    return {(int(i), int(dist[i])) for i in np.flatnonzero(dist <= threshold)}


def near_queries(rng: np.random.Generator, words: np.ndarray, count: int) -> list[np.ndarray]:
    """Copies of banked hashes with 0..40 flipped bits (around the 31 boundary), plus misses."""
    queries = []
    for _ in range(count):
        base = words[rng.integers(0, len(words))]
        flips = rng.choice(256, size=int(rng.integers(0, 41)), replace=False)
        queries.append(flip_bits(base, flips))
    queries.extend(random_words(rng, 5))
    return queries


@pytest.mark.parametrize("threshold", [0, 1, 15, 16, 31, 32, 40, 47, 60])
def test_search_equals_brute_force_on_seeded_random_data(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    words = random_words(rng, 3000)
    # clusters of near-duplicates so there is more than one hit per query
    words[1000:1100] = [flip_bits(words[0], rng.choice(256, 12, replace=False)) for _ in range(100)]
    index = HammingIndex(words, np.arange(3000) + 10)
    for query in near_queries(rng, words, 60):
        got = {(h.id - 10, h.distance) for h in index.search(query, threshold)}
        assert got == brute_force(words, query, threshold)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    flips=st.lists(st.integers(0, 255), max_size=40, unique=True),
    threshold=st.integers(0, 40),
)
def test_a_hash_within_threshold_is_always_found(
    seed: int, flips: list[int], threshold: int
) -> None:
    rng = np.random.default_rng(seed)
    words = random_words(rng, 500)
    index = HammingIndex(words)
    query = flip_bits(words[7], np.array(flips, dtype=np.int64))
    found = {h.id for h in index.search(query, threshold)}
    assert (7 in found) == (len(flips) <= threshold)
    assert {h.id for h in index.search(query, threshold)} == {
        i for i, _ in brute_force(words, query, threshold)
    }


def test_results_are_sorted_nearest_first_with_distances() -> None:
    rng = np.random.default_rng(1)
    base = random_words(rng, 1)[0]
    words = np.stack([flip_bits(base, np.arange(n)) for n in (20, 3, 9)])
    hits = HammingIndex(words).search(base, 31)
    assert [(h.id, h.distance) for h in hits] == [(1, 3), (2, 9), (0, 20)]


def test_incremental_add_is_matchable_immediately_without_rebuild() -> None:
    rng = np.random.default_rng(2)
    index = HammingIndex(random_words(rng, 2000), background=False)
    new = random_words(rng, 1)
    index.add(new, [99_999])
    assert index.rebuilds == 0
    assert [h.id for h in index.search(flip_bits(new[0], np.array([1, 2, 3])), 31)] == [99_999]


def test_delta_is_merged_when_it_grows_and_nothing_is_lost() -> None:
    rng = np.random.default_rng(3)
    index = HammingIndex(delta_limit=100, background=False)
    words = random_words(rng, 450)
    for start in range(0, 450, 30):
        index.add(words[start : start + 30], range(start, start + 30))
    assert index.rebuilds >= 3
    assert index.delta_size <= 100
    assert len(index) == 450
    for i in (0, 101, 299, 449):
        assert [h.id for h in index.search(words[i], 0)] == [i]


def test_background_merge_keeps_every_hash_searchable() -> None:
    rng = np.random.default_rng(4)
    index = HammingIndex(delta_limit=50, background=True)
    words = random_words(rng, 400)
    for i in range(0, 400, 10):
        index.add(words[i : i + 10], range(i, i + 10))
        assert [h.id for h in index.search(words[i + 9], 0)] == [i + 9]
    index.wait()
    index.compact()
    assert index.delta_size == 0
    assert all([h.id for h in index.search(words[i], 0)] == [i] for i in range(0, 400, 37))


def test_empty_index_finds_nothing() -> None:
    index = HammingIndex()
    assert index.search(np.zeros(4, dtype=np.uint64), 31) == []
    assert len(index) == 0


def test_hex_round_trip_and_bad_hex() -> None:
    hexes = ["00" * 32, "ff" * 32, "0123456789abcdef" * 4]
    assert words_to_hex(hex_to_words(hexes)) == hexes
    with pytest.raises(InputError):
        hex_to_words(["zz" * 32])
    with pytest.raises(InputError):
        hex_to_words(["ab"])


def test_search_hex_uses_the_same_bit_layout_as_hex_to_words() -> None:
    a = "f" * 64
    b = "7" + "f" * 63  # one bit different
    index = HammingIndex(hex_to_words([a]))
    assert [(h.id, h.distance) for h in index.search_hex(b, 1)] == [(0, 1)]
    assert index.search_hex(b, 0) == []


def test_memory_per_hash_is_about_104_bytes() -> None:
    index = HammingIndex(random_words(np.random.default_rng(5), 100_000), background=False)
    per_hash = (index.nbytes - 16 * 65537 * 8 - 1024 * 40) / 100_000
    assert per_hash == pytest.approx(104, abs=1)


def test_bulk_add_builds_the_main_index_at_once() -> None:
    words = random_words(np.random.default_rng(6), 5000)
    index = HammingIndex(delta_limit=1000)
    index.add(words, range(5000))
    assert (index.delta_size, index.rebuilds, len(index)) == (0, 1, 5000)
    assert [h.id for h in index.search(words[4321], 0)] == [4321]


def test_concurrent_adds_searches_and_merges_lose_nothing() -> None:
    import threading

    rng = np.random.default_rng(7)
    words = random_words(rng, 3000)
    index = HammingIndex(delta_limit=64, background=True)
    errors: list[str] = []

    def writer(offset: int) -> None:
        for i in range(offset, 3000, 3):
            index.add(words[i : i + 1], [i])
            if [h.id for h in index.search(words[i], 0)] != [i]:
                errors.append(f"hash {i} not found right after add")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.wait()
    index.compact()
    assert errors == []
    assert len(index) == 3000
    assert all([h.id for h in index.search(words[i], 0)] == [i] for i in range(0, 3000, 7))


def spread_flips(distance: int, rng: np.random.Generator) -> np.ndarray:
    """``distance`` bit positions spread evenly over the 16 substrings: the worst case for
    multi-index hashing, where no substring is left unchanged once distance >= 16."""
    per_substring = [distance // 16 + (1 if k < distance % 16 else 0) for k in range(16)]
    bits = [
        16 * k + int(b)
        for k, count in enumerate(per_substring)
        for b in rng.choice(16, size=count, replace=False)
    ]
    return np.array(bits, dtype=np.int64)


@pytest.mark.parametrize("threshold", [15, 16, 17, 24, 31, 32, 40, 47, 48])
def test_evenly_spread_differences_at_the_threshold_are_still_found(threshold: int) -> None:
    rng = np.random.default_rng(100 + threshold)
    words = random_words(rng, 1000)
    index = HammingIndex(words)
    for row in range(0, 1000, 50):
        query = flip_bits(words[row], spread_flips(threshold, rng))
        assert row in {h.id for h in index.search(query, threshold)}
        assert row not in {h.id for h in index.search(query, threshold - 1)}
