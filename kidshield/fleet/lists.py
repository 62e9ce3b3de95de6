"""The configured lists as names, grouped the way the policy engine groups their rows.

The resolver's index keeps 64-bit hashes, not names, so an export watches the loader
(``lists/loader.py``) while it builds the index and keeps what it sees, grouped as the engine
groups the rows: block rows by category, adblock ``@@`` exceptions by the category of their
list, and allow lists (``allow = true``) as global exceptions that lift every category.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kidshield.config import Config, ListConfig
from kidshield.lists.formats import Chunk
from kidshield.lists.loader import LoadResult, load_lists
from kidshield.policy.domains import suffixes
from kidshield.policy.model import ALLOW_CATEGORY


@dataclass(slots=True)
class ListNames:
    blocks: dict[str, list[str]] = field(default_factory=dict)  # category -> names
    exceptions: dict[str, list[str]] = field(default_factory=dict)  # category -> '@@' names
    allowed: list[str] = field(default_factory=list)  # allow lists: every category lifted
    problems: list[str] = field(default_factory=list)


class NameCollector:
    """An observer for ``load_lists``: keeps the names the index turns into hashes."""

    def __init__(self) -> None:
        self.names = ListNames()

    def __call__(self, _lst: ListConfig, chunk: Chunk, category: str) -> None:
        out = self.names
        if chunk.domains:
            out.blocks.setdefault(category, []).extend(chunk.domains)
        if chunk.allow:
            names = [name for name, _line in chunk.allow]
            if category == ALLOW_CATEGORY:
                out.allowed.extend(names)
            else:
                out.exceptions.setdefault(category, []).extend(names)


def load_with_names(config: Config,
                    asked: Iterable[str] | None = None) -> tuple[LoadResult, ListNames]:
    """The lists loaded as the resolver loads them, and their names, in one pass. ``asked``:
    the names the engine will be asked about; the index then holds only the rules that can
    match them (their suffixes), which is all those decisions need."""
    collector = NameCollector()
    only = None if asked is None else {s for name in asked for s in suffixes(name)}
    loaded = load_lists(config, collector, only)
    collector.names.problems = list(loaded.problems)
    return loaded, collector.names


def minimal(names: Iterable[str]) -> list[str]:
    """The names without duplicates and without those a listed parent already covers (a rule
    for ``example.com`` covers ``ads.example.com``): the fewest rules that match the same
    names. The order is the lists' own, so the same lists give the same zone (and serial)."""
    unique = dict.fromkeys(names)
    kept: list[str] = []
    for name in unique:
        dot = name.find(".")
        parent_listed = False
        while dot >= 0:
            if name[dot + 1 :] in unique:
                parent_listed = True
                break
            dot = name.find(".", dot + 1)
        if not parent_listed:
            kept.append(name)
    return kept
