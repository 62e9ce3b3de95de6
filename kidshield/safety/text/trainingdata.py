"""Reading labelled training data (JSONL, optionally gzip) and splitting it deterministically.

Every ``*.jsonl`` / ``*.jsonl.gz`` file under a data folder is one *source* (its name without the
extension; files in sub-folders are named ``folder/name``). A row is
``{"id", "text", "labels", "source_label"}`` plus optional conversation fields (``conversation``,
``turn``, ``sender``, ``sender_age``, ``recipient``, ``recipient_age``, ``at``, ``stage``,
``conversation_labels``). Chat *segments* (``userN: message`` per line, as in the chit-chat
source) are kept whole for the conversation model and also cut into single messages for the
message model.

The split is a hash of the source and the conversation id (or the row id when there is none),
so a conversation never straddles train, validation and test, and adding rows never moves the
old ones: 80 % train, 10 % validation (calibration and thresholds), 10 % test (reported only).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kidshield.errors import InputError

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
TRAIN, VALIDATION, TEST = "train", "validation", "test"
_SEGMENT_LINE_RE = re.compile(r"^(user\d+): ?(.*)$")


@dataclass(frozen=True, slots=True)
class Row:
    source: str
    id: str
    text: str
    labels: frozenset[str]
    split: str
    where: str  # file:line
    conversation: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_segment(self) -> bool:
        return is_chat_segment(self.text)


def split_of(source: str, group: str) -> str:
    """train / validation / test from a stable hash (80 / 10 / 10)."""
    bucket = int.from_bytes(hashlib.sha256(f"{source}\x00{group}".encode()).digest()[:4], "big")
    slot = bucket % 100
    if slot < 80:
        return TRAIN
    if slot < 90:
        return VALIDATION
    return TEST


def is_chat_segment(text: str) -> bool:
    """``userN: message`` on every non-empty line (at least two lines)."""
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) >= 2 and all(_SEGMENT_LINE_RE.match(line) for line in lines)


def segment_messages(text: str) -> list[tuple[str, str]]:
    """(speaker, message) pairs of a chat segment."""
    out: list[tuple[str, str]] = []
    for line in text.split("\n"):
        match = _SEGMENT_LINE_RE.match(line)
        if match and match.group(2).strip():
            out.append((match.group(1), match.group(2)))
    return out


def source_group(source: str) -> str:
    """The unit left out together in leave-one-source-out: a bundle file, or one folder of
    the project's own data (``messages/...``, ``conversations/...``)."""
    return source.split("/", 1)[0]


# folders of evaluation data that are not training data: the personal-information sets (one
# folder per writer, ``personal-info``, ``personal-info-b``, ...) measure the rule-based
# detector, which is not learnt, and their held-out halves must stay unseen. A prefix, not a
# list: a new writer's set must not become training data because nobody added it here.
NOT_TRAINING_PREFIX = "personal-info"
# any other folder is held out of training by a file of this name in it, whose text says why
# (a writer's data that did not clear its bar is kept to measure with, not to train on)
NOT_TRAINING_MARKER = "NOT-TRAINING-DATA"


def _is_evaluation_folder(folder: Path) -> bool:
    name = folder.name
    return (
        name == NOT_TRAINING_PREFIX
        or name.startswith(NOT_TRAINING_PREFIX + "-")
        or (folder / NOT_TRAINING_MARKER).is_file()
    )


def source_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: training data folder not found")
    held = {
        sub for sub in folder.rglob("*") if sub.is_dir() and _is_evaluation_folder(sub)
    }
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name.endswith((".jsonl", ".jsonl.gz"))
        and not any(parent in held for parent in p.parents)
    )
    if not files:
        raise InputError(f"{folder}: no *.jsonl or *.jsonl.gz files")
    return files


def source_name(folder: Path, path: Path) -> str:
    name = path.name.removesuffix(".gz").removesuffix(".jsonl")
    parent = path.parent.relative_to(folder)
    return name if parent == Path(".") else f"{parent.as_posix()}/{name}"


def _open(path: Path) -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_source(folder: Path, path: Path) -> Iterator[Row]:
    source = source_name(folder, path)
    try:
        with _open(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
                yield _row(raw, source, where)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None


def _row(raw: Any, source: str, where: str) -> Row:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a JSON object")
    text, labels, row_id = raw.get("text"), raw.get("labels"), raw.get("id")
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string")
    if not isinstance(labels, list) or not labels:
        raise InputError(f"{where}: 'labels' must be a non-empty list")
    bad = [label for label in labels if label not in LABELS]
    if bad:
        raise InputError(f"{where}: unknown label {bad[0]!r}; labels are {', '.join(LABELS)}")
    if not isinstance(row_id, str | int) or isinstance(row_id, bool):
        raise InputError(f"{where}: 'id' must be a string")
    conversation = raw.get("conversation")
    group = str(conversation) if conversation is not None else str(row_id)
    extra = {
        k: raw[k]
        for k in (
            "turn",
            "sender",
            "sender_age",
            "recipient",
            "recipient_age",
            "at",
            "stage",
            "conversation_labels",
            "source_label",
        )
        if k in raw
    }
    return Row(
        source,
        str(row_id),
        text,
        frozenset(str(label) for label in labels),
        split_of(source, group),
        where,
        None if conversation is None else str(conversation),
        extra,
    )


def read_folders(folders: list[Path]) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    for folder in folders:
        for path in source_files(folder):
            name = source_name(folder, path)
            if name in seen:
                raise InputError(f"{path}: a second source named {name!r}; rename one file")
            seen.add(name)
            rows.extend(read_source(folder, path))
    return rows


# a conversation turn that is a risky move only in its context ("10 minutes", "ur turn"): the
# conversation model sees it, the message model does not learn from it
NEEDS_CONTEXT = "needs context"
SEGMENT_MESSAGE_SHARE = 4  # one chat-segment message in this many is kept (chosen by hash)


def _kept(key: str, share: int) -> bool:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % share == 0


def message_rows(rows: list[Row], share: int = SEGMENT_MESSAGE_SHARE) -> list[Row]:
    """Rows for the message model: single messages, with chat segments cut into messages
    (duplicates within a source and split dropped; the split is the segment's). Segments
    give over 200,000 casual messages; one in ``share`` is plenty and halves training time."""
    out: list[Row] = []
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        if not row.is_segment:
            if NEEDS_CONTEXT not in str(row.extra.get("source_label", "")):
                out.append(row)
            continue
        for number, (_speaker, message) in enumerate(segment_messages(row.text)):
            key = (row.source, row.split, message.strip().lower())
            if key in seen or not _kept(f"{row.source}\x00{row.id}#{number}", share):
                continue
            seen.add(key)
            out.append(
                Row(
                    row.source,
                    f"{row.id}#{number}",
                    message,
                    row.labels,
                    row.split,
                    row.where,
                    row.conversation,
                )
            )
    return out
