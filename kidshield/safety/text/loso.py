"""Leave one source out (``kidshield eval text --loso``): how the engine does on data from a
place it never saw. Needs the ``[train]`` extra.

For each source (a bundle file, or one folder of the project's own data such as ``messages`` or
``conversations``), a model is trained on all the other sources (train split; validation split
for calibration and thresholds) and then measured on every row of the one left out, two ways:

* **model**: the message model alone at its low threshold, on the source's messages (chat
  segments cut into messages), before any cue or context rule: what the learned part knows;
* **engine**: the whole engine as ``kidshield eval text`` runs it on that source's file, with
  the model trained without the source beside the cues and combination rules: a row is flagged
  when a finding of its risk reaches ``low``; chat segments (``userN: message`` lines) are
  scored as conversations. The conversation grooming model is trained without the source too.
  The project's own conversations are also measured whole (``conversations``): each one through
  the conversation tracker, once with the ages and times the platform would give and once as a
  bare chat segment (no ages, no times), flagged for grooming when the conversation or any of
  its messages is.

With ``halves``, the whole engine is also measured on each half of the source (see
:mod:`halves`): the DEV half, whose errors may be read when writing rules and data, and the
TEST half, whose figure is the one to report for a source the project learned from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kidshield.errors import InputError
from kidshield.safety.text.assess import MAX_TEXT_LENGTH
from kidshield.safety.text.combine import Combiner
from kidshield.safety.text.conversation import assess_conversation
from kidshield.safety.text.evaluate import Example, evaluate
from kidshield.safety.text.halves import DEV, TEST, half_of
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.state import Message
from kidshield.safety.text.train import (
    HEAD_LABELS,
    Prepared,
    Progress,
    TrainSettings,
    _quiet,
    evaluate_trained,
    figures,
    fit,
    prepare,
    require_training_libraries,
)
from kidshield.safety.text.trainconv import Conversation, conversations, fit_conversation_model
from kidshield.safety.text.trainingdata import (
    NEEDS_CONTEXT,
    TRAIN,
    VALIDATION,
    Row,
    source_group,
)


def gold_risks(labels: frozenset[str]) -> frozenset[Risk]:
    """A training row's labels as the engine's risks (hate and threats are bullying)."""
    return frozenset(risk for risk, wanted in HEAD_LABELS.items() if not wanted.isdisjoint(labels))


def engine_examples(rows: Sequence[Row]) -> list[Example]:
    """The rows as ``kidshield eval text`` reads the source's file; conversation turns that
    are a risky move only in their context ("what time") are left to the conversation view."""
    return [
        Example(row.text[:MAX_TEXT_LENGTH], gold_risks(row.labels), row.where)
        for row in rows
        if NEEDS_CONTEXT not in str(row.extra.get("source_label", ""))
    ]


def _conversation_levels(
    conv: Conversation, engine: Combiner, bare: bool
) -> dict[Risk, RiskLevel]:
    if bare:
        messages = [Message(m.sender, m.text) for m in conv.messages]
        result = assess_conversation(messages, engine=engine)
    else:
        participants = {pid: age for pid, age in conv.ages.items()}
        result = assess_conversation(conv.messages, participants=participants, engine=engine)
    levels = {f.risk: f.level for f in result.findings}
    for part in result.messages:
        for finding in part.findings:
            levels[finding.risk] = max(levels.get(finding.risk, RiskLevel.NONE), finding.level)
    return levels


def conversation_figures(convs: Sequence[Conversation], engine: Combiner) -> dict[str, Any]:
    """Grooming flagged per whole conversation (at ``low`` or above), with ages and times and
    as bare segments; and the benign conversations flagged for any risk."""
    out: dict[str, Any] = {"conversations": len(convs), "grooming": sum(c.grooming for c in convs)}
    gold = np.asarray([c.grooming for c in convs], dtype=np.int8)
    for view, bare in (("with_ages", False), ("bare", True)):
        levels = [_conversation_levels(c, engine, bare) for c in convs]
        flagged = np.asarray(
            [lv.get(Risk.GROOMING, RiskLevel.NONE) >= RiskLevel.LOW for lv in levels],
            dtype=np.float64,
        )
        report = figures(flagged, gold, gold == 0, 0.5)
        # benign: labelled benign only; before the eleventh session the first writer's ten
        # sextortion scams that are not grooming were counted here, and flagged, as benign
        report["benign_any_risk"] = round(
            sum(1 for c, lv in zip(convs, levels, strict=True) if c.benign and lv)
            / max(1, sum(c.benign for c in convs)),
            4,
        )
        report.pop("roc_auc", None)
        report.pop("pr_auc", None)
        out[view] = report
    return out


def _fold_engine(rest: Prepared, trained_classifier: Any, held: Prepared) -> Combiner:
    """The whole engine with the fold's model; its conversation model is trained without the
    held-out source when that source has conversations to judge."""
    engine = Combiner(trained_classifier)
    if any(r.is_segment or r.conversation is not None for r in held.whole):
        fitted = fit_conversation_model(conversations(rest.whole), engine)
        if fitted is not None:
            trained_classifier.conversation = fitted[0]
    return engine


def leave_one_source_out(
    folders: Sequence[Path],
    settings: TrainSettings | None = None,
    progress: Progress = _quiet,
    only: Sequence[str] = (),
    whole_engine: bool = True,
    halves: bool = False,
) -> dict[str, dict[str, Any]]:
    """For each source group: train on the others and measure on it (see the module doc)."""
    require_training_libraries()
    settings = settings or TrainSettings()
    data = prepare(folders, settings, progress)
    groups = sorted({source_group(r.source) for r in data.rows})
    unknown = [name for name in only if name not in groups]
    if unknown:
        raise InputError(f"--source {unknown[0]!r}: no such source; sources: {', '.join(groups)}")
    out: dict[str, dict[str, Any]] = {}
    for group in groups:
        if only and group not in only:
            continue
        progress(f"leaving out {group}")
        rest = data.where(lambda r, g=group: source_group(r.source) != g)  # type: ignore[misc]
        held = data.where(lambda r, g=group: source_group(r.source) == g)  # type: ignore[misc]
        trained = fit(
            rest.where(lambda r: r.split == TRAIN),
            rest.where(lambda r: r.split == VALIDATION),
            settings,
            progress,
        )
        result: dict[str, Any] = {
            "messages": len(held.rows),
            "risks": evaluate_trained(trained, held),
        }
        if whole_engine:
            engine = _fold_engine(rest, trained.classifier(), held)
            progress(f"{group}: the whole engine on {len(held.whole)} rows")
            examples = engine_examples(held.whole)
            result["engine"] = evaluate(examples, engine=engine).to_dict() if examples else {}
            if halves and examples:
                result["engine_halves"] = {
                    half: evaluate(
                        [e for e in examples if half_of(e.text) == half], engine=engine
                    ).to_dict()
                    for half in (DEV, TEST)
                }
            turns = [r for r in held.whole if not r.is_segment and "turn" in r.extra]
            if turns:
                result["conversations"] = conversation_figures(conversations(turns), engine)
        out[group] = result
    return out
