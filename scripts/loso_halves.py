"""Leave one source out for self-harm, measured on a DEV and a TEST half of the source.

Issue 12's self-harm target is judged on suicidal Reddit posts we do not have; the honest
stand-in is the RMHD sample left out. Rules and training text may be shaped by what the DEV
half gets wrong; the TEST half is only ever counted. The halves are
``kidshield.safety.text.halves.half_of``, the split `kidshield eval text --loso --halves` uses
(docs/safety-log.md, "Self-harm, 2026-12-06").

    nice -n 5 .venv/bin/python scripts/loso_halves.py --data /work/shared/data/text-train \
        --data data/text-synth [--source reddit-mental-health-rmhd-sample] [--save fold.pkl] \
        [--load fold.pkl] [--dev-errors dev-errors.txt] [--json] [--risk bullying] [--count-test]

``--save``/``--load`` keep the fold's trained model, so an engine rule can be measured again
without training (the model does not depend on the rules). ``--dev-errors`` writes the DEV
half's missed and falsely flagged rows with their scores; TEST rows are never written.
Needs the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
from folds import read_fold  # scripts/folds.py: python puts the script's folder on the path

from kidshield.safety.text.assess import MAX_TEXT_LENGTH
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.halves import half_of as half
from kidshield.safety.text.loso import gold_risks
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.train import (
    figures,
    fit,
    prepare,
    targets,
    train_settings,
)
from kidshield.safety.text.trainingdata import TRAIN, VALIDATION, source_group


def pr(flagged: list[bool], gold: list[bool]) -> dict[str, Any]:
    tp = sum(f and g for f, g in zip(flagged, gold, strict=True))
    fp = sum(f and not g for f, g in zip(flagged, gold, strict=True))
    pos = sum(gold)
    neg = len(gold) - pos
    return {
        "positives": pos,
        "others": neg,
        "tp": tp,
        "fp": fp,
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / pos, 3) if pos else None,
        "others_flagged": round(fp / neg, 4) if neg else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--source", default="reddit-mental-health-rmhd-sample")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--load", type=Path)
    ap.add_argument("--dev-errors", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--risk", default=Risk.SELF_HARM.value, choices=[r.value for r in Risk])
    ap.add_argument(
        "--count-test",
        action="store_true",
        help="also count the TEST half (and the whole source); without it only DEV is shown, "
        "so experiments cannot peek at TEST by accident",
    )
    args = ap.parse_args()
    views = ("dev", "test", "whole") if args.count_test else ("dev",)
    risk = Risk(args.risk)

    settings = train_settings()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    data = prepare(args.data, settings, log)
    held = data.where(lambda r: source_group(r.source) == args.source)
    if not held.rows:
        raise SystemExit(f"--source {args.source!r}: no rows")
    if args.load:
        trained = read_fold(args.load)
    else:
        rest = data.where(lambda r: source_group(r.source) != args.source)
        trained = fit(
            rest.where(lambda r: r.split == TRAIN),
            rest.where(lambda r: r.split == VALIDATION),
            settings,
            log,
        )
        if args.save:
            args.save.write_bytes(pickle.dumps(trained))
    out: dict[str, Any] = {"source": args.source}

    # the model alone, at its low threshold, on the source's messages
    probs = trained.probabilities(held.texts)[risk]
    gold_m = targets(held.rows, risk).astype(bool)
    halves_m = np.asarray([half(r.text) for r in held.rows])
    benign_m = np.asarray([r.labels == {"benign"} for r in held.rows])
    low = trained.thresholds[risk].low
    out["model"] = {
        name: figures(probs[keep], gold_m[keep].astype(np.int8), benign_m[keep], low)
        for name, keep in (
            ("dev", halves_m == "dev"),
            ("test", halves_m == "test"),
            ("whole", np.ones(len(held.rows), dtype=bool)),
        )
        if name in views
    }

    # the whole engine, as `kidshield eval text` runs it on the source's file
    engine = Combiner(trained.classifier())
    rows = held.whole
    flagged: list[bool] = []
    gold: list[bool] = []
    errors: list[str] = []
    for i, row in enumerate(rows):
        text = row.text[:MAX_TEXT_LENGTH]
        levels, scores = _score_row(
            text, as_segment=False, sender=None, recipient=None, language=None, engine=engine
        )
        level = levels.get(risk, RiskLevel.NONE)
        hit = level >= RiskLevel.LOW
        is_gold = risk in gold_risks(row.labels)
        flagged.append(hit)
        gold.append(is_gold)
        if args.dev_errors and hit != is_gold and half(row.text) == "dev":
            kind = "MISSED" if is_gold else "FLAGGED"
            sub = row.extra.get("source_label", "")
            errors.append(
                f"=== {kind} {row.where} id={row.id} {sub} level={level.name} "
                f"score={scores.get(risk, 0.0):.3f}\n{text}\n"
            )
        if i and i % 1000 == 0:
            log(f"engine: {i} of {len(rows)} rows")
    halves = [half(r.text) for r in rows]
    out["engine"] = {
        name: pr(
            [f for f, h in zip(flagged, halves, strict=True) if name in (h, "whole")],
            [g for g, h in zip(gold, halves, strict=True) if name in (h, "whole")],
        )
        for name in views
    }
    if args.dev_errors:
        args.dev_errors.write_text("\n".join(errors), encoding="utf-8")
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for view in ("model", "engine"):
            for name, fig in out[view].items():
                keys = ("positives", "precision", "recall", "others_flagged", "roc_auc", "pr_auc")
                shown = {k: fig.get(k) for k in keys if k in fig}
                print(view, name, shown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
