"""Edit the configuration file from the web app, keeping the parent's comments and layout
(tomlkit). The new text is validated exactly like ``kidshield config check`` before it is
written (atomically), then the service reloads."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from kidshield.config import parse_config
from kidshield.errors import ConfigError, InputError

Edit = Callable[[Any], None]


def edit_config_file(path: Path | None, edit: Edit) -> None:
    """Apply ``edit`` to the TOML document at ``path``; refuse (InputError) when the result
    would not be a valid configuration, leaving the file untouched."""
    if path is None:
        raise InputError("kidshield was started without a configuration file: nothing to edit")
    text = path.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    edit(doc)
    new_text = tomlkit.dumps(doc)
    try:
        parse_config(new_text, source=str(path), base_dir=path.resolve().parent)
    except ConfigError as exc:
        raise InputError(f"that change would make the configuration invalid: {exc}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table(doc: Any, *keys: str) -> Any:
    """The (super-)table at ``keys``, created when missing."""
    node = doc
    for key in keys:
        if key not in node:
            node[key] = tomlkit.table()
        node = node[key]
    return node


def profile_table(doc: Any, pid: str) -> Table:
    profiles = doc.get("profiles")
    if profiles is None or pid not in profiles:
        raise InputError(f"no profile named {pid!r}")
    found: Table = profiles[pid]
    return found


def set_or_remove(node: Any, key: str, value: object) -> None:
    if value is None:
        if key in node:
            del node[key]
    else:
        node[key] = value
