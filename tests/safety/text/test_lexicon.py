"""Lexicons are data files per language, with a source and licence header; gates are sound."""

from __future__ import annotations

import re

import pytest

from kidshield.safety.text import Risk, assess_message
from kidshield.safety.text.gate import LAST_RESORT_GATE, required_literals
from kidshield.safety.text.lexicon import (
    DATA_DIR,
    LexiconError,
    compile_source,
    load_lexicon,
    rewrite_marking,
)
from kidshield.safety.text.signals.base import SignalContext
from tests.safety.text import gate_oracle
from tests.safety.text.corpus_util import load


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*/*.toml")), ids=lambda p: p.name)
def test_every_data_file_names_its_source_and_licence(path: object) -> None:
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert "Source: written by kidshield contributors" in text
    assert "Apache-2.0" in text


def test_result_says_which_language_was_assumed() -> None:
    assert assess_message("hi").language == "en"
    assert assess_message("hi").language_source == "default"
    assert assess_message("hi", language="en-GB").language_source == "requested"


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(LexiconError, match="available: en"):
        assess_message("hola", language="xx")


def test_every_risk_has_a_lexicon() -> None:
    lexicon = load_lexicon()
    assert {lex.risk for lex in lexicon.risks} == set(Risk)


CORPORA = ["benign", *(r.value for r in Risk)]


@pytest.mark.parametrize("name", CORPORA)
def test_literal_gates_never_skip_a_pattern_that_would_match(name: str) -> None:
    """Speed comes from skipping patterns; this checks that skipping loses nothing (the choice
    the engine makes, ``SignalContext.candidates``)."""
    lexicon = load_lexicon()
    for message in load(name):
        ctx = SignalContext(lexicon.normalizer.normalize(message), lexicon)
        for lex in lexicon.risks:
            view = ctx.norm.text if lex.view == "text" else ctx.norm.light
            chosen = {id(p) for p in ctx.candidates(lex)}
            for pattern in lex.patterns:
                if pattern.regex.search(view):
                    assert id(pattern) in chosen, (message, pattern.cue.id)


@pytest.mark.parametrize(
    ("risk", "cue", "model", "error"),
    [
        (Risk.SELF_HARM, "i want to die", 'otherwise = "sometimes"', "otherwise must be"),
        (Risk.SEXUAL_CONTENT, "nudes", 'requires = ["sex"]\nrequires_between_adults_only = "yes"',
         "requires_between_adults_only must be true or false"),
    ],
)
def test_bad_model_section_names_the_file(
    tmp_path: object, risk: Risk, cue: str, model: str, error: str
) -> None:
    from pathlib import Path

    from kidshield.safety.text.lexicon import _compile_risk

    path = Path(str(tmp_path)) / f"{risk.value}.toml"
    path.write_text(
        f'[[cue]]\nid = "x"\nweight = 0.5\npatterns = ["{cue}"]\n[model]\n{model}\n',
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match=rf"{risk.value}\.toml: \[model\]: {error}"):
        _compile_risk(risk, path, {})


def test_a_pattern_of_short_literals_only_is_gated_on_them_and_still_found() -> None:
    """A pattern whose every literal is short ("bf", "gf") ran on every message; the last-resort
    gate spares the messages without one and still finds it in those with one."""
    source = r"(?<![a-z])(?:have\W+(?:u|you)\W+(?:a\W+)?(?:bf|gf))(?![a-z])"
    assert required_literals(source)[:1] == (frozenset({"have"}),)  # common: not worth it alone
    assert required_literals(r"(?<![a-z])(?:bf|gf)(?![a-z])") == ()
    assert required_literals(r"(?<![a-z])(?:bf|gf)(?![a-z])", shortest=LAST_RESORT_GATE) == (
        frozenset({"bf", "gf"}),
    )
    lexicon = load_lexicon()
    grooming = lexicon.for_risk(Risk.GROOMING)
    probes = [p for p in grooming.patterns if p.cue.id == "relationship_probe"]

    def chosen(message: str) -> set[int]:
        ctx = SignalContext(lexicon.normalizer.normalize(message), lexicon)
        return {id(p) for p in ctx.candidates(grooming)}

    assert not any(id(p) in chosen("see you at practice tomorrow") for p in probes)
    ctx = SignalContext(lexicon.normalizer.normalize("do u have a bf??"), lexicon)
    view = ctx.norm.text
    matching = [p for p in probes if p.regex.search(view)]
    assert matching and all(id(p) in chosen("do u have a bf??") for p in matching)


@pytest.mark.parametrize("name", CORPORA)
def test_the_one_pass_plan_chooses_what_the_gates_choose(name: str) -> None:
    """``GatePlan.select`` (masks, one pass) is a faster reading of the reference gate rule
    (``gate_oracle``, sets per view): the same patterns in the same order, for every risk, also
    when the two views differ."""
    lexicon = load_lexicon()
    messages = [*load(name), "héllo ＡＢＣ 5 x", "call me at 555 0199 😀", "xxx", ""]
    for message in messages:
        ctx = SignalContext(lexicon.normalizer.normalize(message), lexicon)
        for lex in lexicon.risks:
            want = [id(p) for p in gate_oracle.chosen(ctx, lex)]
            assert [id(p) for p in ctx.candidates(lex)] == want, (message, lex.risk)


def test_squeeze_keeps_one_letter_of_every_run() -> None:
    from kidshield.safety.text.gate import squeeze

    assert squeeze("heeeyyy  sooo cooool aa b") == "hey  so col a b"
    assert squeeze("AAa 11 x") == "AAa 11 x"  # letters as the lexicons write them: a-z only


@pytest.mark.parametrize("name", CORPORA)
def test_a_split_exclusion_finds_the_spans_of_the_whole(name: str) -> None:
    """A long exclusion is searched as the alternatives its gates let through; the spans are
    those of the one alternation, in both views."""
    lexicon = load_lexicon()
    split = [lex for lex in lexicon.risks if lex.exclude_split is not None]
    assert split  # bullying's exclusions at least
    for message in load(name):
        norm = lexicon.normalizer.normalize(message)
        for lex in split:
            assert lex.exclude_split is not None and lex.exclude is not None
            for view in (norm.text, norm.light):
                want = [m.span() for m in lex.exclude.finditer(view)]
                assert lex.exclude_split.spans(view) == want, (message, lex.risk)


def test_a_split_alternation_merges_as_the_alternation_would() -> None:
    """Leftmost match first, the earlier alternative on a tie, on from each match's end;
    an alternative whose literal is absent is never searched."""
    from kidshield.safety.text.gate import GatedAlternation

    sources = [r"big\W+dog", r"big\W+dogs?\W+bark", r"dog\W+bark\w*", r"cat\w*"]
    before, after = "(?<![a-z0-9])", "(?![a-z0-9])"
    alternation = GatedAlternation(sources, before, after)
    for text in ["big dogs bark at cats", "a big dog barks", "dog barking, big dog", "cat", "",
                 "the bigdog dog bark catcat big dogs bark"]:
        want = [m.span() for m in alternation.whole.finditer(text)]
        assert alternation.spans(text) == want, text
    assert alternation.spans("nothing here") == []


def _tripled_letters(source: str) -> list[str]:
    """The words with a run of three of a letter that the doubled-letter rewrite reads as
    optional (``lexicon.rewrite_marking``: outside classes, escapes and look-behinds)."""
    _, optional = rewrite_marking(source)
    found: dict[str, None] = {}
    for third in sorted(i for i in optional if i - 1 in optional):
        start, end = third - 2, third + 1
        # a letter after a backslash is an escape ("\\w"), not part of the word
        while source[start - 1 : start].isalpha() and source[start - 2 : start - 1] != "\\":
            start -= 1
        while end < len(source) and source[end].isalpha():
            end += 1
        found[source[start:end]] = None
    return list(found)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_no_lexicon_writes_a_tripled_letter_the_rewrite_makes_optional() -> None:
    """The doubled-letter rewrite makes "xxx" `xx?x?`, which takes a lone "x" (a kiss sign).

    The runs left are harmless: "loool" is laughter whatever its length, "sss" and "www" sit
    beside "ss", "s" and an optional group. A new one must be looked at and added here.
    """
    import tomllib

    found = {
        (path.name, run)
        for path in DATA_DIR.glob("*/*.toml")
        for source in _strings(tomllib.loads(path.read_text(encoding="utf-8")))
        for run in _tripled_letters(source)
    }
    assert found == {
        ("common.toml", "loool"),
        ("personal_info.toml", "sss"),
        ("personal_info.toml", "www"),
    }


@pytest.mark.parametrize(("source", "matches", "refuses"), [
    # brackets listed in a class stay brackets: "[" "(" "{" "<" and nothing else (a class's
    # "(" once became "(?:", which let "?" and ":" stand there too)
    (r"[\[({<]at[\])}>]", ["(at)", "[at]", "{at}"], ["?at)", ":at]"]),
    (r"[](]x", ["]x", "(x"], ["?x", ":x"]),
    (r"[^(]y", ["ay"], ["(y"]),
])
def test_patterns_keep_brackets_inside_character_classes(
        source: str, matches: list[str], refuses: list[str]) -> None:
    pattern = re.compile(compile_source(source, {}, "test"))
    assert [text for text in matches if pattern.fullmatch(text)] == matches
    assert [text for text in refuses if pattern.fullmatch(text)] == []


def test_groups_do_not_capture() -> None:
    # the engine reads spans only, and re caps a pattern's groups
    assert re.compile(compile_source(r"(a|b)(c)\(d\)", {}, "test")).groups == 0
