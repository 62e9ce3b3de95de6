"""Normalisation undoes common evasions and maps every span back to the original text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kidshield.safety.text import Risk, assess_message
from kidshield.safety.text.lexicon import load_lexicon


def normalize(text: str) -> str:
    return load_lexicon().normalizer.normalize(text).text


def test_leetspeak_inside_words_is_undone() -> None:
    assert normalize("s3nd m3 n00dz") == "send me noodz"


def test_numbers_with_units_are_not_leetspeak() -> None:
    assert normalize("im 14yo and its 5pm") == "im 14yo and its 5pm"


def test_homoglyphs_fold_to_ascii() -> None:
    assert normalize("yоu're sо mаture") == "youre so mature"  # Cyrillic о and а


def test_fullwidth_and_math_letters_fold_to_ascii() -> None:
    assert normalize("ｋｙｓ 𝐤𝐲𝐬") == "kys kys"


def test_zero_width_characters_are_removed() -> None:
    assert normalize("n\u200bu\u200cd\u200des") == "nudes"


def test_spaced_out_words_are_joined() -> None:
    assert normalize("k y s") == "kys"
    assert normalize("n.u.d.e.s") == "nudes"


def test_spaced_letters_that_are_not_a_known_word_stay_apart() -> None:
    assert normalize("a b c") == "a b c"


def test_runs_of_repeated_letters_collapse() -> None:
    assert normalize("kysssss") == "kys"


def test_emoji_become_codes() -> None:
    assert ":eggplant:" in normalize("🍆")


def test_apostrophes_are_dropped() -> None:
    assert normalize("don't") == "dont"


def test_span_of_leetspeak_maps_to_original_word() -> None:
    text = "pls s3nd n00dz now"
    result = assess_message(text)
    finding = result.finding(Risk.SEXUAL_CONTENT)
    assert finding is not None
    span = finding.spans[0]
    assert text[span.start : span.end] == "n00dz"


def test_span_through_zero_width_and_homoglyphs_maps_to_original() -> None:
    text = "ok so\u200b k\u200by\u200bs"
    result = assess_message(text)
    finding = result.finding(Risk.BULLYING)
    assert finding is not None
    span = finding.spans[0]
    assert text[span.start : span.end] == "k\u200by\u200bs"


def test_span_after_emoji_and_apostrophes_points_at_the_words() -> None:
    text = "😂😂 don't tell your parents about us"
    result = assess_message(text, sender="adult", recipient="child")
    finding = result.finding(Risk.GROOMING)
    assert finding is not None
    start, end = finding.spans[0].start, finding.spans[0].end
    assert text[start:end].startswith("don't tell your parents")


def test_span_of_spaced_word_covers_all_its_letters() -> None:
    text = "just k y s already"
    finding = assess_message(text).finding(Risk.BULLYING)
    assert finding is not None
    assert text[finding.spans[0].start : finding.spans[0].end] == "k y s"


_EVASIVE = st.text(
    alphabet=st.sampled_from(list("abcdekmnosuy 013457@$!.'\u200b\u200dоаеｋ😂🍆")), max_size=60
)


@settings(max_examples=200, deadline=None)
@given(_EVASIVE)
def test_every_normalised_span_maps_inside_the_original(text: str) -> None:
    norm = load_lexicon().normalizer.normalize(text)
    for view, value in (("text", norm.text), ("light", norm.light)):
        last_start = 0
        for i in range(len(value)):
            start, end = norm.to_original(i, i + 1, view=view)
            assert 0 <= start < end <= len(text)
            assert start >= last_start  # monotonic
            last_start = start
        assert norm.to_original(0, len(value), view=view)[1] <= len(text)
