"""Self-harm head variants on a saved leave-one-source-out fold, measured on the DEV half.

docs/safety.md, "Self-harm on long posts, the model": with RMHD left out, does a different
representation, weighting or head for long posts rank its suicidal posts better? The fold
model comes from ``scripts/loso_halves.py --save fold.pkl`` (all sources but the one left
out); each variant refits only the self-harm head on the fold's vocabulary and train split,
then fits Platt scaling, a combiner and the thresholds on the fold's validation split (which
holds no row of the source left out), and prints the model alone on the source's DEV half.
``--engine`` also runs the whole engine with the variant's head; ``--count-test`` counts the
TEST half too (at most twice per investigation: see the task's discipline).

    nice -n 5 .venv/bin/python scripts/selfharm_variants.py --data /work/shared/data/text-train \
        --data data/text-synth --load fold.pkl [--variant NAME ...] [--engine] [--count-test]

Needs the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from kidshield.safety.text.assess import MAX_TEXT_LENGTH
from kidshield.safety.text.classifier import TextClassifier
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.features import tokens
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.train import (
    Prepared,
    Trained,
    choose_thresholds,
    figures,
    fit_head,
    is_benign,
    matrix,
    platt,
    policy_for,
    prepare,
    sample_weights,
    sigmoid,
    targets,
    train_settings,
)
from kidshield.safety.text.trainingdata import TRAIN, VALIDATION, source_group

RISK = Risk.SELF_HARM
LONG = 32  # tokens: a "long" post
SENTENCE = re.compile(r"(?<=[.!?\n])\s+")
Array = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Variant:
    """How the head is fitted (C, a sample-weight factor per training row) and which scores
    the combiner reads beside the whole text's margin."""

    c: float = 4.0
    weight: Callable[[npt.NDArray[np.int_], npt.NDArray[np.int8]], Array] | None = None
    extra: tuple[str, ...] = ()  # "sentence_max", "sentence_top2", "log_length", "long"


def _long_factor(k: float, which: str) -> Callable[[npt.NDArray[np.int_], npt.NDArray[np.int8]],
                                                     Array]:
    def factor(n: npt.NDArray[np.int_], y: npt.NDArray[np.int8]) -> Array:
        pick = n > LONG
        if which == "positives":
            pick &= y == 1
        elif which == "negatives":
            pick &= y == 0
        return np.where(pick, k, 1.0)

    return factor


VARIANTS: dict[str, Variant] = {
    "shipped": Variant(),
    "log-length": Variant(extra=("log_length",)),
    "sentence-max": Variant(extra=("sentence_max",)),
    "sentence-top2": Variant(extra=("sentence_top2",)),
    "sentences+length": Variant(extra=("sentence_max", "sentence_top2", "log_length")),
    "long-positives-x3": Variant(weight=_long_factor(3.0, "positives")),
    "long-negatives-x3": Variant(weight=_long_factor(3.0, "negatives")),
    "long-x3": Variant(weight=_long_factor(3.0, "all")),
    "C1": Variant(c=1.0),
    "C16": Variant(c=16.0),
    "C16+sentence-top2": Variant(c=16.0, extra=("sentence_top2",)),
}


class Fold:
    """The fold's vocabulary, its train split as a matrix, and the rows measured."""

    def __init__(self, trained: Trained, data: Prepared, source: str) -> None:
        self.trained = trained
        rest = data.where(lambda r: source_group(r.source) != source)
        held = data.where(lambda r: source_group(r.source) == source)
        self.train = rest.where(lambda r: r.split == TRAIN)
        self.val = rest.where(lambda r: r.split == VALIDATION)
        self.held = {
            name: held.where(lambda r, name=name: half_of(r.text) == name)  # type: ignore[misc]
            for name in ("dev", "test")
        }
        vec = trained.vectorizer
        self.x = matrix(vec, self.train.texts).tocsr()
        self.y = targets(self.train.rows, RISK)
        self.n = np.asarray([len(tokens(t)) for t in self.train.texts])
        self.base_weight = sample_weights(self.train.rows) * np.where(self.y == 1, 3.0, 1.0)

    def head(self, variant: Variant) -> tuple[Array, float]:
        w = self.base_weight
        if variant.weight is not None:
            w = w * variant.weight(self.n, self.y)
        return fit_head(self.x, self.y, w, variant.c)


def scores(coef: Array, bias: float, trained: Trained, texts: list[str],
           extra: tuple[str, ...]) -> Array:
    """Per text: the whole margin, then the variant's extra scores (one column each)."""
    vec = trained.vectorizer
    whole = np.asarray(matrix(vec, texts) @ coef).ravel() + bias
    columns = [whole]
    n = np.asarray([len(tokens(t)) for t in texts], dtype=np.float64)
    if {"sentence_max", "sentence_top2"} & set(extra):
        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            parts = [s for s in SENTENCE.split(text) if tokens(s)] or [text]
            pieces += parts
            owner += [i] * len(parts)
        margins = np.asarray(matrix(vec, pieces) @ coef).ravel() + bias
        per: list[list[float]] = [[] for _ in texts]
        for o, m in zip(owner, margins, strict=True):
            per[o].append(float(m))
        if "sentence_max" in extra:
            columns.append(np.asarray([max(p) for p in per]))
        if "sentence_top2" in extra:
            columns.append(np.asarray([np.mean(sorted(p)[-2:]) for p in per]))
    if "log_length" in extra:
        columns.append(np.log1p(n))
    return np.column_stack(columns)


def probabilities_fn(fold: Fold, variant: Variant, coef: Array, bias: float
                     ) -> Callable[[list[str]], Array]:
    """The variant's calibrated probability, fitted on the validation split."""
    sv = scores(coef, bias, fold.trained, fold.val.texts, variant.extra)
    yv = targets(fold.val.rows, RISK)
    if not variant.extra:
        slope, intercept = platt(sv[:, 0], yv)
        return lambda texts: sigmoid(
            slope * scores(coef, bias, fold.trained, texts, ())[:, 0] + intercept
        )
    combiner = LogisticRegression(C=1e4, max_iter=2000).fit(sv, yv)
    return lambda texts: np.asarray(
        combiner.predict_proba(scores(coef, bias, fold.trained, texts, variant.extra))[:, 1]
    )


def engine_figures(classifier: TextClassifier, prob: Callable[[list[str]], Array],
                   thresholds: Any, data: Prepared) -> dict[str, Any]:
    """The whole engine with the variant's self-harm probability in place of the head's."""
    column = classifier.heads[RISK].column
    head = dataclasses.replace(classifier.heads[RISK], slope=1.0, intercept=0.0,
                               low=thresholds.low, medium=thresholds.medium,
                               high=thresholds.high)
    classifier.heads[RISK] = head
    plain = classifier._margin_list

    def margin_list(text: str) -> list[float]:
        out = plain(text)
        p = float(np.clip(prob([text])[0], 1e-12, 1 - 1e-12))
        out[column] = float(np.log(p / (1 - p)))  # the head's margin with slope 1, intercept 0
        return out

    classifier._margin_list = margin_list  # type: ignore[method-assign]
    engine = Combiner(classifier)
    tp = fp = positives = 0
    for row in data.rows:
        levels, _ = _score_row(row.text[:MAX_TEXT_LENGTH], as_segment=False, sender=None,
                               recipient=None, language=None, engine=engine)
        hit = levels.get(RISK, RiskLevel.NONE) >= RiskLevel.LOW
        gold = "self_harm" in row.labels
        positives += gold
        tp += hit and gold
        fp += hit and not gold
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / positives, 3) if positives else None,
        "tp": tp,
        "fp": fp,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--source", default="reddit-mental-health-rmhd-sample")
    ap.add_argument("--load", type=Path, required=True, help="loso_halves.py --save output")
    ap.add_argument("--variant", action="append", choices=list(VARIANTS))
    ap.add_argument("--engine", action="store_true", help="also the whole engine")
    ap.add_argument("--count-test", action="store_true", help="also count the TEST half")
    args = ap.parse_args()
    settings = train_settings()
    trained: Trained = pickle.loads(args.load.read_bytes())
    print("preparing the data and the fold's train matrix", file=sys.stderr)
    fold = Fold(trained, prepare(args.data, settings), args.source)
    yv = targets(fold.val.rows, RISK)
    groups = [None if policy_for(r.source).hard_negatives else r.source for r in fold.val.rows]
    halves = ("dev", "test") if args.count_test else ("dev",)
    for name in args.variant or list(VARIANTS):
        variant = VARIANTS[name]
        coef, bias = fold.head(variant)
        prob = probabilities_fn(fold, variant, coef, bias)
        th = choose_thresholds(prob(fold.val.texts), yv, is_benign(fold.val.rows), settings,
                               groups)
        for half in halves:
            rows = fold.held[half]
            f = figures(prob(rows.texts), targets(rows.rows, RISK), is_benign(rows.rows), th.low)
            line = (f"{name:20s} {half.upper():4s} model P {f['precision']:.3f} "
                    f"R {f['recall']:.3f} ROC-AUC {f['roc_auc']} PR-AUC {f['pr_auc']}")
            if args.engine:
                column = trained.heads.index(RISK)
                weights = trained.weights.copy()
                weights[:, column] = coef
                bias_all = trained.bias.copy()
                bias_all[column] = bias
                variant_model = dataclasses.replace(trained, weights=weights, bias=bias_all)
                e = engine_figures(variant_model.classifier(), prob, th, rows)
                line += f" | engine P {e['precision']} R {e['recall']}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
