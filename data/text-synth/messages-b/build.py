"""Compile the second writer's hand-written messages and posts in src/ into JSONL files.

Hundreds of tweets and Reddit-length posts are unreadable as JSON lines, so they are written in
a plain form (src/<file>-<NN>.txt, described in README.md) and this script does only the
bookkeeping: ids, labels and source labels from the headers, and the checks a reviewer cannot do
by eye (no text twice in this folder, none copied from the first writer's ../messages). It never
writes or varies a message's text.

    python data/text-synth/messages-b/build.py           # rewrite the .jsonl files and counts
    python data/text-synth/messages-b/build.py --check   # exit 1 if anything is out of date

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
FIRST_WRITER = HERE.parent / "messages"

LABELS = (
    "grooming",
    "bullying",
    "self_harm",
    "sexual_content",
    "sextortion",
    "threat",
    "hate",
    "benign",
)
SRC_NAME = re.compile(r"^(?P<stem>[a-z][a-z0-9_]*[a-z0-9])-(?P<batch>\d{2})\.txt$")
HEADER = re.compile(r"^@\s+(?P<labels>[a-z_,\s]+?)\s*\|\s*(?P<kind>[a-z0-9][a-z0-9:-]*)$")
FENCE = "~~~"


class SourceError(Exception):
    """A source line that cannot be compiled; the message names file:line."""


@dataclass(frozen=True)
class Item:
    where: str
    text: str
    labels: tuple[str, ...]
    kind: str


def normalised(text: str) -> str:
    """Case and spacing do not make a text new (the first writer's validator uses the same)."""
    return " ".join(text.casefold().split())


def parse_labels(raw: str, where: str) -> tuple[str, ...]:
    labels = [x.strip() for x in raw.split(",") if x.strip()]
    bad = [x for x in labels if x not in LABELS]
    if bad:
        raise SourceError(f"{where}: unknown label {bad[0]!r} (one of {', '.join(LABELS)})")
    if not labels or len(set(labels)) != len(labels):
        raise SourceError(f"{where}: labels must be listed once each")
    if "benign" in labels and len(labels) > 1:
        raise SourceError(f"{where}: benign beside a risk")
    return tuple(sorted(labels, key=LABELS.index))


def read_items(path: Path) -> list[Item]:
    items: list[Item] = []
    labels: tuple[str, ...] | None = None
    kind = ""
    block: list[str] | None = None
    block_start = 0
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{lineno}"
        line = raw.rstrip()
        if block is not None:  # inside a multi-line post
            if line == FENCE:
                text = "\n".join(block).strip()
                text = re.sub(r"\n{3,}", "\n\n", text)
                if not text:
                    raise SourceError(f"{path.name}:{block_start}: an empty post")
                assert labels is not None
                items.append(Item(f"{path.name}:{block_start}", text, labels, kind))
                block = None
            else:
                block.append(line)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@ "):
            match = HEADER.match(line)
            if not match:
                raise SourceError(f"{where}: a header is '@ label[,label] | kind'")
            labels = parse_labels(match["labels"], where)
            kind = match["kind"]
            continue
        if labels is None:
            raise SourceError(f"{where}: text before the first '@ labels | kind' header")
        if line == FENCE:
            block, block_start = [], lineno
        elif line.startswith("- "):
            text = line[2:].strip()
            if not text:
                raise SourceError(f"{where}: an empty message")
            items.append(Item(where, text, labels, kind))
        else:
            raise SourceError(f"{where}: expected '- text', '{FENCE}', '@ header' or '# comment'")
    if block is not None:
        raise SourceError(f"{path.name}:{block_start}: '{FENCE}' is never closed")
    return items


def first_writer_texts(folder: Path = FIRST_WRITER) -> set[str]:
    texts: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.add(normalised(json.loads(line)["text"]))
    return texts


def build(src: Path = SRC, other_writer: Path = FIRST_WRITER) -> dict[str, str]:
    """Return {output file name: JSONL text} for every file stem found in src/."""
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(src.glob("*.txt")):
        match = SRC_NAME.match(path.name)
        if not match:
            raise SourceError(f"{path.name}: source files are named <file>-<NN>.txt")
        by_stem.setdefault(match["stem"], []).append(path)
    theirs = first_writer_texts(other_writer) if other_writer.is_dir() else set()
    seen: dict[str, str] = {}
    out: dict[str, str] = {}
    for stem, paths in sorted(by_stem.items()):
        lines: list[str] = []
        for path in paths:
            for item in read_items(path):
                key = normalised(item.text)
                if key in seen:
                    raise SourceError(f"{item.where}: the same text as {seen[key]}")
                if key in theirs:
                    raise SourceError(f"{item.where}: already in {other_writer.name}/ (first writer)")
                seen[key] = item.where
                row = {
                    "id": f"{stem}-{len(lines) + 1}",
                    "text": item.text,
                    "labels": list(item.labels),
                    "source_label": f"synthetic:{item.labels[0]}:{item.kind}",
                }
                lines.append(json.dumps(row, ensure_ascii=False))
        out[f"{stem}.jsonl"] = "".join(line + "\n" for line in lines)
    return out


def counts_table(built: dict[str, str]) -> str:
    """The README's table of files and counts, regenerated from the built files."""
    lines = [
        "| file | rows | labels | words per row (min / median / max) |",
        "|---|---:|---|---|",
    ]
    total = 0
    for name, text in sorted(built.items()):
        rows = [json.loads(x) for x in text.splitlines()]
        labels: dict[str, int] = {}
        for row in rows:
            for label in row["labels"]:
                labels[label] = labels.get(label, 0) + 1
        words = [len(row["text"].split()) for row in rows]
        label_text = ", ".join(f"{label} {labels[label]:,}" for label in LABELS if label in labels)
        lines.append(
            f"| `{name}` | {len(rows):,} | {label_text} "
            f"| {min(words)} / {statistics.median(words):g} / {max(words)} |"
        )
        total += len(rows)
    lines.append(f"| **total** | **{total:,}** | | |")
    return "\n".join(lines) + "\n"


def readme_with_counts(readme: str, built: dict[str, str]) -> str:
    start, end = "<!-- counts -->\n", "<!-- /counts -->"
    if start not in readme or end not in readme:
        raise SourceError(f"README.md lacks the {start.strip()} ... {end} markers")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + counts_table(built) + end + tail


def write_or_check(folder: Path, built: dict[str, str], readme: str, *, check: bool) -> int:
    """Bring ``folder``'s JSONL files and README.md up to date with ``built``, or with
    ``check`` only say what is out of date (exit status 1)."""
    readme_path = folder / "README.md"
    stale = [
        name
        for name, text in built.items()
        if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != text
    ]
    orphans = sorted(p.name for p in folder.glob("*.jsonl") if p.name not in built)
    if readme != readme_path.read_text(encoding="utf-8"):
        stale.append("README.md")
    if check:
        for name in stale + orphans:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale or orphans else 0
    for name in stale:
        if name == "README.md":
            readme_path.write_text(readme, encoding="utf-8")
        else:
            (folder / name).write_text(built[name], encoding="utf-8")
    for name in orphans:
        (folder / name).unlink()
    for name, text in built.items():
        print(f"{name}: {len(text.splitlines())} rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSONL is out of date")
    args = parser.parse_args(argv)
    readme_path = HERE / "README.md"
    try:
        built = build()
        readme = readme_with_counts(readme_path.read_text(encoding="utf-8"), built)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return write_or_check(HERE, built, readme, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
