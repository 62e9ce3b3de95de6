"""The cheap pre-checks in front of the gated patterns never turn away a text the full pattern
would match (docs/performance-log.md, fifteenth session): the gated "about" tables and split
exclusions against their whole patterns, and ``find_place``'s word look-ups against the same
function with every shape tried. The texts: every test corpus, every example the lexicons
quote in their comments, and each of those in capitals and with a letter doubled (the gates
squeeze doubled letters), so a later lexicon or word-list edit cannot silently break them."""

from __future__ import annotations

import re
from functools import cache

import pytest

from kidshield.safety.text.gate import GatedAlternation, GatedTable, required_literals
from kidshield.safety.text.lexicon import DATA_DIR, load_lexicon
from kidshield.safety.text.pii import places
from kidshield.safety.text.signals.base import SignalContext
from tests.safety.text.corpus_util import CORPUS, load

_QUOTED = re.compile(r'"([^"\n]{3,})"')


@cache
def _examples() -> tuple[str, ...]:
    """What the lexicons quote in their comments, and each with its first letter doubled."""
    texts: list[str] = []
    for path in sorted((DATA_DIR / "en").glob("*.toml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("#") or " # " in line:
                texts += _QUOTED.findall(line.split("#", 1)[1])
    doubled = [re.sub(r"([a-z])", r"\1\1", text, count=1) for text in texts]
    return tuple(dict.fromkeys([*texts, *doubled]))


@cache
def _texts() -> tuple[str, ...]:
    texts = [line for path in sorted(CORPUS.glob("*.txt")) for line in load(path.stem)]
    texts += _examples()
    upper = [text.upper() for text in texts]
    return tuple(dict.fromkeys([*texts, *upper, "", "Ｋ", "héllo ＡＢＣ 5 x"]))


def test_the_texts_hold_matches_to_lose() -> None:
    lexicon = load_lexicon()
    bullying = next(lex for lex in lexicon.risks if lex.risk.value == "bullying")
    views = [lexicon.normalizer.normalize(text).text for text in _texts()]
    kinds = {kind for view in views for kind, _s, _e in bullying.about_spans(view)}
    assert kinds >= {"target", "threat", "banter", "negated"}
    assert sum(places.find_place(text) is not None for text in _texts()) > 100


def test_every_gated_table_finds_what_its_whole_patterns_find() -> None:
    lexicon = load_lexicon()
    for text in _texts():
        norm = lexicon.normalizer.normalize(text)
        for lex in lexicon.risks:
            for view in dict.fromkeys([norm.text, norm.light]):
                whole = [(kind, m.start(), m.end()) for kind, regex in lex.about.items()
                         for m in regex.finditer(view)]
                assert lex.about_spans(view) == whole, (text, lex.risk)
                if lex.exclude_split is not None and lex.exclude is not None:
                    want = [m.span() for m in lex.exclude.finditer(view)]
                    assert lex.exclude_split.spans(view) == want, (text, lex.risk)


def test_a_part_is_searched_only_when_each_of_its_gates_passes() -> None:
    """Two gates ANDed: "bark" alone lets nothing through, "dog" and "bark" the part."""
    before, after = "(?<![a-z0-9])", "(?![a-z0-9])"
    parts = GatedAlternation([r"dog\W+bark\w*", r"lol+"], before, after)
    assert sorted(map(sorted, parts.gates[0])) == [["bark"], ["dog"]]
    table = GatedTable({"a": parts})
    assert table.spans("the dog barked lolll") == [("a", 4, 14), ("a", 15, 20)]
    assert table.spans("bark bark lo l") == []
    whole = GatedAlternation([r"dog\W+bark\w*", r"lol+"], before, after, split=False)
    assert GatedTable({"b": whole}).spans("dog bark") == [("b", 0, 8)]
    assert whole.spans("nothing here") == []


@pytest.mark.parametrize(
    ("source", "literal"),
    [("lol+", "lol"), ("xd+", "xd"), ("o+x", "ox"), ("haha+", "haha"), ("hey+a", "hey")],
)
def test_a_repeated_letter_still_gives_a_literal(source: str, literal: str) -> None:
    assert any(literal in found for found in required_literals(source, shortest=2))
    for text in ["lolll", "xddd", "ooox", "hahaaa", "heyyya"]:
        if re.search(source, text):
            squeezed = re.sub(r"([a-z])(?=\1)", "", text)
            assert all(any(s in squeezed for s in g) for g in required_literals(source, 4, 2))


def test_the_place_word_look_ups_turn_away_no_place(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    got = [(places.find_place(t), places.find_place(t, case_blind=True)) for t in texts]
    monkeypatch.setattr(places, "_ascii_words", lambda _text: None)  # the patterns only
    want = [(places.find_place(t), places.find_place(t, case_blind=True)) for t in texts]
    for text, mine, theirs in zip(texts, got, want, strict=True):
        assert mine == theirs, text


def test_a_case_blind_letter_outside_ascii_is_read_the_long_way() -> None:
    # "\u017f" (the long s) is "s" to a case-blind pattern but not to str.lower: "King \u017ft"
    # is a street, as "King st" is, although its words hold no "st"
    assert "st" not in "meet me on king \u017ft".lower().split()
    assert places.find_place("meet me on King \u017ft") == (11, 18)
    assert places.find_place("meet me on \u212aing road") == (11, 20)  # the Kelvin sign


def test_the_cue_plan_skips_no_pattern_that_matches() -> None:
    """The cue plan's gates (the same literals, read by ``GatePlan``) against every pattern run
    on every example (test_lexicon.py does it over the corpora, ``bench/text_answers.py
    --gates`` over the training sample)."""
    lexicon = load_lexicon()
    for text in _examples():
        ctx = SignalContext(lexicon.normalizer.normalize(text), lexicon)
        for lex in lexicon.risks:
            view = ctx.norm.text if lex.view == "text" else ctx.norm.light
            chosen = {id(p) for p in ctx.candidates(lex)}
            for pattern in lex.patterns:
                assert id(pattern) in chosen or not pattern.regex.search(view), (
                    text, pattern.cue.id)


@pytest.mark.parametrize(
    ("source", "literals"),
    [
        # the ending of each alternative adjoins the text after the group: "at ", not "at"
        (r"(?<![a-z])(?:at|on|in|of{2}) (?:the )?park", {"at ", "on ", "in ", "of "}),
        # a repeated group ends with its last literal: the space before the street word
        (r"(?:[a-z]+[ ]){1,3}?(?:row|st|road)(?![a-z])", {" row", " st", " road"}),
        # a class of a few characters, read one by one (email's "tom[at]example")
        (r"[a-z]+[\[(]at[\])][a-z]+", {"[at]", "[at)", "(at]", "(at)"}),
        # zero-width assertions consume nothing: "me" and "et" adjoin
        (r"me(?=t)(?<!x)et", {"meet"}),
        # each alternative's own endings, through a nested group
        (r"(?:big (?:park|shop)|cafe)(?![a-z]) on", {"park on", "shop on", "cafe on"}),
    ],
)
def test_literals_run_on_past_groups_classes_and_assertions(
    source: str, literals: set[str]
) -> None:
    from kidshield.safety.text.gate import squeeze

    found = required_literals(source, limit=4)
    assert frozenset(squeeze(s) for s in literals) in found, found


def test_every_literal_set_of_every_pattern_is_in_each_text_it_matches() -> None:
    """The literal analysis itself, beyond the sets the gates use: every set it reads off any
    cue, exclusion or "about" pattern (up to four, at both lengths) has a literal in every text
    the pattern matches, over every corpus and quoted example, capitalised and doubled."""
    from kidshield.safety.text.gate import LAST_RESORT_GATE, squeeze

    lexicon = load_lexicon()
    patterns = [
        (lex.view, regex)
        for lex in lexicon.risks
        for regex in [
            *(p.regex for p in lex.patterns),
            *([lex.exclude] if lex.exclude is not None else []),
            *lex.about.values(),
        ]
    ]
    gates = {
        id(regex): {
            *required_literals(regex.pattern, limit=4),
            *required_literals(regex.pattern, limit=4, shortest=LAST_RESORT_GATE),
        }
        for _view, regex in patterns
    }
    checked = 0
    for text in _texts():
        norm = lexicon.normalizer.normalize(text)
        for view_name, regex in patterns:
            view = norm.text if view_name == "text" else norm.light
            if regex.search(view) is None:
                continue
            squeezed = " " + squeeze(view)
            for literals in gates[id(regex)]:
                digit = "<digit>" in literals and re.search(r"\d", view) is not None
                # a leading space stands for a word start, after a line break too (GateIndex)
                assert digit or any(
                    s in squeezed or (s[:1] == " " and "\n" + s[1:] in squeezed)
                    for s in literals
                ), (text, regex.pattern[:80])
            checked += 1
    assert checked > 1000
