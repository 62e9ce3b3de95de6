"""The corpora: ordinary teen talk must pass (FP <= 2%) and each risk's positives are found."""

from __future__ import annotations

import pytest

from kidshield.safety.text import Risk, assess_message
from tests.safety.text.corpus_util import load

MAX_FALSE_POSITIVE_RATE = 0.02
MIN_RECALL = 0.9


def test_benign_corpus_has_at_least_300_messages() -> None:
    assert len(load("benign")) >= 300


@pytest.mark.parametrize("risk", list(Risk))
def test_each_risk_has_at_least_60_positives(risk: Risk) -> None:
    assert len(load(risk.value)) >= 60


@pytest.mark.parametrize(
    ("sender", "recipient"), [(None, None), ("teen", "teen"), ("child", "child")]
)
def test_benign_teen_talk_false_positive_rate_is_at_most_two_percent(
    sender: str | None, recipient: str | None
) -> None:
    messages = load("benign")
    flagged = [
        m for m in messages if assess_message(m, sender=sender, recipient=recipient).findings
    ]
    rate = len(flagged) / len(messages)
    assert rate <= MAX_FALSE_POSITIVE_RATE, f"{rate:.1%} flagged, e.g. {flagged[:5]}"


@pytest.mark.parametrize("risk", [r for r in Risk if r is not Risk.GROOMING])
def test_positives_are_found_as_their_risk(risk: Risk) -> None:
    messages = load(risk.value)
    missed = [m for m in messages if risk not in assess_message(m).risks]
    recall = 1 - len(missed) / len(messages)
    assert recall >= MIN_RECALL, f"recall {recall:.1%}, missed e.g. {missed[:5]}"


MIN_GROOMING_FLAGGED_ALONE = 0.7


def test_grooming_positives_from_an_adult_to_a_child_are_found() -> None:
    """Each grooming message leaves evidence for the conversation tracker; most flag on their
    own. Weak moves ("what school do you go to", "you can tell me anything") do not flag a
    single message (issue 12: on real chat they were 8 % precise), only a conversation."""
    messages = load("grooming")
    results = [assess_message(m, sender="adult", recipient="child") for m in messages]
    no_evidence = [
        m for m, r in zip(messages, results, strict=True)
        if not any(hit.risk is Risk.GROOMING for hit in r.hits)
    ]
    not_flagged = [
        m for m, r in zip(messages, results, strict=True) if Risk.GROOMING not in r.risks
    ]
    recall = 1 - len(no_evidence) / len(messages)
    assert recall >= MIN_RECALL, f"evidence recall {recall:.1%}, missed e.g. {no_evidence[:5]}"
    alone = 1 - len(not_flagged) / len(messages)
    assert alone >= MIN_GROOMING_FLAGGED_ALONE, f"{alone:.1%} flagged, e.g. {not_flagged[:5]}"
