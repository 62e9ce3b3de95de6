"""Benign whole conversations flagged for any risk, per risk, level and half (issue 12).

`kidshield eval text --loso --source conversations[-b]` reports one figure for the benign
conversations of a writer flagged for any risk; this script breaks it down. It trains the fold
(every source but the writer's conversations, as ``--loso`` does, the conversation grooming
model included) or loads one saved with ``--save``, runs each conversation of the writer
through ``assess_conversation`` with the ages and times the platform would give and as a bare
chat segment, and counts, per half (``halves.half_of`` on the conversation id), the benign
conversations flagged at ``low`` or above for each risk and level and for any risk, and the
grooming conversations flagged for grooming; the benign conversations a moderator is asked to
look at (``escalate_moderator``); and, in the conversations that are not benign, the messages
labelled with a risk that are flagged for it. ``--dev-flagged FILE`` writes the DEV half's
flagged benign conversations with the message, risk, level and spans that flagged them; TEST
conversations are never written, and are only counted with ``--count-test``.

The model does not depend on the rules, so a rule change is measured again with ``--load``.
The conversation model saved in the fold was fitted with the rules of the day it was saved;
``--refit-conversation`` fits it again with the current rules, as ``--loso`` would.

    nice -n 5 .venv/bin/python scripts/conv_benign.py --data /work/shared/data/text-train \
        --data data/text-synth --source conversations-b (--save F.pkl | --load F.pkl) \
        [--refit-conversation] [--dev-flagged FILE] [--count-test] [--json]

Needs the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from folds import read_saved  # scripts/folds.py: python puts the script's folder on the path

from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import ConversationAssessment, assess_conversation
from kidshield.safety.text.evaluate import evaluate
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.loso import engine_examples
from kidshield.safety.text.model import RecommendedAction, Risk, RiskLevel
from kidshield.safety.text.state import Message
from kidshield.safety.text.train import fit, prepare, train_settings
from kidshield.safety.text.trainconv import Conversation, conversations, fit_conversation_model
from kidshield.safety.text.trainingdata import TRAIN, VALIDATION, source_group

RISKY_MESSAGE_LABELS = frozenset({"grooming", "sexual_content", "sextortion", "bullying",
                                  "self_harm"})


def assessed(conv: Conversation, engine: Combiner, bare: bool) -> ConversationAssessment:
    if bare:
        return assess_conversation([Message(m.sender, m.text) for m in conv.messages],
                                   engine=engine)
    return assess_conversation(conv.messages, participants=dict(conv.ages), engine=engine)


def levels_of(
    conv: Conversation, engine: Combiner, bare: bool
) -> tuple[dict[Risk, RiskLevel], list[str]]:
    """The conversation's level per risk (its own findings and its messages'), as
    ``loso.conversation_figures`` counts them, and a line per finding for reading."""
    result = assessed(conv, engine, bare)
    levels: dict[Risk, RiskLevel] = {}
    lines: list[str] = []
    for f in result.findings:
        levels[f.risk] = max(levels.get(f.risk, RiskLevel.NONE), f.level)
        if f.level >= RiskLevel.LOW:
            lines.append(f"  [conversation] {f.risk.value} {f.level.name} "
                         f"{[s.label for _, s in f.evidence][:6]} {list(f.stages)} {f.pair}")
    for i, part in enumerate(result.messages):
        for f in part.findings:
            levels[f.risk] = max(levels.get(f.risk, RiskLevel.NONE), f.level)
            if f.level >= RiskLevel.LOW:
                msg = conv.messages[i]
                spans = [(s.label, msg.text[s.start:s.end]) for s in f.spans][:4]
                lines.append(f"  [msg {i + 1} {msg.sender}] {f.risk.value} {f.level.name} "
                             f"{spans} :: {msg.text[:160]!r}")
    return {r: lv for r, lv in levels.items() if lv >= RiskLevel.LOW}, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--source", default="conversations-b")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--load", type=Path)
    ap.add_argument("--refit-conversation", action="store_true")
    ap.add_argument("--dev-flagged", type=Path)
    ap.add_argument("--count-test", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    settings = train_settings()
    data = prepare(args.data, settings, log)
    held = data.where(lambda r: source_group(r.source) == args.source)
    rest = data.where(lambda r: source_group(r.source) != args.source)
    if args.load:
        trained, conv_model = read_saved(args.load)
    else:
        trained = fit(rest.where(lambda r: r.split == TRAIN),
                      rest.where(lambda r: r.split == VALIDATION), settings, log)
        conv_model = None
    classifier = trained.classifier()
    engine = Combiner(classifier)
    has_conversations = any(r.is_segment or r.conversation is not None for r in held.whole)
    if has_conversations and (conv_model is None or args.refit_conversation):
        fitted = fit_conversation_model(conversations(rest.whole), engine)
        conv_model = fitted[0] if fitted else None
    classifier.conversation = conv_model
    if args.save:
        args.save.write_bytes(pickle.dumps((trained, conv_model)))

    turns = [r for r in held.whole if not r.is_segment and "turn" in r.extra]
    if not turns:  # a source of single messages: the engine as `eval text --loso` runs it
        examples = engine_examples(held.whole)
        report: dict[str, Any] = {"source": args.source}
        for half in ("dev", "test") if args.count_test else ("dev",):
            risks = evaluate([e for e in examples if half_of(e.text) == half],
                             engine=engine).to_dict()
            report[half] = risks
        print(json.dumps(report, indent=2))
        return 0
    convs = conversations(turns)
    by_turn: dict[str, list[tuple[int, str, frozenset[str]]]] = {}
    for r in turns:
        by_turn.setdefault(str(r.conversation), []).append(
            (int(r.extra.get("turn") or 0), r.id, frozenset(r.labels)))
    message_labels = {cid: [labels for _t, _i, labels in sorted(rows)]
                      for cid, rows in by_turn.items()}
    # benign: labelled benign only (the first writer's sextortion scams are not grooming and
    # not benign either); read from the rows so that main's code can be measured too
    benign_ids = {r.conversation for r in turns
                  if set(r.extra.get("conversation_labels") or r.labels) <= {"benign"}}
    halves = ("dev", "test") if args.count_test else ("dev",)
    out: dict[str, Any] = {"source": args.source}
    written: list[str] = []
    for view, bare in (("with_ages", False), ("bare", True)):
        per_half: dict[str, Any] = {}
        for half in halves:
            chosen = [c for c in convs if half_of(c.id) == half]
            benign = [c for c in chosen if c.id in benign_ids and not c.grooming]
            risky = [c for c in chosen if c.grooming]
            by_risk: Counter[str] = Counter()
            by_level: Counter[str] = Counter()
            by_kind: Counter[str] = Counter()
            kinds: Counter[str] = Counter()
            any_risk = 0
            moderator = 0
            for c in benign:
                kind = c.id.rsplit("-", 1)[0]
                kinds[kind] += 1
                levels, lines = levels_of(c, engine, bare)
                actions = assessed(c, engine, bare).actions
                moderator += RecommendedAction.ESCALATE_MODERATOR in actions
                if levels:
                    any_risk += 1
                    by_kind[kind] += 1
                    for risk, level in levels.items():
                        by_risk[risk.value] += 1
                        by_level[f"{risk.value}:{level.name}"] += 1
                    if half == "dev" and args.dev_flagged:
                        written.append(f"=== {view} {c.id} {sorted(r.value for r in levels)}")
                        written.extend(lines)
            groomed = sum(
                1 for c in risky
                if levels_of(c, engine, bare)[0].get(Risk.GROOMING, RiskLevel.NONE)
                >= RiskLevel.LOW
            )
            # each message of a conversation that is not benign, labelled with a risk: is
            # that message flagged for it (at low or above)?
            labelled: Counter[str] = Counter()
            found: Counter[str] = Counter()
            for c in chosen:
                if c.id in benign_ids:
                    continue
                rows = message_labels.get(c.id, [])
                result = assessed(c, engine, bare)
                if len(rows) != len(result.messages):
                    continue
                for labels, part in zip(rows, result.messages, strict=True):
                    got = {f.risk.value for f in part.findings if f.level >= RiskLevel.LOW}
                    for name in sorted(set(labels) & RISKY_MESSAGE_LABELS):
                        labelled[name] += 1
                        found[name] += name in got
            # neither benign nor grooming (the first writer's sextortion scams): negatives for
            # the grooming figure of `--loso`
            others = [c for c in chosen if c.id not in benign_ids and not c.grooming]
            others_groomed = sum(
                1 for c in others
                if levels_of(c, engine, bare)[0].get(Risk.GROOMING, RiskLevel.NONE)
                >= RiskLevel.LOW
            )
            per_half[half] = {
                "other": len(others),
                "other_flagged_grooming": others_groomed,
                "benign": len(benign),
                "benign_any_risk": any_risk,
                "benign_any_risk_rate": round(any_risk / max(1, len(benign)), 4),
                # a moderator is asked to look (escalate_moderator among the actions)
                "benign_moderator": moderator,
                "by_risk": dict(sorted(by_risk.items())),
                "by_risk_level": dict(sorted(by_level.items())),
                "by_kind": {k: f"{by_kind[k]}/{kinds[k]}" for k in sorted(kinds)},
                "grooming": len(risky),
                "grooming_flagged": groomed,
                "risky_messages_flagged": {
                    k: f"{found[k]}/{labelled[k]}" for k in sorted(labelled)
                },
            }
        out[view] = per_half
    if args.dev_flagged:
        args.dev_flagged.write_text("\n".join(written) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
