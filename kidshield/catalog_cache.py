"""The shipped helplines, checked once per content of their file and kept in the data folder.

Reading ``policy/data/helplines.toml`` checks every entry (ids, numbers, addresses, country
and language codes) and finds the line of each key for error messages: about 20 ms, which
``kidshield check`` (run by scripts, once per name) paid on every call. The checked entries
are kept as JSON under ``<data_dir>/index-cache/``, named by a hash of the file's bytes, its
path and the kidshield version, so an edited file, a moved installation or an upgrade (whose
checks may differ) is read and checked again. A file with problems is never kept: it fails
with the same ``file:line key: what is wrong`` messages as without the cache. Anything wrong
with a kept copy (unreadable, not what this version writes) means the file is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from kidshield import __version__
from kidshield.policy.catalog import Catalog, load_catalog
from kidshield.policy.helpline_data import read_file
from kidshield.policy.helplines import Ages, Helpline, Kind

PREFIX = "helplines-"
_TUPLES = ("domains", "languages")


def shipped_catalog(folder: Path | None) -> Catalog:
    """The shipped catalog, its helplines kept in ``folder`` (None: read as usual)."""
    if folder is None:
        return load_catalog()
    return load_catalog(read_helplines=lambda path: read_helplines(path, folder))


def read_helplines(path: Path, folder: Path) -> list[Helpline]:
    """``read_file(path)``, from the copy kept in ``folder`` when the file is unchanged."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError:
        return read_file(path)  # the same clear error as without the cache
    digest = hashlib.sha256(b"\0".join([__version__.encode(), str(path).encode(), data]))
    kept = folder / f"{PREFIX}{digest.hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return [_decode(item) for item in json.loads(kept.read_text(encoding="utf-8"))]
    lines = read_file(path)  # raises with every problem: nothing is kept
    _keep(kept, lines)
    return lines


def _encode(line: Helpline) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(line):
        value = getattr(line, f.name)
        if isinstance(value, Kind):
            value = value.value
        elif isinstance(value, Ages):
            value = [value.low, value.high]
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _decode(item: dict[str, Any]) -> Helpline:
    values = dict(item)
    values["kind"] = Kind(values["kind"])
    if values.get("ages") is not None:
        low, high = values["ages"]
        values["ages"] = Ages(low, high)
    for name in _TUPLES:
        values[name] = tuple(values[name])
    return Helpline(**values)


def _keep(kept: Path, lines: list[Helpline]) -> None:
    """Write the checked entries, if they come back exactly (a field this module does not
    know how to write is not kept, never kept wrong), and remove older copies."""
    try:
        items = [_encode(line) for line in lines]
        text = json.dumps(items, ensure_ascii=False)
        back = [_decode(item) for item in json.loads(text)]
    except (TypeError, ValueError, KeyError):
        return
    if back != lines or [b.where for b in back] != [line.where for line in lines]:
        return
    with contextlib.suppress(OSError):
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, kept)
        for old in kept.parent.glob(f"{PREFIX}*.json"):
            if old != kept:
                old.unlink(missing_ok=True)
