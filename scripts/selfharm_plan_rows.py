"""Rows the self-harm plan cues (``intent_with_time``, ``means_ready``) match, and their level.

    PYTHONPATH=$PWD python scripts/selfharm_plan_rows.py scan > rows.jsonl
    PYTHONPATH=$MAIN python scripts/selfharm_plan_rows.py levels rows.jsonl > main.jsonl
    PYTHONPATH=$PWD python scripts/selfharm_plan_rows.py levels rows.jsonl > branch.jsonl

``scan`` (run with the tree that has the cues) reads the bundle's RMHD sample, chit-chat and
GoEmotions files, ``data/text-synth/selfharm-c`` and the teen corpus
(``tests/safety/text/corpus/benign.txt``) and prints every row either cue matches in either
view; only these rows can change level through them. A row of the RMHD TEST half is printed
without its text (TEST rows are only counted). The row counts go to stderr. ``levels`` adds
``assess_message``'s self-harm level (no ages) with whatever tree is on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ("reddit-mental-health-rmhd-sample", "chitchat-byu-pccl", "goemotions-benign")
CUES = ("intent_with_time", "means_ready")


def rows(data: Path) -> Iterator[dict[str, object]]:
    from kidshield.safety.text.halves import half_of

    for name in BUNDLE:
        with gzip.open(data / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                half = half_of(row["text"]) if name.startswith("reddit") else "all"
                yield {"src": name, "id": row["id"], "half": half, "labels": row["labels"],
                       "text": row["text"]}
    for path in sorted((ROOT / "data/text-synth/selfharm-c").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            yield {"src": "selfharm-c", "id": row["id"], "half": "all",
                   "labels": row["labels"], "text": row["text"]}
    corpus = ROOT / "tests/safety/text/corpus/benign.txt"
    for number, text in enumerate(corpus.read_text(encoding="utf-8").splitlines(), 1):
        if text.strip() and not text.startswith("#"):
            yield {"src": "teen-benign", "id": f"benign.txt:{number}", "half": "all",
                   "labels": ["benign"], "text": text}


def scan(data: Path) -> None:
    from kidshield.safety.text.lexicon import load_lexicon
    from kidshield.safety.text.model import Risk

    lexicon = load_lexicon()
    patterns = [p.regex for p in lexicon.for_risk(Risk.SELF_HARM).patterns if p.cue.id in CUES]
    counts: dict[str, int] = {}
    for row in rows(data):
        counts[str(row["src"])] = counts.get(str(row["src"]), 0) + 1
        norm = lexicon.normalizer.normalize(str(row["text"]))
        if any(p.search(norm.text) or p.search(norm.light) for p in patterns):
            if row["half"] == "test":
                row["text"] = None
            print(json.dumps(row))
    print(json.dumps(counts), file=sys.stderr)


def levels(path: Path, data: Path) -> None:
    from kidshield.safety.text import Risk, assess_message

    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["text"] is None:  # a TEST row: counted by its id in the bundle, never shown
            row["text"] = _bundle_text(data, str(row["src"]), str(row["id"]))
        finding = assess_message(row["text"]).finding(Risk.SELF_HARM)
        row["level"] = "none" if finding is None else finding.level.label
        if row["half"] == "test":
            row["text"] = None
        print(json.dumps(row))


def _bundle_text(data: Path, name: str, row_id: str) -> str:
    with gzip.open(data / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] == row_id:
                return str(row["text"])
    sys.exit(f"{name}: no row {row_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("scan", "levels"))
    parser.add_argument("rows", type=Path, nargs="?")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/text-train")
    args = parser.parse_args()
    data = args.data if args.data.is_dir() else Path("/work/shared/data/text-train")
    if args.mode == "scan":
        scan(data)
    elif args.rows is None:
        parser.error("levels needs ROWS")
    else:
        levels(args.rows, data)


if __name__ == "__main__":
    main()
