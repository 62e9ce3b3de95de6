"""Long texts (issue 12): scored whole, the same at training and at run time, and
explanations that point at the words that scored."""

from __future__ import annotations

import numpy as np
import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.classifier import shipped_classifier
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.train import Trained

LONG_ORDINARY = (
    "So this week has been a lot. Monday I had a maths test that I thought went badly but I "
    "got a B, which honestly surprised me. Tuesday was football practice in the rain and the "
    "coach made us run laps because half the team forgot their boots. My little brother has "
    "started learning the recorder, so the house sounds like a haunted flute shop every "
    "evening. Mum says it is good for him, dad wears headphones. On Wednesday my best friend "
    "and I finally finished the history project about the canals, and we built a model lock "
    "out of lolly sticks that actually holds water. Thursday the bus broke down and we had to "
    "walk the last mile, which was fine because the sun came out. Tonight we are getting "
    "pizza and watching a film, probably something my brother picks, so a cartoon again. "
    "Anyway, that's my week, how was yours?"
)
INSULT = "you are a pathetic worthless loser and everyone at school hates you"
GOODBYE = "i've written goodbye letters to everyone and i'm ready to go"


def normalised(text: str) -> str:
    return load_lexicon().normalizer.normalize(text).text


def among_ordinary(sentence: str) -> str:
    """``sentence`` in the middle of the long ordinary post."""
    parts = LONG_ORDINARY.split(". ")
    return ". ".join([*parts[:5], sentence, *parts[5:]])


def test_training_and_run_time_give_the_same_scores_for_long_texts() -> None:
    model = shipped_classifier()
    trained = Trained(model.vectorizer, model.weights, model.bias, list(model.heads), {}, {})
    texts = [normalised(LONG_ORDINARY), normalised(LONG_ORDINARY * 12), normalised("hi there")]
    for row, text in zip(trained.margins(texts), texts, strict=True):
        assert np.allclose(model.margins(text), row, rtol=0, atol=1e-9)
        assert np.allclose(model.exact_margins(text), row, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("sentence", "risk", "words"),
    [
        (INSULT, Risk.BULLYING, {"pathetic", "loser"}),
        (GOODBYE, Risk.SELF_HARM, {"goodbye"}),  # the old spans said "evening" and "good"
    ],
)
def test_model_spans_point_at_the_words_that_scored(sentence: str, risk: Risk,
                                                    words: set[str]) -> None:
    norm = load_lexicon().normalizer.normalize(among_ordinary(sentence))
    found = shipped_classifier().contributions(norm, risk)
    start = norm.text.index(normalised(sentence))
    assert found and found[0].gram in words
    assert start <= found[0].start < start + len(normalised(sentence))


def test_a_long_ordinary_post_is_not_flagged() -> None:
    for text in (LONG_ORDINARY, LONG_ORDINARY * 3):
        result = assess_message(text)
        assert result.level is RiskLevel.NONE, result.to_dict()
