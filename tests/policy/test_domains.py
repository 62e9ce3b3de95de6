"""Domain names: normalisation (IDN), suffix matching, and the compact DomainIndex checked
against a brute-force Python model."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.errors import InputError
from kidshield.policy import domains
from kidshield.policy.domains import (
    DomainIndex,
    DomainIndexBuilder,
    SuffixMap,
    normalize_name,
    suffixes,
)

# -- normalize_name ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bücher.DE.", "xn--bcher-kva.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("EXAMPLE.com.", "example.com"),
        ("  example.com  ", "example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("localhost", "localhost"),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        (".", "empty"),
        ("exa mple.com", "not a valid domain name"),
        ("-bad.com", "not a valid domain name"),
        ("a..b", "not a valid domain name"),
        ("a" * 64 + ".com", "not a valid domain name"),
        ("*.example.com", "wildcards are not needed"),
        ("http://example.com", "not a valid domain name"),
        ("bü cher.de", "not a valid internationalised domain name"),
    ],
)
def test_normalize_name_rejects_non_names_with_input_error(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize_name(raw)


def test_name_longer_than_253_characters_is_rejected() -> None:
    name = ".".join(["a" * 60] * 5)  # 304 characters
    with pytest.raises(InputError):
        normalize_name(name)


def test_suffixes_most_specific_first() -> None:
    assert list(suffixes("a.b.example.com")) == ["a.b.example.com", "b.example.com",
                                                 "example.com", "com"]


# -- SuffixMap ---------------------------------------------------------------------------------

def test_suffix_map_covers_subdomains_but_not_lookalikes() -> None:
    m = SuffixMap([("example.com", 1)])
    assert m.match("a.b.example.com") == ("example.com", 1)
    assert m.match("example.com") == ("example.com", 1)
    assert m.match("badexample.com") is None
    assert m.match("example.com.evil.net") is None
    assert "www.example.com" in m
    assert "com" not in m


def test_suffix_map_most_specific_entry_wins_and_first_value_is_kept() -> None:
    m = SuffixMap([("example.com", "parent"), ("www.example.com", "child"),
                   ("example.com", "duplicate")])
    assert m.match("a.www.example.com") == ("www.example.com", "child")
    assert m.match("mail.example.com") == ("example.com", "parent")
    assert len(m) == 2


# -- DomainIndex -------------------------------------------------------------------------------

def build(rows: list[tuple[str, int, bool]], small: int = domains.SMALL_INDEX) -> DomainIndex:
    b = DomainIndexBuilder()
    for line, (domain, cat, allow) in enumerate(rows, start=1):
        b.add(domain, cat, 0, line, allow)
    return build_with(b, small)


def build_with(b: DomainIndexBuilder, small: int) -> DomainIndex:
    """``small``: the most rows built in plain Python (0: numpy builds every index)."""
    saved = domains.SMALL_INDEX
    domains.SMALL_INDEX = small
    try:
        return b.build()
    finally:
        domains.SMALL_INDEX = saved


# both ways of building an index: plain Python (small lists) and numpy (big ones)
BUILDERS = pytest.mark.parametrize("small", [domains.SMALL_INDEX, 0], ids=["python", "numpy"])


def test_index_suffix_semantics() -> None:
    index = build([("example.com", 1, False)])
    assert index.contains_suffix("a.b.example.com")
    assert index.contains_suffix("example.com")
    assert not index.contains_suffix("badexample.com")
    assert not index.contains_suffix("com")
    assert [h.domain for h in index.lookup("a.b.example.com")] == ["example.com"]
    assert index.lookup("badexample.com") == []


def test_index_keeps_every_category_of_one_domain_and_the_lines() -> None:
    index = build([("shared.example", 1, False), ("other.example", 1, False),
                   ("shared.example", 2, False), ("shared.example", 3, True)])
    hits = index.lookup("www.shared.example")
    assert sorted((h.category, h.line, h.allow) for h in hits) == [(1, 1, False), (2, 3, False),
                                                                   (3, 4, True)]
    assert {h.domain for h in hits} == {"shared.example"}
    assert (index.size, index.unique) == (4, 2)


def test_index_lookup_is_most_specific_first() -> None:
    index = build([("example.com", 1, False), ("a.example.com", 2, True)])
    assert [(h.domain, h.allow) for h in index.lookup("x.a.example.com")] == [
        ("a.example.com", True), ("example.com", False)]


def test_empty_index_matches_nothing() -> None:
    for index in (DomainIndex.empty(), DomainIndexBuilder().build()):
        assert len(index) == 0
        assert not index.contains_suffix("example.com")
        assert index.lookup("example.com") == []


def test_add_many_records_lines_and_block_rows() -> None:
    b = DomainIndexBuilder()
    b.add_many(["a.example", "b.example"], 5, 2, [10, 20])
    b.add("c.example", 6, 3, 30, allow=True)
    index = b.build()
    [hit] = index.lookup("x.b.example")
    assert (hit.category, hit.list_id, hit.line, hit.allow) == (5, 2, 20, False)
    [hit] = index.lookup("c.example")
    assert (hit.category, hit.list_id, hit.line, hit.allow) == (6, 3, 30, True)
    assert index.memory_bytes() > 0


def _brute_force(rows: list[tuple[str, int, bool]], name: str) -> list[tuple[str, int, bool]]:
    listed = {}
    for domain, cat, allow in rows:
        listed.setdefault(domain, []).append((domain, cat, allow))
    return sorted(hit for s in suffixes(name) for hit in listed.get(s, []))


LABELS = st.sampled_from(["a", "b", "c", "ex", "xn--bcher-kva", "www", "0", "z-z"])
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join)


@BUILDERS
@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(NAMES, st.integers(0, 3), st.booleans()), max_size=40),
    queries=st.lists(NAMES, min_size=1, max_size=20),
)
def test_index_matches_a_brute_force_set(small: int, rows: list[tuple[str, int, bool]],
                                         queries: list[str]) -> None:
    index = build(rows, small)
    for q in queries:
        expected = _brute_force(rows, q)
        got = sorted((h.domain, h.category, h.allow) for h in index.lookup(q))
        assert got == expected
        assert index.contains_suffix(q) is bool(expected)


@BUILDERS
def test_index_matches_a_brute_force_set_on_50k_random_names(small: int, tmp_path: Path) -> None:
    rng = random.Random(20261129)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"

    def label() -> str:
        n = rng.randint(1, 12)
        text = "".join(rng.choice(alphabet) for _ in range(n)).strip("-")
        return text or "x"

    tlds = ["com", "net", "org", "de", "uk"]
    listed = {f"{label()}.{rng.choice(tlds)}" for _ in range(50_000)}
    listed |= {f"{label()}.{d}" for d in rng.sample(sorted(listed), 2_000)}
    b = DomainIndexBuilder()
    ordered = sorted(listed)
    b.add_many(ordered, 1, 0, range(1, len(ordered) + 1))
    built = build_with(b, small)
    built.save(str(tmp_path / "index.bin"))
    index = DomainIndex.load(str(tmp_path / "index.bin"))  # as the resolver maps it
    assert (index.unique, index.size) == (built.unique, built.size) == (len(listed),) * 2
    queries = rng.sample(ordered, 3_000) + [f"www.{d}" for d in rng.sample(ordered, 3_000)]
    queries += [f"{label()}.{rng.choice(tlds)}" for _ in range(5_000)]
    for q in queries:
        expected = any(s in listed for s in suffixes(q))
        assert index.contains_suffix(q) is expected, q


def test_the_shipped_lists_are_indexed_without_numpy() -> None:
    # numpy costs the resolver about 15 MB of RSS once imported; the big lists are built in
    # a child process (lists/isolated.py), the shipped ones in plain Python
    code = ("import sys\n"
            "from kidshield.config import parse_config\n"
            "from kidshield.lists.loader import load_lists\n"
            "lists = load_lists(parse_config('')).lists\n"
            "assert lists.index.size > 500, lists.index.size\n"
            "assert 'numpy' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
