"""The category lists shipped inside the package, so a fresh install protects offline from the
first start.

Each ``data/<category>.txt`` is a compact ``domains`` list (a few hundred to a few thousand of
the most visited names of one category) with its sources and licence in its header; the
folder's README.md says how the lists were made. They load like any configured list, named
``builtin-<category>``, before the lists the configuration adds. ``[server] builtin_lists =
false`` leaves them out.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kidshield.config import Config, ListConfig

BUILTIN_DIR = Path(__file__).parent / "data"
PREFIX = "builtin-"


@cache
def _shipped(folder: Path) -> tuple[ListConfig, ...]:
    return tuple(
        ListConfig(name=PREFIX + path.stem.replace("_", "-"), source=str(path),
                   format="domains", category=path.stem)
        for path in sorted(folder.glob("*.txt"))
    )


def builtin_lists(config: Config, folder: Path = BUILTIN_DIR) -> list[ListConfig]:
    """The shipped lists this configuration uses (none when ``builtin_lists = false``)."""
    return list(_shipped(folder)) if config.server.builtin_lists else []


def builtin_categories(folder: Path = BUILTIN_DIR) -> frozenset[str]:
    return frozenset(lst.category for lst in _shipped(folder) if lst.category)
