"""The ``kidshield`` command's entry point: process-level steps, then the command line.

``kidshield check`` maps the saved list index (``lists/indexcache.py``), which only a process
with the index's string hash seed can use. When the seed is known, the command restarts with it
here, before anything heavy is imported, so a check costs one interpreter start, not two.
``kidshield serve`` starts itself again too (``serving.py``); that process goes straight to
the server, without the command line's imports. Kept free of third-party imports for that
reason.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import NoReturn

from kidshield.process import python_m

SEED_FILE = ("index-cache", "seed")  # under [server] data_dir, as lists/indexcache.py keeps it


def _config_path(args: list[str]) -> Path:
    for i, arg in enumerate(args):
        if arg in ("-c", "--config") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
    return Path(os.environ.get("KIDSHIELD_CONFIG", "kidshield.toml"))


def known_seed(args: list[str]) -> str | None:
    """The index cache's seed for ``kidshield check`` with these arguments, if one exists."""
    if args[:1] != ["check"]:
        return None
    path = _config_path(args[1:])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        folder = Path(str(data.get("server", {}).get("data_dir", "kidshield-data"))).expanduser()
        if not folder.is_absolute():
            folder = path.resolve().parent / folder
        seed = folder.joinpath(*SEED_FILE).read_text(encoding="ascii").strip()
    except (OSError, ValueError, AttributeError):
        return None  # the command itself reports a broken configuration
    return seed if seed.isdigit() and seed != "0" else None


def restart_with_seed(seed: str) -> NoReturn:
    """This command again, in a process with this string hash seed (same PID, same
    arguments; the environment as the caller left it)."""
    os.environ["PYTHONHASHSEED"] = seed
    sys.stdout.flush()
    sys.stderr.flush()
    command = python_m("kidshield")
    os.execv(command[0], [*command, *sys.argv[1:]])


def entry() -> None:
    seed = known_seed(sys.argv[1:])
    if seed is not None and os.environ.get("PYTHONHASHSEED") != seed:
        restart_with_seed(seed)
    if sys.argv[1:2] == ["serve"]:
        from kidshield import serving

        if serving.OPTIONS in os.environ:  # started by `kidshield serve`: the server itself
            serving.main()
            return
    from kidshield import cli

    cli.ENTRY_POINT = True
    cli.main()
