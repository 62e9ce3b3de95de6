"""Evasion variants of each risk are still found: leetspeak, homoglyphs, zero-width characters,
spaced or repeated letters and emoji codes."""

from __future__ import annotations

import pytest

from kidshield.safety.text import Assessment, Risk, assess_message

ZW = "\u200b"

VARIANTS = [
    (Risk.BULLYING, "kуs"),  # Cyrillic у
    (Risk.BULLYING, "k.y.s"),
    (Risk.BULLYING, "kyyyys"),
    (Risk.BULLYING, f"k{ZW}y{ZW}s"),
    (Risk.BULLYING, "ｋｉｌｌ ｙｏｕｒｓｅｌｆ"),
    (Risk.BULLYING, "nob0dy l1kes y0u"),
    (Risk.SEXUAL_CONTENT, "s3nd n00dz"),
    (Risk.SEXUAL_CONTENT, f"send n{ZW}u{ZW}d{ZW}e{ZW}s"),
    (Risk.SEXUAL_CONTENT, "sennnnd nuuuudes"),
    (Risk.SEXUAL_CONTENT, "🍆💦"),
    (Risk.SEXUAL_CONTENT, ":eggplant: :peach:"),
    (Risk.SEXTORTION, "1'll l3ak y0ur nud3s"),
    (Risk.SEXTORTION, "i'll s.e.n.d your nudes to everyone unless you pay"),
    (Risk.SELF_HARM, "i w4nt t0 d1e"),
    (Risk.SELF_HARM, "i want to k i l l myself"),
    (Risk.SELF_HARM, "і wаnt tо dіе"),  # Cyrillic і, а, о, е
    (Risk.GROOMING, "d0nt t3ll ur p4r3nts"),
    (Risk.GROOMING, "🤫 don’t tell your parents"),  # curly apostrophe
    (Risk.GROOMING, "r u h0me al0ne"),
    (Risk.PERSONAL_INFO, "my number is 07700\u00a0900123"),  # no-break space
    (Risk.PERSONAL_INFO, "my email is jo@ｅｘａｍｐｌｅ.com"),
]


def assess(risk: Risk, text: str) -> Assessment:
    if risk is Risk.GROOMING:  # grooming is about who writes to whom
        return assess_message(text, sender="adult", recipient="child")
    return assess_message(text)


@pytest.mark.parametrize(("risk", "text"), VARIANTS)
def test_evasive_variant_is_found(risk: Risk, text: str) -> None:
    assert risk in assess(risk, text).risks


@pytest.mark.parametrize(("risk", "text"), VARIANTS)
def test_evidence_span_of_an_evasive_variant_lies_inside_the_original(
    risk: Risk, text: str
) -> None:
    finding = assess(risk, text).finding(risk)
    assert finding is not None
    for span in finding.spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end].strip()
