"""The hand-written single-message training data in data/text-synth/messages/ (first writer),
messages-b/ (second writer, same row format) and selfharm-c/ (third self-harm writer, same
format) stays well formed.

The model engineer's loader and the training runs trust these files, so a bad row must fail here
(with file:line) rather than silently skew a model.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SYNTH = Path(__file__).resolve().parents[3] / "data" / "text-synth"
MESSAGES = SYNTH / "messages"
SECOND = SYNTH / "messages-b"
THIRD_SELF_HARM = SYNTH / "selfharm-c"
# Each folder is one source for leave-one-source-out.
FOLDERS = [MESSAGES, SECOND, THIRD_SELF_HARM]
LABELS = frozenset(
    {
        "grooming",
        "bullying",
        "self_harm",
        "sexual_content",
        "sextortion",
        "threat",
        "hate",
        "benign",
    }
)
FIELDS = {"id", "text", "labels", "source_label"}
FILES = sorted(path for folder in FOLDERS for path in folder.glob("*.jsonl"))
# A README row like "| `self_harm.jsonl` | 1,512 | ... |".
README_COUNT = re.compile(r"^\|\s*`([\w-]+\.jsonl)`\s*\|\s*([\d,]+)\s*\|", re.MULTILINE)


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{_name(path)}: starts with a byte-order mark"
    assert raw.endswith(b"\n"), f"{_name(path)}: last line has no newline"
    rows = []
    for number, line in enumerate(raw.decode("utf-8").split("\n")[:-1], start=1):
        where = f"{_name(path)}:{number}"
        assert line.strip(), f"{where}: blank line"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            pytest.fail(f"{where}: not JSON ({error})")
        assert isinstance(row, dict), f"{where}: not a JSON object"
        rows.append((number, row))
    return rows


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_the_folder_has_data_files_and_a_readme(folder: Path) -> None:
    assert list(folder.glob("*.jsonl")), f"no .jsonl files in {folder}"
    assert (folder / "README.md").is_file()


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_row_has_the_shared_format(path: Path) -> None:
    for number, row in _rows(path):
        where = f"{_name(path)}:{number}"
        assert set(row) == FIELDS, f"{where}: fields {sorted(row)}, expected {sorted(FIELDS)}"
        text, labels, source = row["text"], row["labels"], row["source_label"]
        assert isinstance(text, str), f"{where}: text is not a string"
        assert text.strip() == text and text, f"{where}: empty text or edge whitespace"
        assert isinstance(labels, list) and labels, f"{where}: labels must be a non-empty list"
        assert all(isinstance(label, str) for label in labels), f"{where}: labels not strings"
        assert len(set(labels)) == len(labels), f"{where}: repeated label"
        assert set(labels) <= LABELS, f"{where}: unknown labels {set(labels) - LABELS}"
        assert labels == ["benign"] or "benign" not in labels, f"{where}: benign with a risk"
        assert isinstance(source, str), f"{where}: source_label is not a string"
        parts = source.split(":")
        assert parts[0] == "synthetic" and len(parts) >= 3, f"{where}: source_label {source!r}"
        assert parts[1] in labels, f"{where}: source_label {source!r} disagrees with {labels}"


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_ids_are_the_file_name_and_a_number(path: Path) -> None:
    for number, row in _rows(path):
        stem, _, n = str(row["id"]).rpartition("-")
        assert stem == path.stem and n.isdigit(), f"{_name(path)}:{number}: id {row['id']!r}"


def test_ids_are_unique_across_files() -> None:
    ids = Counter(str(row["id"]) for path in FILES for _, row in _rows(path))
    repeated = [rid for rid, count in ids.items() if count > 1]
    assert not repeated, f"repeated ids: {repeated[:10]}"


def test_no_text_appears_twice() -> None:
    # Case and spacing are ignored: "lol ok" and "LOL  ok" teach a model the same thing twice.
    first: dict[str, str] = {}
    repeated = []
    for path in FILES:
        for number, row in _rows(path):
            key = _normalised(str(row["text"]))
            where = f"{_name(path)}:{number}"
            if key in first:
                repeated.append(f"{where} repeats {first[key]}")
            else:
                first[key] = where
    assert not repeated, "\n".join(repeated[:20])


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_readme_counts_match_the_files(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    # Only the "Files and counts" section: other tables in the README also list files and rows.
    section = readme.split("\n## Files and counts\n", 1)[1].split("\n## ", 1)[0]
    stated = {name: int(count.replace(",", "")) for name, count in README_COUNT.findall(section)}
    actual = {path.name: len(_rows(path)) for path in sorted(folder.glob("*.jsonl"))}
    assert stated == actual


@pytest.mark.parametrize("folder", [SECOND, THIRD_SELF_HARM], ids=lambda folder: folder.name)
def test_the_written_folders_are_what_their_sources_build(folder: Path) -> None:
    # these folders are written in src/*.txt; a hand edit of a .jsonl would be lost on the next
    # build, and the build refuses a text another writer's folder already has.
    result = subprocess.run(
        [sys.executable, str(folder / "build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", sorted(SECOND.glob("*.jsonl")), ids=_name)
def test_second_writer_rows_keep_its_readmes_promises(path: Path) -> None:
    for number, row in _rows(path):
        where = f"{_name(path)}:{number}"
        labels = row["labels"]
        assert isinstance(labels, list)
        if {"hate", "threat"} & set(labels):
            assert "bullying" in labels, f"{where}: hate or threat without bullying"
        if "_posts" in path.stem:
            words = len(str(row["text"]).split())
            # the third voice's batches (posts 23-, negatives 24-) run from a few lines to a page
            assert 25 <= words <= 600, f"{where}: a post of {words} words (25-600)"


@pytest.mark.parametrize("path", sorted(THIRD_SELF_HARM.glob("*.jsonl")), ids=_name)
def test_third_self_harm_writer_keeps_its_readmes_promises(path: Path) -> None:
    # at-risk posts are self_harm only, near misses benign only, one to about fifteen sentences
    wanted = {"at_risk_posts": ["self_harm"], "at_risk_posts_negatives": ["benign"]}[path.stem]
    for number, row in _rows(path):
        where = f"{_name(path)}:{number}"
        assert row["labels"] == wanted, f"{where}: labels {row['labels']}, expected {wanted}"
        words = len(str(row["text"]).split())
        assert 2 <= words <= 300, f"{where}: a post of {words} words (2-300)"
