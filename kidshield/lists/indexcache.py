"""A built list index kept on disk, so ``kidshield check`` maps it instead of parsing a million
lines on every call.

The index holds Python string hashes, which depend on the interpreter's hash seed, so the cache
comes with its own seed (``<data_dir>/index-cache/seed``, random, private to the installation):
the command that uses the cache runs with that seed (``PYTHONHASHSEED``; the CLI restarts itself
with it). A cached index is used only when every list file is unchanged (path, size and
modification time), the list settings are the same and it was written by this version of
kidshield; otherwise the lists are parsed and the cache replaced. Only the newest index is
kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import struct
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kidshield import __version__
from kidshield.config import Config
from kidshield.lists.formats import ParseReport
from kidshield.lists.loader import LoadResult, effective_lists, load_lists
from kidshield.lists.sources import list_path
from kidshield.policy.domains import _MAGIC, DomainIndex
from kidshield.policy.model import BlockLists, ListInfo

FOLDER = "index-cache"


def folder(config: Config) -> Path:
    return config.path(config.server.data_dir) / FOLDER


def seed(config: Config) -> str | None:
    """The cache's hash seed, created on first use; None when the data folder cannot be
    written (then nothing is cached)."""
    path = folder(config) / "seed"
    try:
        text = path.read_text(encoding="ascii").strip()
        if text.isdigit() and text != "0":
            return text
    except OSError:
        pass
    value = str(secrets.randbelow(2**32 - 1) + 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, value.encode())
    except OSError:
        return None
    return value


def fingerprint(config: Config) -> str:
    digest = hashlib.sha256(f"{__version__}|{_MAGIC!r}".encode())
    for lst in effective_lists(config):
        if not lst.enabled:
            continue
        digest.update(repr((lst.name, lst.source, lst.format, lst.category, lst.allow)).encode())
        path = list_path(config, lst)
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            try:
                st = file.stat()
                digest.update(f"{file}|{st.st_size}|{st.st_mtime_ns}".encode())
            except OSError:
                digest.update(f"{file}|missing".encode())
    return digest.hexdigest()[:32]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_cached(config: Config, fp: str) -> LoadResult | None:
    """The cached index of these lists (``fp``: their fingerprint), or None (changed lists,
    another seed, no cache)."""
    base = folder(config) / fp
    try:
        meta = json.loads(base.with_suffix(".meta").read_text(encoding="utf-8"))
        if meta.get("seed") != os.environ.get("PYTHONHASHSEED"):
            return None
        index = DomainIndex.load(str(base.with_suffix(".idx")))
        lists = [ListInfo(name, file) for name, file in meta["lists"]]
        reports = {name: _report(r) for name, r in meta["reports"].items()}
        return LoadResult(BlockLists(index, list(meta["categories"]), lists), reports,
                          list(meta["problems"]))
    except (OSError, ValueError, AttributeError, KeyError, TypeError, struct.error):
        return None


def _report(data: dict[str, Any]) -> ParseReport:
    return ParseReport(file=data["file"], format=data["format"], rules=data["rules"],
                       allow_rules=data["allow_rules"], skipped=Counter(data["skipped"]),
                       errors=data["errors"], samples=list(data["samples"]),
                       lines=data["lines"])


def store(config: Config, result: LoadResult, fp: str) -> None:
    """Save ``result`` for these lists (best effort: a read-only data folder caches nothing)."""
    target = folder(config)
    base = target / fp
    try:
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f".{fp}.{os.getpid()}.idx"
        result.lists.index.save(str(tmp))
        os.replace(tmp, base.with_suffix(".idx"))
        _write(base.with_suffix(".meta"), json.dumps({
            "seed": os.environ.get("PYTHONHASHSEED"), "categories": result.lists.categories,
            "lists": [[info.name, info.file] for info in result.lists.lists],
            "reports": {name: {**asdict(r), "skipped": dict(r.skipped)}
                        for name, r in result.reports.items()},
            "problems": result.problems}).encode())
        for old in target.glob("*.*"):
            if old.stem != fp and old.suffix in (".idx", ".meta"):
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError:
        return


def load_lists_cached(config: Config) -> LoadResult:
    """The lists' index from the cache when it is current, else parsed (and cached when this
    process runs with the cache's seed)."""
    wanted = seed(config)
    if wanted is None or os.environ.get("PYTHONHASHSEED") != wanted:
        return load_lists(config)
    fp = fingerprint(config)
    cached = load_cached(config, fp)
    if cached is not None:
        return cached
    result = load_lists(config)
    store(config, result, fp)
    return result
