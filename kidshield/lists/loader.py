"""Load every enabled list of a configuration into one ``BlockLists`` index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kidshield.config import Config, ListConfig
from kidshield.errors import ListFormatError, ListSourceError
from kidshield.lists.builtin import builtin_lists
from kidshield.lists.formats import Chunk, ParseReport, parse_file
from kidshield.lists.sources import require_local
from kidshield.policy.domains import DomainIndexBuilder
from kidshield.policy.model import ALLOW_CATEGORY, BlockLists, ListInfo


@dataclass(slots=True)
class LoadResult:
    lists: BlockLists
    reports: dict[str, ParseReport] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # lists that could not be used at all


REPORTED_CATEGORY = "reported"  # domains a moderator decided to block (reports issue)


def effective_lists(config: Config) -> list[ListConfig]:
    """The shipped category lists, the configured lists, and the lists that report decisions
    maintain in the data folder (a reported site blocked for every child, a wrongly blocked
    one opened)."""
    extra: list[ListConfig] = []
    folder = config.path(config.server.data_dir)
    block, allow = folder / config.reports.block_list, folder / config.reports.allow_list
    if block.exists():
        extra.append(ListConfig(name="reports-block", source=str(block), format="domains",
                                category=REPORTED_CATEGORY))
    if allow.exists():
        extra.append(ListConfig(name="reports-allow", source=str(allow), format="domains",
                                allow=True))
    return [*builtin_lists(config), *config.lists, *extra]


def load_lists(config: Config,
               observe: Callable[[ListConfig, Chunk, str], None] | None = None,
               only: set[str] | None = None) -> LoadResult:
    """``observe(list, chunk, category)`` sees every chunk as it is indexed (the RPZ export
    keeps the names, which the index does not). ``only``: index just these names (the
    export asks the engine about a few hundred names and needs no full index)."""
    builder = DomainIndexBuilder()
    categories: list[str] = [ALLOW_CATEGORY]
    infos: list[ListInfo] = []
    result = LoadResult(BlockLists())

    def category_id(name: str) -> int:
        try:
            return categories.index(name)
        except ValueError:
            categories.append(name)
            return len(categories) - 1

    for lst in effective_lists(config):
        if not lst.enabled:
            continue
        try:
            path = require_local(config, lst)
        except ListSourceError as exc:
            result.problems.append(str(exc))
            continue
        list_id = len(infos)
        infos.append(ListInfo(lst.name, str(path)))
        default_cat = ALLOW_CATEGORY if lst.allow else (lst.category or "uncategorised")

        def sink(chunk: Chunk, list_id: int = list_id, default_cat: str = default_cat,
                 lst: ListConfig = lst) -> None:
            if observe is not None:
                observe(lst, chunk, chunk.category or default_cat)
            cat = category_id(chunk.category or default_cat)
            domains, lines = chunk.domains, chunk.lines
            if only is not None:
                kept = [i for i, d in enumerate(domains) if d in only]
                domains, lines = [domains[i] for i in kept], [lines[i] for i in kept]
            if domains:
                builder.add_many(domains, cat, list_id, lines)
            for domain, line in chunk.allow:
                if only is None or domain in only:
                    builder.add(domain, cat, list_id, line, allow=True)

        try:
            result.reports[lst.name] = parse_file(path, lst.format, sink, allow=lst.allow)
        except ListFormatError as exc:
            result.problems.append(str(exc))
    result.lists = BlockLists(builder.build(), categories, infos)
    return result
