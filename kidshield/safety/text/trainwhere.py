"""Training the learned whereabouts head (:mod:`pii.whereabouts`), part of ``kidshield train text``.

The setting is the one declared and counted once on TEST in the fourteenth session
(docs/safety-log.md), reproduced from ``scripts/pii_learned.py --gated`` exactly:

* positives: the rows of the personal-information writers' DEV halves
  (``personal-info*/dev.jsonl`` in the data folders) whose ``kinds`` say where to find the
  writer (weight 10); negatives: their rows without personal information (weight 3) and a fixed
  sample of ``BENIGN_SAMPLE`` benign messages (seed 0) of the ``train`` split of every shipped
  source (chat segments cut into messages, one in four kept; weight 1). Rows with other
  personal information are left out. The TEST halves are never read.
* logistic regression over hashed n-grams (liblinear, dual, C = 4).
* the threshold: the best F1 of the gated head alone on whereabouts rows against rows without
  personal information, over scores from an inner leave-one-writer-out, above the margin that
  flags ``BENIGN_CAP`` of the ``validation`` split's benign rows (a chat segment flagged when
  any of its messages is; only messages where the gate finds a place are scored). That margin
  is a row's own (the quantile's "higher" value, fifteenth session): an interpolated one sat
  between two rows and let one row more than the cap through, and moved with whichever single
  row was next (docs/safety-log.md, "The place gate widened").
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.modelfiles import sha256
from kidshield.safety.text.pii.places import find_place
from kidshield.safety.text.pii.whereabouts import BUCKETS, FORMAT, MANIFEST, WEIGHTS, hashed
from kidshield.safety.text.trainingdata import (
    SEGMENT_MESSAGE_SHARE,
    TRAIN,
    VALIDATION,
    Row,
    is_chat_segment,
    segment_messages,
)

WHERE = frozenset({"live_location", "location", "school", "age_location", "address"})
POSITIVE_WEIGHT = 10.0
VOICE_NEGATIVE_WEIGHT = 3.0
C = 4.0
BENIGN_SAMPLE = 40_000
BENIGN_CAP = 0.0002
MAX_MESSAGE = 2000
VOICE_PREFIX = "personal-info"

Vector = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


@dataclass(slots=True)
class Voice:
    name: str
    x: list[Vector]
    pii: npt.NDArray[np.bool_]
    where: npt.NDArray[np.bool_]
    gate: npt.NDArray[np.bool_]


def voice_folders(folders: Sequence[Path]) -> list[Path]:
    """The writers' sets (``personal-info``, ``personal-info-b``, ...) in the data folders."""
    found = [
        sub
        for folder in folders
        for sub in sorted(folder.glob(f"{VOICE_PREFIX}*"))
        if (sub / "dev.jsonl").is_file()
    ]
    return sorted(found, key=lambda p: p.name)


def read_voices(folders: Sequence[Path]) -> list[Voice]:
    normalise = load_lexicon().normalizer.normalize
    voices = []
    for folder in voice_folders(folders):
        path = folder / "dev.jsonl"
        rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        texts = [str(r["text"]) for r in rows]
        voices.append(
            Voice(
                folder.name,
                [hashed(normalise(t).text) for t in texts],
                np.array(["personal_info" in r.get("labels", []) for r in rows], bool),
                np.array([bool(WHERE & set(r.get("kinds", []))) for r in rows], bool),
                np.array([find_place(t) is not None for t in texts], bool),
            )
        )
    return voices


@dataclass(slots=True)
class Benign:
    train_x: list[Vector]  # the training sample's messages
    val_x: list[Vector]  # the validation rows' messages where the gate finds a place
    val_group: npt.NDArray[np.int64]  # which validation row each of those is
    val_rows: int


def benign_messages(rows: Sequence[Row]) -> Benign:
    """The benign training sample and the gated validation messages (see the module doc)."""
    normalise = load_lexicon().normalizer.normalize
    messages: list[str] = []
    split: list[str] = []
    segment: list[bool] = []
    row_of: list[int] = []
    for number, row in enumerate(rows):
        is_segment = is_chat_segment(row.text)
        parts = [m for _, m in segment_messages(row.text)] if is_segment else [row.text]
        for part in parts:
            messages.append(part[:MAX_MESSAGE])
            split.append(row.split)
            segment.append(is_segment)
            row_of.append(number)
    kept = [
        i
        for i in range(len(messages))
        if split[i] == TRAIN
        and (not segment[i] or zlib.crc32(str(i).encode()) % SEGMENT_MESSAGE_SHARE == 0)
    ]
    eligible = np.array(kept, np.int64)
    chosen = np.sort(
        np.random.default_rng(0).choice(
            eligible, min(BENIGN_SAMPLE, len(eligible)), replace=False
        )
    )
    train_x = [hashed(normalise(messages[i]).text) for i in chosen]
    val_row: dict[int, int] = {}
    val_x: list[Vector] = []
    groups: list[int] = []
    for i, text in enumerate(messages):
        if split[i] != VALIDATION:
            continue
        group = val_row.setdefault(row_of[i], len(val_row))
        if find_place(text) is not None:
            val_x.append(hashed(normalise(text).text))
            groups.append(group)
    return Benign(train_x, val_x, np.array(groups, np.int64), len(val_row))


def csr(vectors: Sequence[Vector]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0] + [len(i) for i, _ in vectors])
    indices = np.concatenate([i for i, _ in vectors]) if vectors else np.zeros(0, np.int64)
    values = np.concatenate([v for _, v in vectors]) if vectors else np.zeros(0)
    return csr_matrix((values, indices, indptr), shape=(len(vectors), BUCKETS))


def _fit(voices: Sequence[Voice], benign: Benign) -> Any:
    from sklearn.linear_model import LogisticRegression

    xs: list[Vector] = []
    ys: list[int] = []
    ws: list[float] = []
    for voice in voices:
        for vec, pii, where in zip(voice.x, voice.pii, voice.where, strict=True):
            if where or not pii:
                xs.append(vec)
                ys.append(1 if where else 0)
                ws.append(POSITIVE_WEIGHT if where else VOICE_NEGATIVE_WEIGHT)
    n = len(benign.train_x)
    model = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=1000, random_state=0)
    model.fit(
        csr(xs + benign.train_x),
        np.array(ys + [0] * n),
        sample_weight=np.array(ws + [1.0] * n),
    )
    return model


def _margins(model: Any, vectors: Sequence[Vector]) -> npt.NDArray[np.float64]:
    if not vectors:
        return np.zeros(0)
    return np.asarray(model.decision_function(csr(vectors)), dtype=np.float64)


def best_threshold(
    scores: npt.NDArray[np.float64],
    where: npt.NDArray[np.bool_],
    pii: npt.NDArray[np.bool_],
    floor: float,
) -> tuple[float, float]:
    """(F1, threshold): the threshold above the benign floor with the best F1 of finding
    whereabouts (``where``), judged on whereabouts and rows with no personal information
    (other kinds of it are neither hits nor false alarms); ``floor`` when none beats -1."""
    judged = where | ~pii
    best = (-1.0, floor)
    for t in np.unique(np.round(scores[np.isfinite(scores)], 3)):
        if t <= floor:
            continue
        mine = (scores >= t) & judged
        tp = int((mine & where).sum())
        f1 = 2 * tp / max(tp + int(mine.sum()) + int(where.sum()), 1)
        if f1 > best[0]:
            best = (f1, float(t))
    return best


def train_whereabouts(
    folders: Sequence[Path],
    benign_rows: Sequence[Row],
    out: Path,
    progress: Callable[[str], None],
) -> dict[str, Any] | None:
    """Train the head and write ``WEIGHTS`` and ``MANIFEST`` into ``out``; its figures, or
    None when the data folders hold fewer than two writers' sets (nothing to learn from)."""
    voices = read_voices(folders)
    if len(voices) < 2:
        progress("whereabouts head: fewer than two personal-information writers; not trained")
        return None
    progress(f"whereabouts head: {len(voices)} writers; benign sample")
    benign = benign_messages(benign_rows)
    inner: dict[str, npt.NDArray[np.float64]] = {}
    for held in voices:
        progress(f"whereabouts head: inner fold without {held.name}")
        inner[held.name] = _margins(_fit([v for v in voices if v is not held], benign), held.x)
    progress("whereabouts head: all writers")
    model = _fit(voices, benign)
    scores = np.concatenate([np.where(v.gate, inner[v.name], -np.inf) for v in voices])
    where = np.concatenate([v.where for v in voices])
    pii = np.concatenate([v.pii for v in voices])
    rows = np.full(benign.val_rows, -1e9)
    np.maximum.at(rows, benign.val_group, _margins(model, benign.val_x))
    floor = (
        float(np.quantile(rows, 1.0 - BENIGN_CAP, method="higher"))
        if benign.val_rows
        else -math.inf
    )
    best = best_threshold(scores, where, pii, floor)
    threshold = best[1]
    inner_found = (scores >= threshold) & where
    inner_false = (scores >= threshold) & ~pii
    figures = {
        "threshold": round(threshold, 6),
        "benign_floor": round(floor, 6),
        "inner_f1": round(best[0], 6),
        "inner_recall": round(int(inner_found.sum()) / max(int(where.sum()), 1), 6),
        "inner_flagged_without_pii": round(int(inner_false.sum()) / max(int((~pii).sum()), 1), 6),
        "validation_benign_flagged": round(float((rows >= threshold).mean()), 6),
    }
    out.mkdir(parents=True, exist_ok=True)
    coef = np.asarray(model.coef_[0], dtype=np.float32)
    np.savez_compressed(out / WEIGHTS, coef=coef, bias=np.float32(model.intercept_[0]))
    manifest = {
        "format": FORMAT,
        "name": "kidshield-whereabouts",
        "features": {"hashing": "crc32", "buckets": BUCKETS, "as": "features.py, hashed"},
        "gate": "pii/places.py find_place (case-sensitive)",
        "training": {
            "writers": [v.name for v in voices],
            "half": "dev",
            "positive_kinds": sorted(WHERE),
            "positive_weight": POSITIVE_WEIGHT,
            "writer_negative_weight": VOICE_NEGATIVE_WEIGHT,
            "benign_sample": len(benign.train_x),
            "benign_cap": BENIGN_CAP,
            "c": C,
            "solver": "liblinear (dual)",
        },
        "threshold": threshold,
        "figures": figures,
        "licence": "the project's own data (data/text-synth, written for kidshield) and the "
        "shipped sources of the message model (models/manifest.json lists them and their "
        "licences)",
    }
    manifest["files"] = {WEIGHTS: sha256(out / WEIGHTS)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    progress(f"whereabouts head: threshold {threshold:.3f}, inner F1 {best[0]:.3f}")
    return figures
