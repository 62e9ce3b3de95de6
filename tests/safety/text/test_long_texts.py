"""Long texts are as risky as their riskiest part (issue 12): the windows a long text is scored
by, the same scores at training and at run time, and explanations that point at the part."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.classifier import MODEL_DIR, load_classifier, shipped_classifier
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


def test_short_messages_are_scored_whole_only() -> None:
    model = shipped_classifier()
    assert model.parts is not None
    text = " ".join(["word"] * model.parts.window)
    assert part_spans(text, model.parts) == []


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


def normalised(text: str) -> str:
    return load_lexicon().normalizer.normalize(text).text


def test_training_and_run_time_give_the_same_scores_for_long_texts() -> None:
    model = shipped_classifier()
    texts = [normalised(LONG_ORDINARY), normalised(LONG_ORDINARY * 12), normalised("hi there")]
    shares = [0.0] * len(model.bias)
    for head in model.heads.values():
        shares[head.column] = head.part_weight
    trained = scored_margins(
        model.vectorizer, model.weights, model.bias, texts, model.parts, shares
    )
    for row, text in zip(trained, texts, strict=True):
        assert part_spans(text, model.parts) or text == normalised("hi there")
        assert np.allclose(model.margins(text), row, rtol=0, atol=1e-9)
        assert np.allclose(model.exact_margins(text), row, rtol=0, atol=1e-12)


def test_the_strongest_window_raises_a_long_texts_score_and_explains_it() -> None:
    model = shipped_classifier()
    insult = "you are a pathetic worthless loser and everyone at school hates you"
    text = normalised(f"{LONG_ORDINARY} {insult}. {LONG_ORDINARY}")
    head = model.heads[Risk.BULLYING]
    assert head.part_weight > 0  # learnt on the validation split
    whole_only = load_classifier(MODEL_DIR)
    whole_only.parts = None
    diluted = whole_only.probabilities(text)[Risk.BULLYING]
    assert model.probabilities(text)[Risk.BULLYING] > 3 * diluted
    start, end = model.strongest_part(text, Risk.BULLYING)
    assert text.index("pathetic") in range(start, end) and end - start < len(text) / 2
    spots = model.contributions(load_lexicon().normalizer.normalize(text), Risk.BULLYING)
    assert spots and all(start <= c.start < c.end <= end for c in spots)


def test_a_long_ordinary_post_is_not_flagged() -> None:
    for text in (LONG_ORDINARY, LONG_ORDINARY * 3):
        result = assess_message(text)
        assert result.level is RiskLevel.NONE, result.to_dict()


def among_ordinary(sentence: str) -> str:
    """``sentence`` in the middle of the long ordinary post."""
    parts = LONG_ORDINARY.split(". ")
    return ". ".join([*parts[:5], sentence, *parts[5:]])


IDEATION = [
    "i took a bunch of pills last night hoping i wouldnt wake up",
    "i've written goodbye letters to everyone and i'm ready to go",
    "i keep thinking how much easier it would be if i just didn't exist",
]


@pytest.mark.parametrize("sentence", IDEATION)
def test_one_ideation_sentence_raises_a_long_posts_self_harm_score(sentence: str) -> None:
    model = shipped_classifier()
    whole_only = load_classifier(MODEL_DIR)
    whole_only.parts = None
    text = normalised(among_ordinary(sentence))
    ordinary = normalised(LONG_ORDINARY)
    raised = model.probabilities(text)[Risk.SELF_HARM]
    assert raised > 2 * whole_only.probabilities(text)[Risk.SELF_HARM]
    assert raised > 5 * model.probabilities(ordinary)[Risk.SELF_HARM]


def test_an_ideation_passage_in_a_long_post_is_found() -> None:
    # before parts were scored this post was not flagged: the ordinary week around the passage
    # diluted the whole post's score, and no cue of it flags alone
    passage = (
        "i took a bunch of pills last night hoping i wouldnt wake up. i just want it to be over "
        "and i think tonight i will try again"
    )
    text = among_ordinary(passage)
    result = assess_message(text)
    finding = result.finding(Risk.SELF_HARM)
    assert finding is not None and finding.level >= RiskLevel.LOW, result.to_dict()
    assert result.helplines
    start = text.index(passage)
    assert any(start <= span.start < start + len(passage) for span in finding.spans)
