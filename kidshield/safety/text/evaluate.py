"""Evaluation harness: measure the engine on a labelled corpus (CSV or JSONL).

Each row has a text and a label. Labels are risk names (``grooming``, ``bullying``, ...) or
``none``; several labels can be joined with ``;`` or ``|``. Public research corpora use their own
labels, so ``--map`` translates them (``--map 1=bullying --map 0=none``). The report gives
precision, recall, F1 and F0.5 per risk (a message counts as flagged for a risk when that risk's
finding reaches ``min_level``) and a confusion table of the gold label against the engine's
strongest risk.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kidshield.errors import InputError
from kidshield.safety.text.assess import assess_message
from kidshield.safety.text.model import AgeBand, Risk, RiskLevel

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
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    total: int
    risks: tuple[RiskScores, ...]
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)  # (gold, predicted)
    flagged_benign: int = 0  # benign rows with any finding
    benign: int = 0

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
        if fmt == "csv":
            yield from enumerate(csv.DictReader(handle), start=2)
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
        if fmt not in ("csv", "jsonl"):
            raise InputError(f"--format {fmt!r}: use csv or jsonl")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputError(f"{path}: cannot tell the format from the name; pass --format csv|jsonl")


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
            examples.append(Example(text, _labels(row[label_col], mapping, where), where))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if not examples:
        raise InputError(f"{path}: no rows to evaluate")
    return examples


def evaluate(
    examples: list[Example],
    *,
    min_level: RiskLevel = RiskLevel.LOW,
    sender: AgeBand | str | None = None,
    recipient: AgeBand | str | None = None,
    language: str | None = None,
) -> EvalReport:
    counts = {risk: Counter[str]() for risk in Risk}
    confusion: Counter[tuple[str, str]] = Counter()
    benign = flagged_benign = 0
    for example in examples:
        result = assess_message(example.text, sender=sender, recipient=recipient, language=language)
        findings = [f for f in result.findings if f.level >= min_level]
        predicted = {f.risk for f in findings}
        for risk in Risk:
            if risk in predicted and risk in example.gold:
                counts[risk]["tp"] += 1
            elif risk in predicted:
                counts[risk]["fp"] += 1
            elif risk in example.gold:
                counts[risk]["fn"] += 1
        if not example.gold:
            benign += 1
            flagged_benign += bool(findings)
        gold = _primary_gold(example.gold, predicted)
        top = findings[0].risk.value if findings else NONE_LABEL
        confusion[(gold, top)] += 1
    return EvalReport(
        total=len(examples),
        risks=tuple(RiskScores(r, counts[r]["tp"], counts[r]["fp"], counts[r]["fn"]) for r in Risk),
        confusion=dict(confusion),
        flagged_benign=flagged_benign,
        benign=benign,
    )


def _primary_gold(gold: frozenset[Risk], predicted: set[Risk]) -> str:
    if not gold:
        return NONE_LABEL
    agreed = [r for r in Risk if r in gold and r in predicted]
    return (agreed or [r for r in Risk if r in gold])[0].value
