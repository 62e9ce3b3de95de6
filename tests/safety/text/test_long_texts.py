"""Long texts are as risky as their riskiest part (issue 12): the windows a long text is scored
by, the same scores at training and at run time, and explanations that point at the part."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.classifier import TextClassifier, shipped_classifier
from kidshield.safety.text.features import tokens
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.parts import PartSettings, part_spans
from kidshield.safety.text.train import scored_margins

WORDS = ["the", "bus", "was", "late", "again", "so", "i", "walked", "home", "it's", ":fire:"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=400),
    st.sampled_from([" ", ", ", ". ", "\n", "  "]),
    st.integers(min_value=2, max_value=40),
    st.integers(min_value=3, max_value=30),
)
def test_windows_cover_the_text_overlap_and_are_capped(
    words: list[str], sep: str, window: int, max_parts: int
) -> None:
    chosen = PartSettings(window, max(1, window // 2), max_parts)
    text = sep.join(words)
    spans = part_spans(text, chosen)
    count = len(tokens(text))
    if count <= window:
        assert spans == []
        return
    assert 2 <= len(spans) <= max_parts
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip(" ,.\n"))
    sizes = {len(tokens(text[s:e])) for s, e in spans}
    assert len(sizes) == 1 and window <= sizes.pop() <= count  # one width, widened if capped
    for (s1, e1), (s2, e2) in itertools.pairwise(spans):
        assert s1 < s2 < e1 <= e2  # each window overlaps the next: no sentence falls between


def windowed(share: float) -> TextClassifier:
    """The shipped model scoring long texts by windows too (``train text --windows``), every
    head giving its strongest window ``share``."""
    model = shipped_classifier()
    heads = {risk: replace(head, part_weight=share) for risk, head in model.heads.items()}
    return TextClassifier(
        model.vectorizer, model.weights, model.bias, heads, {}, parts=PartSettings()
    )


def test_the_shipped_model_scores_texts_whole() -> None:
    # windows measured no better on real sources left out (docs/safety.md, model card)
    assert shipped_classifier().parts is None


def test_short_messages_are_scored_whole_only() -> None:
    text = " ".join(["word"] * PartSettings().window)
    assert part_spans(text, PartSettings()) == []
    model = windowed(1.0)
    assert model.margins(normalised(text)).tolist() == shipped_classifier().margins(
        normalised(text)
    ).tolist()


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


@pytest.mark.parametrize("share", [0.0, 0.4, 1.0])
def test_training_and_run_time_give_the_same_scores_for_long_texts(share: float) -> None:
    model = windowed(share)
    texts = [normalised(LONG_ORDINARY), normalised(LONG_ORDINARY * 12), normalised("hi there")]
    shares = [share] * len(model.bias)
    trained = scored_margins(
        model.vectorizer, model.weights, model.bias, texts, model.parts, shares
    )
    for row, text in zip(trained, texts, strict=True):
        assert np.allclose(model.margins(text), row, rtol=0, atol=1e-9)
        assert np.allclose(model.exact_margins(text), row, rtol=0, atol=1e-12)


def test_the_strongest_window_raises_a_long_texts_score_by_its_share() -> None:
    text = normalised(f"{LONG_ORDINARY} {INSULT}. {LONG_ORDINARY}")
    whole = shipped_classifier().probabilities(text)[Risk.BULLYING]
    half = windowed(0.5).probabilities(text)[Risk.BULLYING]
    full = windowed(1.0)
    assert whole < half < full.probabilities(text)[Risk.BULLYING]
    assert windowed(0.0).probabilities(text)[Risk.BULLYING] == pytest.approx(whole, abs=1e-12)
    start, end = full.strongest_part(text, Risk.BULLYING)
    assert text.index("pathetic") in range(start, end) and end - start < len(text) / 2
    spots = full.contributions(load_lexicon().normalizer.normalize(text), Risk.BULLYING)
    assert spots and all(start <= c.start < c.end <= end for c in spots)


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
