"""Compile the second writer's conversations in src/ into one JSONL file per kind of material.

The source format, the row format and the bookkeeping are those of ../conversations (see its
README.md): this folder is built by that folder's build.py so the two sources can never drift
apart in format, only in what their writers wrote.

    python data/text-synth/conversations-b/build.py           # rewrite the .jsonl files
    python data/text-synth/conversations-b/build.py --check   # exit 1 if they are out of date
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "conversations_build", HERE.parent / "conversations" / "build.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    sys.exit(_builder().main(folder=HERE))
