"""Build the list index in a child process and map the result.

The resolver process then never holds the build's temporary memory (or numpy) and a reload
never pauses answers while a million lines are parsed. Both processes must share the
interpreter's string hash seed (``PYTHONHASHSEED``), which ``kidshield serve`` arranges;
without it the build runs in-process as usual.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from kidshield.config import Config
from kidshield.errors import KidshieldError
from kidshield.lists.loader import LoadResult, load_lists
from kidshield.policy.domains import DomainIndex
from kidshield.policy.model import BlockLists
from kidshield.process import python_m


def can_isolate() -> bool:
    seed = os.environ.get("PYTHONHASHSEED", "")
    return seed.isdigit() and seed != "0"


def load_lists_isolated(config: Config, workdir: Path | None = None) -> LoadResult:
    if not can_isolate():
        return load_lists(config)
    folder = workdir or Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="kidshield-index-", suffix=".bin", dir=folder)
    os.close(fd)
    try:
        proc = subprocess.run(
            [*python_m("kidshield.lists.isolated"), name],
            input=pickle.dumps(config), capture_output=True, check=False,
        )
        if proc.returncode != 0:
            raise KidshieldError("building the list index failed:\n"
                                 + proc.stderr.decode(errors="replace")[-2000:])
        reports, problems, stale, categories, infos = pickle.loads(proc.stdout)
        index = DomainIndex.load(name)
    finally:
        # The mapping stays valid after the name is gone; nothing is left on disk.
        Path(name).unlink(missing_ok=True)
    result = LoadResult(BlockLists(index, categories, infos), reports, problems, stale)
    return result


def _child(path: str) -> None:
    config: Config = pickle.loads(sys.stdin.buffer.read())
    result = load_lists(config)
    result.lists.index.save(path)
    sys.stdout.buffer.write(pickle.dumps(
        (result.reports, result.problems, result.stale, result.lists.categories,
         result.lists.lists)))


if __name__ == "__main__":
    _child(sys.argv[1])
