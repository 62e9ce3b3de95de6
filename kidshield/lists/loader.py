"""Load every enabled list of a configuration into one ``BlockLists`` index."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kidshield.config import Config, ListConfig
from kidshield.errors import ListFormatError, ListSourceError
from kidshield.lists.builtin import builtin_lists
from kidshield.lists.formats import Chunk, ParseReport, parse_file
from kidshield.lists.sources import (
    implausible,
    is_url,
    keep_last_good,
    last_good_path,
    require_local,
)
from kidshield.policy.domains import DomainIndexBuilder
from kidshield.policy.model import ALLOW_CATEGORY, BlockLists, ListInfo


@dataclass(slots=True)
class LoadResult:
    lists: BlockLists
    reports: dict[str, ParseReport] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # lists that could not be used at all
    # local lists whose file failed the checks and that are served from their last good
    # copy: list name -> what was wrong with the file
    stale: dict[str, str] = field(default_factory=dict)


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
        list_id = len(infos)
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
            path = require_local(config, lst)
        except ListSourceError as exc:
            if _checked(config, lst, config.path(lst.source)):  # a local file went away
                _fall_back(config, lst, str(exc), sink, result, infos)
            else:
                result.problems.append(str(exc))
            continue
        checked = _checked(config, lst, path)
        mark, rules = len(builder), 0

        def counted(chunk: Chunk, sink: Callable[[Chunk], None] = sink) -> None:
            nonlocal rules
            rules += len(chunk.domains) + len(chunk.allow)
            sink(chunk)

        try:
            report = parse_file(path, lst.format, counted, allow=lst.allow)
        except ListFormatError as exc:
            problem = str(exc)
        else:
            found = implausible(str(path), "file", rules, report) if checked else None
            if found is None:
                infos.append(ListInfo(lst.name, str(path)))
                result.reports[lst.name] = report
                if checked and path.is_file():
                    _keep(config, lst, path)
                continue
            problem = found
        builder.truncate(mark)
        if checked:
            _fall_back(config, lst, problem, sink, result, infos)
        else:
            result.problems.append(problem)
    result.lists = BlockLists(builder.build(), categories, infos)
    return result


def stale_warnings(result: LoadResult) -> list[str]:
    return [f"list {name}: {problem}; still blocking with its last good copy"
            for name, problem in result.stale.items()]


def _checked(config: Config, lst: ListConfig, path: Path) -> bool:
    """A local file a person edits gets a download's checks on every load: emptied, mostly
    garbage, or a web page saved by mistake, it is not taken. The shipped lists and the
    lists report decisions maintain (which may rightly be empty) are not checked; a
    download was checked when it came."""
    if is_url(lst.source) or lst.name.startswith("builtin-"):
        return False
    folder = config.path(config.server.data_dir)
    return path not in (folder / config.reports.block_list, folder / config.reports.allow_list)


def _keep(config: Config, lst: ListConfig, path: Path) -> None:
    try:
        keep_last_good(path, last_good_path(config, lst))
    except OSError as exc:  # blocking goes on; only the fallback is missing
        logging.getLogger("kidshield.lists").warning(
            "list %s: cannot keep a copy of the good list: %s", lst.name, exc)


def _fall_back(config: Config, lst: ListConfig, problem: str, sink: Callable[[Chunk], None],
               result: LoadResult, infos: list[ListInfo]) -> None:
    """The file was rejected: block with the last copy that passed, and say so."""
    good = last_good_path(config, lst)
    if not good.is_file():
        result.problems.append(f"{problem} (no earlier good copy: the list is not used)")
        return
    try:
        result.reports[lst.name] = parse_file(good, lst.format, sink, allow=lst.allow)
    except ListFormatError as exc:  # the copy passed once; it cannot fail, but say so
        result.problems.append(f"{problem}; its last good copy failed too: {exc}")
        return
    infos.append(ListInfo(lst.name, str(good)))
    result.stale[lst.name] = problem
