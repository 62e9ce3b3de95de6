"""Evaluation harness: measure the engine on a labelled corpus (CSV, TSV or JSONL).

Each row has a text and a label. Labels are risk names (``grooming``, ``bullying``, ...) or
``none``; several labels can be joined with ``;`` or ``|``. Public research corpora use their own
labels, so ``--map`` translates them (``--map 1=bullying --map 0=none``). The report gives
precision, recall, F1 and F0.5 per risk (a message counts as flagged for a risk when that risk's
finding reaches ``min_level``), ROC-AUC and PR-AUC from the scores, the share of benign rows
flagged (in all and per risk), and a confusion table of the gold label against the engine's
strongest risk.

A text longer than the engine's limit is cut to it (and counted), never an error. A text whose
every line reads ``userN: message`` (a chat segment, as in chit-chat and grooming-chat corpora)
is scored as a conversation: its messages go through the conversation tracker in order, and the
row is flagged for a risk when the conversation or any of its messages is.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kidshield.errors import InputError
from kidshield.safety.text.assess import MAX_TEXT_LENGTH, assess_message
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import assess_conversation
from kidshield.safety.text.model import AgeBand, Assessment, Risk, RiskLevel
from kidshield.safety.text.state import Message
from kidshield.safety.text.trainingdata import is_chat_segment, segment_messages

NONE_LABEL = "none"
_NONE_ALIASES = frozenset({"", "none", "benign", "safe", "ok", "negative", "neutral", "clean"})
_SEPARATORS = (";", "|")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    gold: frozenset[Risk]
    where: str  # file:line, for error messages


@dataclass(frozen=True, slots=True)
class RiskScores:
    risk: Risk
    tp: int
    fp: int
    fn: int
    benign_flagged: int = 0
    roc_auc: float | None = None
    pr_auc: float | None = None

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def f_beta(self, beta: float) -> float:
        p, r = self.precision, self.recall
        if p == 0.0 and r == 0.0:
            return 0.0
        b2 = beta * beta
        return (1 + b2) * p * r / (b2 * p + r)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f_beta(1.0), 4),
            "f0.5": round(self.f_beta(0.5), 4),
            "benign_flagged": self.benign_flagged,
            "roc_auc": None if self.roc_auc is None else round(self.roc_auc, 4),
            "pr_auc": None if self.pr_auc is None else round(self.pr_auc, 4),
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    total: int
    risks: tuple[RiskScores, ...]
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)  # (gold, predicted)
    flagged_benign: int = 0  # benign rows with any finding
    benign: int = 0
    truncated: int = 0  # texts cut to the engine's length limit
    segments: int = 0  # rows scored as chat segments (conversations)

    @property
    def labels(self) -> list[str]:
        return [r.value for r in Risk] + [NONE_LABEL]

    @property
    def false_positive_rate(self) -> float:
        return self.flagged_benign / self.benign if self.benign else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "benign": self.benign,
            "benign_flagged": self.flagged_benign,
            "false_positive_rate": round(self.false_positive_rate, 4),
            "truncated": self.truncated,
            "segments": self.segments,
            "risks": [r.to_dict() for r in self.risks],
            "confusion": [
                {"gold": gold, "predicted": pred, "count": n}
                for (gold, pred), n in sorted(self.confusion.items())
            ],
        }


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["1=bullying", "0=none"]`` -> ``{"1": "bullying", "0": "none"}`` (validated)."""
    mapping: dict[str, str] = {}
    valid = {r.value for r in Risk} | {NONE_LABEL}
    for item in items:
        raw, sep, risk = item.partition("=")
        risk = risk.strip().lower()
        if not sep or not raw.strip():
            raise InputError(f"--map {item!r}: write it as LABEL=RISK, e.g. 1=bullying")
        if risk not in valid:
            raise InputError(f"--map {item!r}: {risk!r} is not one of {', '.join(sorted(valid))}")
        mapping[raw.strip().lower()] = risk
    return mapping


def _labels(raw: Any, mapping: Mapping[str, str], where: str) -> frozenset[Risk]:
    if isinstance(raw, list):  # JSONL corpora may give labels as a list
        raw = ";".join("" if item is None else str(item) for item in raw)
    text = "" if raw is None else str(raw).strip().lower()
    parts = [text]
    for sep in _SEPARATORS:
        parts = [piece for part in parts for piece in part.split(sep)]
    risks: set[Risk] = set()
    for part in (p.strip() for p in parts):
        name = mapping.get(part, part)
        if name in _NONE_ALIASES:
            continue
        try:
            risks.add(Risk(name))
        except ValueError:
            raise InputError(
                f"{where}: label {part!r} is not a risk; map it with --map {part or '...'}=RISK "
                f"(RISK one of: {', '.join(r.value for r in Risk)}, none)"
            ) from None
    return frozenset(risks)


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        if fmt in ("csv", "tsv"):
            csv.field_size_limit(1 << 27)  # long posts are cut later, not refused here
            reader = csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ",")
            for row in reader:
                yield reader.line_num, row
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}:{number}: expected a JSON object per line")
            yield number, row


def guess_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("csv", "tsv", "jsonl"):
            raise InputError(f"--format {fmt!r}: use csv, tsv or jsonl")
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".tsv":
        return "tsv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputError(f"{path}: cannot tell the format from the name; pass --format csv|tsv|jsonl")


def read_corpus(
    path: Path,
    text_col: str,
    label_col: str,
    mapping: Mapping[str, str] | None = None,
    fmt: str | None = None,
) -> list[Example]:
    mapping = mapping or {}
    fmt = guess_format(path, fmt)
    examples: list[Example] = []
    try:
        for number, row in _rows(path, fmt):
            where = f"{path}:{number}"
            if text_col not in row:
                raise InputError(f"{where}: no column {text_col!r}; columns: {', '.join(row)}")
            if label_col not in row:
                raise InputError(f"{where}: no column {label_col!r}; columns: {', '.join(row)}")
            text = row[text_col]
            if not isinstance(text, str):
                raise InputError(f"{where}: column {text_col!r} is not text")
            raw_label = row[label_col]
            if isinstance(raw_label, list):  # JSONL "labels": ["bullying", ...]
                raw_label = ";".join(str(x) for x in raw_label)
            examples.append(Example(text, _labels(raw_label, mapping, where), where))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if not examples:
        raise InputError(f"{path}: no rows to evaluate")
    return examples


SEGMENTS = ("auto", "on", "off")


def _score_row(
    text: str,
    *,
    as_segment: bool,
    sender: AgeBand | str | None,
    recipient: AgeBand | str | None,
    language: str | None,
    engine: Combiner | None = None,
) -> tuple[dict[Risk, RiskLevel], dict[Risk, float]]:
    """Each risk's level and score for one row (a message, or a chat segment)."""
    if as_segment:
        messages = [
            Message(speaker, line[:MAX_TEXT_LENGTH]) for speaker, line in segment_messages(text)
        ]
        result = assess_conversation(messages, language=language, engine=engine)
        parts: list[Assessment] = list(result.messages)
        levels = {f.risk: f.level for f in result.findings}
        scores = {f.risk: f.score for f in result.findings}
    else:
        parts = [
            assess_message(
                text, sender=sender, recipient=recipient, language=language, engine=engine
            )
        ]
        levels, scores = {}, {}
    for part in parts:
        for finding in part.findings:
            levels[finding.risk] = max(levels.get(finding.risk, RiskLevel.NONE), finding.level)
            scores[finding.risk] = max(scores.get(finding.risk, 0.0), finding.score)
        for risk, p in part.model_scores.items():
            scores[risk] = max(scores.get(risk, 0.0), p)
        for hit in part.hits:  # cue-only risks still rank by their cue weight
            scores[hit.risk] = max(scores.get(hit.risk, 0.0), hit.weight * 0.5)
    return levels, scores


def evaluate(
    examples: list[Example],
    *,
    min_level: RiskLevel = RiskLevel.LOW,
    sender: AgeBand | str | None = None,
    recipient: AgeBand | str | None = None,
    language: str | None = None,
    segments: str = "auto",
    engine: Combiner | None = None,
) -> EvalReport:
    """Score every example. ``segments``: "auto" scores texts that look like chat segments
    (``userN: message`` lines) as conversations; "on" treats every text so; "off" never.
    ``engine``: another model beside the cues (default: the shipped one)."""
    if segments not in SEGMENTS:
        raise InputError(f"--segments {segments!r}: use one of {', '.join(SEGMENTS)}")
    counts = {risk: Counter[str]() for risk in Risk}
    confusion: Counter[tuple[str, str]] = Counter()
    benign = flagged_benign = truncated = segment_rows = 0
    score_table: dict[Risk, list[float]] = {risk: [] for risk in Risk}
    for example in examples:
        text = example.text
        as_segment = segments == "on" or (segments == "auto" and is_chat_segment(text))
        if not as_segment and len(text) > MAX_TEXT_LENGTH:
            text = text[:MAX_TEXT_LENGTH]
            truncated += 1
        segment_rows += as_segment
        levels, scores = _score_row(
            text,
            as_segment=as_segment,
            sender=sender,
            recipient=recipient,
            language=language,
            engine=engine,
        )
        predicted = {risk for risk, level in levels.items() if level >= min_level}
        for risk in Risk:
            score_table[risk].append(scores.get(risk, 0.0))
            if risk in predicted and risk in example.gold:
                counts[risk]["tp"] += 1
            elif risk in predicted:
                counts[risk]["fp"] += 1
                if not example.gold:
                    counts[risk]["benign"] += 1
            elif risk in example.gold:
                counts[risk]["fn"] += 1
        if not example.gold:
            benign += 1
            flagged_benign += bool(predicted)
        gold = _primary_gold(example.gold, predicted)
        strongest = max(predicted, key=lambda r: (levels[r], scores.get(r, 0.0)), default=None)
        confusion[(gold, strongest.value if strongest else NONE_LABEL)] += 1
    risks = []
    for risk in Risk:
        truth = np.fromiter((risk in e.gold for e in examples), dtype=np.bool_)
        values = np.asarray(score_table[risk], dtype=np.float64)
        c = counts[risk]
        risks.append(
            RiskScores(
                risk,
                c["tp"],
                c["fp"],
                c["fn"],
                c["benign"],
                roc_auc(values, truth),
                average_precision(values, truth),
            )
        )
    return EvalReport(
        total=len(examples),
        risks=tuple(risks),
        confusion=dict(confusion),
        flagged_benign=flagged_benign,
        benign=benign,
        truncated=truncated,
        segments=segment_rows,
    )


def roc_auc(scores: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_]) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(
    scores: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_]
) -> float | None:
    """PR-AUC as average precision (the mean of the precision at each true positive, with
    tied scores taken together); None without positives."""
    positives = int(truth.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_truth = scores[order], truth[order]
    tp = np.cumsum(sorted_truth)
    seen = np.arange(1, len(scores) + 1)
    # only the last position of each run of tied scores is a threshold
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    tp_at, seen_at = tp[last], seen[last]
    precision = tp_at / seen_at
    recall = tp_at / positives
    previous = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - previous) * precision))


def _primary_gold(gold: frozenset[Risk], predicted: set[Risk]) -> str:
    if not gold:
        return NONE_LABEL
    agreed = [r for r in Risk if r in gold and r in predicted]
    return (agreed or [r for r in Risk if r in gold])[0].value
