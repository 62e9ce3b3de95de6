"""The shipped helplines, checked once per content of their file and kept in the data folder.

Reading ``policy/data/helplines.toml`` checks every entry (ids, numbers, addresses, country
and language codes) and finds the line of each key for error messages: about 20 ms, which
``kidshield check`` (run by scripts, once per name) paid on every call. The checked entries
are kept as JSON under ``<data_dir>/index-cache/``, named by a hash of the file's bytes, its
path and the kidshield version, so an edited file, a moved installation or an upgrade (whose
checks may differ) is read and checked again. A file with problems is never kept: it fails
with the same ``file:line key: what is wrong`` messages as without the cache. Anything wrong
with a kept copy (unreadable, not what this version writes) is logged and the file is read
again; the copy is then replaced.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
from pathlib import Path

from pydantic import ConfigDict, TypeAdapter, ValidationError

from kidshield import __version__
from kidshield.policy.catalog import Catalog, load_catalog
from kidshield.policy.helpline_data import read_file
from kidshield.policy.helplines import Helpline

PREFIX = "helplines-"

log = logging.getLogger(__name__)


@functools.cache
def _entries() -> TypeAdapter[list[Helpline]]:
    # strict: a kept copy holds exactly what this version wrote (no "5" for 5, no string
    # taken for a tuple of its letters); built on first use, as only ``check`` needs it
    return TypeAdapter(list[Helpline], config=ConfigDict(strict=True))


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
    try:
        return _entries().validate_json(kept.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValidationError) as exc:
        log.warning("%s: the kept copy of %s is unusable, reading the file again: %s",
                    kept, path, _first_problem(exc))
    lines = read_file(path)  # raises with every problem: nothing is kept
    _keep(kept, lines)
    return lines


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where or 'the file'}: {first['msg']}{more}"
    return str(exc)


def _keep(kept: Path, lines: list[Helpline]) -> None:
    """Write the checked entries, if they come back exactly (a field that cannot be written
    is not kept, never kept wrong), and remove older copies."""
    try:
        text = _entries().dump_json(lines)
        back = _entries().validate_json(text)
    except (ValueError, TypeError):  # ValidationError and pydantic's serialisation errors
        return
    if back != lines or [b.where for b in back] != [line.where for line in lines]:
        return
    with contextlib.suppress(OSError):
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, kept)
        for old in kept.parent.glob(f"{PREFIX}*.json"):
            if old != kept:
                old.unlink(missing_ok=True)
