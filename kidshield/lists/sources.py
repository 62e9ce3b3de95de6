"""List sources: local files, or http(s) URLs downloaded into a cache.

A download is written to a temporary file, checked in full, and only then swapped in with an
atomic rename. An empty download, a web page instead of a list, or a file that is mostly bad
lines is rejected and the last good copy stays in use.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kidshield import __version__
from kidshield.config import Config, ListConfig
from kidshield.errors import ListFormatError, ListSourceError
from kidshield.lists.formats import Chunk, ParseReport, parse_file
from kidshield.storage.protocols import ListMeta, ListMetaStore

if TYPE_CHECKING:  # httpx is only needed when downloading, not in the resolver's memory
    import httpx

Progress = Callable[[str, int, int | None], None]  # (list name, bytes so far, total or None)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def cache_path(config: Config, lst: ListConfig) -> Path:
    return config.path(config.server.data_dir) / "lists" / f"{lst.name}.txt"


def list_path(config: Config, lst: ListConfig) -> Path:
    """Where the list's current good copy is read from."""
    return cache_path(config, lst) if is_url(lst.source) else config.path(lst.source)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    name: str
    status: str  # ok | not_modified | rejected | failed | local
    message: str
    report: ParseReport | None = None


def _check_download(path: Path, lst: ListConfig, label: str) -> ParseReport:
    count = 0

    def counting(chunk: Chunk) -> None:
        nonlocal count
        count += len(chunk.domains) + len(chunk.allow)

    fmt = "domains" if lst.format == "ut1" else lst.format
    report = parse_file(path, fmt, counting, allow=lst.allow, label=label)
    problem = implausible(label, "download", count, report)
    if problem:
        raise ListFormatError(problem)
    return report


def implausible(label: str, what: str, rules: int, report: ParseReport) -> str | None:
    """Why a parsed list (a download, or a local file on a reload) is not taken, or None:
    it holds no rules, or more bad lines than rules. (A web page instead of a list fails
    in the parser already.)"""
    if rules == 0:
        return f"{label}: the {what} holds no usable rules"
    if report.errors > rules:
        return (f"{label}: mostly invalid ({report.errors} bad lines, {rules} rules); "
                + "; ".join(report.samples[:3]))
    return None


def last_good_path(config: Config, lst: ListConfig) -> Path:
    """Where a local list's last copy that passed the checks is kept (loader.py)."""
    return config.path(config.server.data_dir) / "lists" / "last-good" / f"{lst.name}.txt"


def keep_last_good(source: Path, good: Path) -> None:
    """Copy a local list that passed the checks beside the data, unless the copy is the
    same already; written to a temporary name and renamed, so a copy is always whole."""
    if good.exists() and filecmp.cmp(source, good, shallow=False):
        return
    good.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{good.name}.", dir=good.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, good)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_list(
    config: Config,
    lst: ListConfig,
    store: ListMetaStore,
    client: httpx.Client,
    now: datetime,
    progress: Progress | None = None,
) -> UpdateResult:
    """Fetch one URL source if it changed; keep the last good copy on any failure."""
    import httpx

    if not is_url(lst.source):
        path = config.path(lst.source)
        if not path.exists():
            return UpdateResult(lst.name, "failed", f"{path}: no such file or folder")
        return UpdateResult(lst.name, "local", f"local {'folder' if path.is_dir() else 'file'}")
    target = cache_path(config, lst)
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = store.get(lst.name)
    headers = {"User-Agent": f"kidshield/{__version__}"}
    if previous is not None and target.exists() and previous.source == lst.source:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    base = previous or ListMeta(name=lst.name, source=lst.source)

    def fail(status: str, message: str) -> UpdateResult:
        kept = " (keeping the last good copy)" if target.exists() else ""
        store.put(_replace(base, source=lst.source, status=status, message=message + kept))
        return UpdateResult(lst.name, status, message + kept)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{lst.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        try:
            with client.stream("GET", lst.source, headers=headers) as resp:
                if resp.status_code == 304:
                    store.put(_replace(base, fetched_at=now, status="not_modified",
                                       message="not modified since the last download"))
                    return UpdateResult(lst.name, "not_modified", "not modified")
                if resp.status_code != 200:
                    return fail("failed", f"{lst.source}: HTTP {resp.status_code}")
                total = int(resp.headers.get("Content-Length", "0")) or None
                done = 0
                with os.fdopen(fd, "wb") as out:
                    fd = -1
                    for block in resp.iter_bytes():
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(lst.name, done, total)
                etag = resp.headers.get("ETag")
                modified = resp.headers.get("Last-Modified")
        except httpx.HTTPError as exc:
            return fail("failed", f"{lst.source}: download failed: {exc}")
        try:
            report = _check_download(tmp, lst, label=lst.source)
        except ListFormatError as exc:
            return fail("rejected", str(exc))
        os.replace(tmp, target)
        store.put(ListMeta(
            name=lst.name, source=lst.source, fetched_at=now, etag=etag, last_modified=modified,
            sha256=digest.hexdigest(), rules=report.rules + report.allow_rules,
            skipped=sum(report.skipped.values()), errors=report.errors,
            error_samples="\n".join(report.samples), status="ok", message=report.summary(),
        ))
        return UpdateResult(lst.name, "ok", report.summary(), report)
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)


def _replace(meta: ListMeta, **changes: object) -> ListMeta:
    import dataclasses

    return dataclasses.replace(meta, **changes)  # type: ignore[arg-type]


def lists_due(config: Config, store: ListMetaStore, now: datetime) -> list[ListConfig]:
    """URL lists whose last download attempt is older than their ``update_hours`` (or that
    were never downloaded, or whose source changed)."""
    from datetime import timedelta

    due = []
    for lst in config.lists:
        if not lst.enabled or not is_url(lst.source):
            continue
        meta = store.get(lst.name)
        if (meta is None or meta.fetched_at is None or meta.source != lst.source
                or not cache_path(config, lst).exists()
                or now - meta.fetched_at >= timedelta(hours=lst.update_hours)):
            due.append(lst)
    return due


def require_local(config: Config, lst: ListConfig) -> Path:
    path = list_path(config, lst)
    if not path.exists():
        if is_url(lst.source):
            raise ListSourceError(
                f"list {lst.name!r} has not been downloaded yet: run 'kidshield lists update'"
            )
        raise ListSourceError(f"list {lst.name!r}: {path}: no such file or folder")
    return path
