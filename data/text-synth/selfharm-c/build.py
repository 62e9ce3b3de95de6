"""Compile the third self-harm writer's posts in src/ into JSONL files.

The source format, the labels and the bookkeeping are messages-b's (``../messages-b/build.py``,
loaded from there so the two folders cannot drift apart); this script adds only that no text may
already be in ``../messages/`` or ``../messages-b/``, so leave-one-source-out never tests on a
training row. It never writes or varies a post's text.

    python data/text-synth/selfharm-c/build.py           # rewrite the .jsonl files and counts
    python data/text-synth/selfharm-c/build.py --check   # exit 1 if anything is out of date

Standard library only.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
OTHER_WRITERS = (HERE.parent / "messages", HERE.parent / "messages-b")


def _messages_b_build() -> ModuleType:
    path = HERE.parent / "messages-b" / "build.py"
    spec = importlib.util.spec_from_file_location("messages_b_build", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSONL is out of date")
    args = parser.parse_args(argv)
    mb = _messages_b_build()
    readme_path = HERE / "README.md"
    try:
        # the first writer is checked by build() itself; the second one here, row by row
        built = mb.build(HERE / "src", OTHER_WRITERS[0])
        theirs = mb.first_writer_texts(OTHER_WRITERS[1])
        for name, text in built.items():
            for number, line in enumerate(text.splitlines(), 1):
                row = mb.json.loads(line)
                if mb.normalised(row["text"]) in theirs:
                    raise mb.SourceError(f"{name}:{number}: already in messages-b/")
        readme = mb.readme_with_counts(readme_path.read_text(encoding="utf-8"), built)
    except mb.SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return mb.write_or_check(HERE, built, readme, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
