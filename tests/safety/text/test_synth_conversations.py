"""The hand-written conversation data in data/text-synth/conversations/ (first writer) and
conversations-b/ (second writer, same format) stays well formed.

The training runs trust these files (they split by conversation, order by time and learn from
per-message labels and stages), so a bad row must fail here, naming file:line, rather than
silently skew a model. The checks below are written independently of build.py: they read the
.jsonl files as the model engineer's loader does.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

SYNTH = Path(__file__).resolve().parents[3] / "data" / "text-synth"
CONVERSATIONS = SYNTH / "conversations"
# Each folder is one source for leave-one-source-out; both are built by conversations/build.py.
FOLDERS = [CONVERSATIONS, SYNTH / "conversations-b"]
FILES = sorted(path for folder in FOLDERS for path in folder.glob("*.jsonl"))
LABELS = {
    "grooming",
    "bullying",
    "self_harm",
    "sexual_content",
    "sextortion",
    "threat",
    "hate",
    "benign",
}
STAGES = {
    "rapport",
    "gifts",
    "exclusivity",
    "secrecy",
    "risk_assessment",
    "off_platform",
    "desensitisation",
    "sexual",
    "image_request",
    "meeting",
}
CONVERSATION_LABELS = [["benign"], ["grooming"], ["grooming", "sextortion"], ["sextortion"]]
FIELDS = {
    "id": str,
    "text": str,
    "labels": list,
    "source_label": str,
    "conversation": str,
    "turn": int,
    "sender": str,
    "sender_age": (int, type(None)),
    "recipient": str,
    "recipient_age": (int, type(None)),
    "at": str,
    "stage": (str, type(None)),
    "conversation_labels": list,
}
# "[image]", "[video]", ...: an attachment the text cannot see, so it never carries a risk label.
PLACEHOLDER = re.compile(r"^\[(image|video|screenshot|file|audio)\]$")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")

Row = dict[str, object]


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conversations_build", CONVERSATIONS / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the module runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _rows(path: Path) -> list[tuple[str, Row]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{_name(path)}: starts with a byte-order mark"
    assert raw.endswith(b"\n"), f"{_name(path)}: last line has no newline"
    rows = []
    for number, line in enumerate(raw.decode("utf-8").split("\n")[:-1], start=1):
        where = f"{_name(path)}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            pytest.fail(f"{where}: not JSON ({error})")
        assert isinstance(row, dict), f"{where}: not a JSON object"
        rows.append((where, row))
    return rows


def _by_conversation(path: Path) -> dict[str, list[tuple[str, Row]]]:
    conversations: dict[str, list[tuple[str, Row]]] = defaultdict(list)
    for where, row in _rows(path):
        conversations[str(row["conversation"])].append((where, row))
    return conversations


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_the_folder_has_grooming_and_benign_files_and_a_readme(folder: Path) -> None:
    names = [path.name for path in sorted(folder.glob("*.jsonl"))]
    assert any(name.startswith("grooming") for name in names), names
    assert any(name.startswith("benign") for name in names), names
    assert (folder / "README.md").is_file()


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_the_jsonl_files_and_readme_counts_are_what_the_sources_build(folder: Path) -> None:
    builder = _load_builder()
    built = builder.build(folder / "src")
    on_disk_names = sorted(path.name for path in folder.glob("*.jsonl"))
    assert sorted(built) == on_disk_names, "a source kind and a .jsonl disagree"
    for name, text in built.items():
        on_disk = (folder / name).read_text(encoding="utf-8")
        assert on_disk == text, f"{folder.name}/{name} is out of date: run its build.py"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert builder.readme_with_counts(readme, built) == readme, "README counts: run build.py"


def test_the_second_folder_builds_with_the_first_folders_builder() -> None:
    # conversations-b/build.py must stay a thin front end: one format, one builder.
    result = subprocess.run(
        [sys.executable, str(SYNTH / "conversations-b" / "build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_row_has_the_right_fields_and_types(path: Path) -> None:
    for where, row in _rows(path):
        assert set(row) == set(FIELDS), f"{where}: fields {sorted(row)}"
        for field, kind in FIELDS.items():
            value = row[field]
            assert isinstance(value, kind) and not isinstance(value, bool), f"{where}: {field}"
        text = str(row["text"])
        assert text and text == text.strip(), f"{where}: empty text or edge whitespace"
        assert ISO_WITH_OFFSET.match(str(row["at"])), f"{where}: at {row['at']!r} needs an offset"
        for age_field in ("sender_age", "recipient_age"):
            age = row[age_field]
            assert age is None or 5 <= int(str(age)) <= 99, f"{where}: {age_field} {age}"
        assert row["sender"] != row["recipient"], f"{where}: sends to itself"


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_labels_stages_and_source_labels_agree(path: Path) -> None:
    benign_file = path.name.startswith("benign")
    for where, row in _rows(path):
        labels = row["labels"]
        conversation_labels = row["conversation_labels"]
        stage = row["stage"]
        assert isinstance(labels, list) and labels, f"{where}: no labels"
        assert set(labels) <= LABELS, f"{where}: unknown labels {set(labels) - LABELS}"
        assert len(set(labels)) == len(labels), f"{where}: a label twice"
        assert labels == ["benign"] or "benign" not in labels, f"{where}: benign beside a risk"
        assert conversation_labels in CONVERSATION_LABELS, f"{where}: {conversation_labels}"
        assert (conversation_labels == ["benign"]) == benign_file, f"{where}: in the wrong file"
        for label in ("grooming", "sextortion"):
            if label in labels:
                assert label in conversation_labels, f"{where}: {label} in a conversation without"
        if stage is not None:
            assert stage in STAGES, f"{where}: unknown stage {stage!r}"
            assert "grooming" in labels, f"{where}: a stage on a message that is not grooming"
        elif "grooming" in labels:
            pytest.fail(f"{where}: a grooming message without its stage")
        if PLACEHOLDER.match(str(row["text"])):
            assert labels == ["benign"], f"{where}: an attachment placeholder with a risk label"
        source = str(row["source_label"]).split("; ")[0].split(":")
        assert source[0] == "synthetic" and len(source) == 3, f"{where}: {row['source_label']!r}"
        assert source[1] in labels, f"{where}: source_label disagrees with {labels}"
        if stage is not None:
            assert source[2] == stage, f"{where}: source_label disagrees with stage {stage}"


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_ids_are_unique_and_name_their_file_conversation_and_turn(path: Path) -> None:
    seen: dict[str, str] = {}
    for where, row in _rows(path):
        row_id = str(row["id"])
        assert row_id not in seen, f"{where}: id {row_id} already at {seen[row_id]}"
        seen[row_id] = where
        assert row_id == f"{row['conversation']}-{row['turn']}", f"{where}: id {row_id}"
        assert re.fullmatch(rf"{re.escape(path.stem)}-\d{{3}}", str(row["conversation"])), where


def test_ids_are_unique_across_both_folders() -> None:
    # Conversation ids are global: a model engineer may pool both writers' conversations.
    ids = [str(row["id"]) for path in FILES for _, row in _rows(path)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_each_conversation_is_contiguous_in_order_and_consistent(path: Path) -> None:
    rows = _rows(path)
    order = [str(row["conversation"]) for _, row in rows]
    runs = [c for i, c in enumerate(order) if i == 0 or order[i - 1] != c]
    assert len(runs) == len(set(runs)), f"{_name(path)}: a conversation is split across the file"
    for conversation, messages in _by_conversation(path).items():
        first_where, first = messages[0]
        assert [row["turn"] for _, row in messages] == list(range(1, len(messages) + 1)), (
            f"{first_where}: turns of {conversation} are not 1, 2, 3, ..."
        )
        times = [datetime.fromisoformat(str(row["at"])) for _, row in messages]
        for (where, _), before, after in zip(messages[1:], times, times[1:], strict=False):
            assert after > before, f"{where}: at does not increase"
        assert len({json.dumps(row["conversation_labels"]) for _, row in messages}) == 1, (
            f"{first_where}: conversation_labels change within {conversation}"
        )
        ages: dict[str, object] = {}
        for where, row in messages:
            for who, age in ((row["sender"], row["sender_age"]), (row["recipient"], None)):
                if who != "*" and age is not None:
                    assert ages.setdefault(str(who), age) == age, f"{where}: {who} changes age"
        participants = {str(row["sender"]) for _, row in messages}
        for where, row in messages:
            recipient = str(row["recipient"])
            assert recipient == "*" or recipient in participants or len(participants) == 1, (
                f"{where}: recipient {recipient} never speaks in {conversation}"
            )
        risky = [row for _, row in messages if row["labels"] != ["benign"]]
        if first["conversation_labels"] == ["benign"]:
            assert not risky, f"{first_where}: a risky message in a benign conversation"
        else:
            assert risky, f"{first_where}: a risky conversation without a risky message"


# What each writer's brief asked for: risky conversations, messages in them, and at least as
# many benign look-alike messages, because those decide the models' precision.
MINIMUM = {"conversations": (250, 6000)}


@pytest.mark.parametrize(
    "folder", [f for f in FOLDERS if f.name in MINIMUM], ids=lambda folder: folder.name
)
def test_there_is_enough_material_and_at_least_as_much_benign_as_risky(folder: Path) -> None:
    min_conversations, min_messages = MINIMUM[folder.name]
    risky: dict[str, int] = defaultdict(int)
    benign = 0
    for path in sorted(folder.glob("*.jsonl")):
        for _, row in _rows(path):
            if row["conversation_labels"] == ["benign"]:
                benign += 1
            else:
                risky[str(row["conversation"])] += 1
    assert len(risky) >= min_conversations, f"{len(risky)} risky conversations"
    assert sum(risky.values()) >= min_messages, f"{sum(risky.values())} risky messages"
    assert benign >= sum(risky.values()), f"{benign} benign messages"


def test_no_two_conversations_are_the_same() -> None:
    seen: dict[tuple[str, ...], str] = {}
    for path in FILES:
        for conversation, messages in _by_conversation(path).items():
            texts = tuple(str(row["text"]) for _, row in messages)
            assert texts not in seen, f"{conversation} repeats {seen[texts]}"
            seen[texts] = conversation


def test_a_source_mistake_is_reported_with_file_and_line(tmp_path: Path) -> None:
    builder = _load_builder()
    (tmp_path / "grooming-test-01.txt").write_text(
        "## 001\nkind: k\nplatform: p\nzone: Europe/London\nstart: 2026-01-01 10:00\n"
        "labels: grooming\n@A a 30\n@B b 12\n---\nA | hi\nA flattery | you're so mature\n",
        encoding="utf-8",
    )
    with pytest.raises(builder.SourceError, match=r"grooming-test-01\.txt:11: unknown stage"):
        builder.build(tmp_path)
