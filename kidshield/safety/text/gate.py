"""Literal gates: skip a pattern unless one of the strings it cannot match without is present.

Running a few hundred patterns over every message is too slow for ~5,000 messages/s per core. Each
compiled pattern is analysed once (with the standard library's regex parser) for a set of literal
strings such that every match contains at least one of them; at run time a pattern is tried only
when one of its literals occurs in the message (a cheap substring test). Literals are compared
with doubled letters squeezed ("meet" -> "met") on both sides, because lexicon patterns let a
doubled letter match a single one. A pattern without a useful gate always runs; a lexicon can
also name its gate explicitly (``gate = ["@"]``, or ``"<digit>"`` for "has a digit").
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache, reduce
from operator import itemgetter, or_
from typing import Any

import ahocorasick

_parser: Any = importlib.import_module("re._parser")  # the stdlib parser; no public name
_c: Any = importlib.import_module("re._constants")

MIN_GATE = 3  # literals shorter than this are too common to be worth testing
# ... except for a pattern that would otherwise run on every message: "bf" or "gf" (the whole
# alternation "boyfriend|girlfriend|bf|gf") is absent from most messages, so even a two-letter
# gate spares most of them the pattern
LAST_RESORT_GATE = 2
RARE_CHARS = frozenset("@#/")  # ... unless they hold one of these
DIGIT = "<digit>"
# a letter the same letter follows: deleting each one leaves one letter of every run. An empty
# replacement keeps ``sub`` in C (a ``\1`` template calls back into Python for every run)
_DOUBLED_RE = re.compile(r"([a-z])(?=\1)")
_DIGIT_RE = re.compile(r"\d")
_VALUE = itemgetter(1)  # an automaton occurrence's value (its first item is where it ends)
_ZERO_WIDTH = frozenset([_c.AT, _c.ASSERT, _c.ASSERT_NOT])
_NO_HEADS = frozenset([""])
_SMALL_CLASS = 8  # a class of up to this many listed characters extends literals one by one
_MAX_COMBINED = 256  # endings x alternatives beyond this: the shorter literals only


@lru_cache(maxsize=8)
def squeeze(text: str) -> str:
    """Squeeze doubled letters: the form gates are compared in. Remembered for the last few
    texts: every gate pass over a message's view (the cue plan's, then each gated table's)
    needs it, and the substitution costs more than the look-up (1.7 µs a short message)."""
    return _DOUBLED_RE.sub("", text)


def _useful(literal: str, shortest: int = MIN_GATE) -> bool:
    return len(literal) >= shortest or any(c in RARE_CHARS for c in literal)


# everyday words: a gate made of these passes for most messages, so prefer any other
COMMON = frozenset(
    [
        "about",
        "after",
        "all",
        "always",
        "and",
        "any",
        "are",
        "around",
        "away",
        "back",
        "bad",
        "can",
        "come",
        "could",
        "did",
        "does",
        "done",
        "dont",
        "end",
        "even",
        "ever",
        "every",
        "find",
        "for",
        "from",
        "get",
        "give",
        "going",
        "gona",
        "got",
        "had",
        "has",
        "hate",
        "have",
        "her",
        "here",
        "him",
        "his",
        "home",
        "how",
        "just",
        "know",
        "let",
        "lets",
        "life",
        "like",
        "live",
        "lol",
        "lok",
        "love",
        "make",
        "many",
        "more",
        "much",
        "need",
        "ned",
        "never",
        "new",
        "night",
        "not",
        "now",
        "off",
        "one",
        "only",
        "other",
        "out",
        "over",
        "play",
        "real",
        "really",
        "said",
        "say",
        "see",
        "sem",
        "self",
        "send",
        "should",
        "show",
        "some",
        "still",
        "stop",
        "take",
        "talk",
        "tel",
        "than",
        "that",
        "thats",
        "the",
        "them",
        "then",
        "there",
        "they",
        "thing",
        "think",
        "this",
        "tho",
        "time",
        "too",
        "wana",
        "want",
        "was",
        "what",
        "when",
        "where",
        "who",
        "why",
        "wil",
        "will",
        "wish",
        "with",
        "without",
        "would",
        "yeah",
        "yes",
        "you",
        "your",
    ]
)


def _score(candidate: frozenset[str]) -> tuple[int, int, int]:
    common = sum(1 for s in candidate if s.strip() in COMMON)
    return (-common, min(len(s) for s in candidate), -len(candidate))


def _is_optional_repeat_of(op: Any, av: Any, previous: str) -> bool:
    """``c?`` right after ``c``: the doubled-letter tolerance; it adds nothing to the literal."""
    if op is not _c.MAX_REPEAT or av[0] != 0 or av[1] != 1 or len(av[2]) != 1:
        return False
    inner_op, inner_av = av[2][0]
    return bool(inner_op is _c.LITERAL and previous and chr(inner_av) == previous)


def _one_literal(seq: Any) -> bool:
    return len(seq) == 1 and seq[0][0] is _c.LITERAL


def _leading(seq: Any) -> str:
    """The literal text an alternative starts with."""
    out: list[str] = []
    for op, av in seq:
        if op is _c.LITERAL:
            out.append(chr(av))
        elif not _is_optional_repeat_of(op, av, out[-1] if out else ""):
            break
    return "".join(out)


def _best(seq: Any, shortest: int) -> frozenset[str] | None:
    """A set of literals every match of ``seq`` contains one of, or None if none found."""
    ranked = _ranked(seq, shortest)
    return ranked[0] if ranked else None


def _endings(seq: Any) -> frozenset[str]:
    """Literal texts one of which every match of ``seq`` ends with ({""}: none known).
    Zero-width assertions are looked past; a final group or alternation gives its own endings
    ("(?:park|shop)" -> park, shop), each followed by the literal text after it."""
    tail: list[str] = []
    items = list(seq)
    for place in range(len(items) - 1, -1, -1):
        op, av = items[place]
        if op is _c.LITERAL:
            tail.append(chr(av))
            continue
        if op in _ZERO_WIDTH:
            continue
        if place and _is_optional_repeat_of(op, av, _leading(items[place - 1 : place])):
            continue  # "stil?l"'s "l?": the letter before it ends the match either way
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1 and _one_literal(av[2]):
            tail.append(chr(av[2][0][1]) * av[0])  # "lol+" ends with "l"
            if av[0] == av[1]:
                continue  # "of{2}" is "off" exactly: what comes before still adjoins
            break
        inner: set[str] = set(_small_class(op, av))
        if op is _c.SUBPATTERN:
            inner.update(_endings(av[-1]))
        elif op is _c.BRANCH:
            for alternative in av[1]:
                inner.update(_endings(alternative))
        text = "".join(reversed(tail))
        if inner and "" not in inner and len(inner) <= _MAX_COMBINED:
            return frozenset(ending + text for ending in inner)
        return frozenset([text])
    return frozenset(["".join(reversed(tail))])


def _small_class(op: Any, av: Any) -> list[str]:
    """The characters of a class of a few listed characters ("[([{]"), else nothing."""
    if op is not _c.IN or len(av) > _SMALL_CLASS:
        return []
    if any(kind is not _c.LITERAL for kind, _value in av):
        return []
    return [chr(value) for _kind, value in av]


def _ranked(seq: Any, shortest: int = MIN_GATE) -> list[frozenset[str]]:
    """Every useful literal set a match of ``seq`` needs (one literal of each), best first."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []
    # what the run follows: one of the endings of the element before it ("at|on|in" then " "
    # gives "at ", "on ", "in "; a word then "[ ]" repeated, then "row": " row")
    heads = _NO_HEADS

    def close_run() -> None:
        nonlocal heads
        if run:
            text = "".join(run)
            candidates.append(frozenset(head + text for head in heads))
            run.clear()
        heads = _NO_HEADS

    for op, av in seq:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        if op in _ZERO_WIDTH:  # consumes nothing: the text on both sides adjoins
            continue
        if _is_optional_repeat_of(op, av, run[-1] if run else ""):
            continue
        chars = _small_class(op, av)
        if chars:  # "[([]at[)\]]": one of a few characters, read as alternatives: "(at)", "[at]"
            if run or heads is not _NO_HEADS:
                text = "".join(run)
                if len(heads) * len(chars) <= _MAX_COMBINED:
                    candidates.append(frozenset(h + text + c for h in heads for c in chars))
            close_run()
            heads = frozenset(chars)
            continue
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1 and _one_literal(av[2]):
            # "lol+": the text holds "lol"; and the last "l" adjoins what follows ("o+x": "ox")
            letter = chr(av[2][0][1])
            run.append(letter)
            close_run()
            run.append(letter)
            continue
        inner: frozenset[str] | None = None
        endings: set[str] = set()
        if op is _c.SUBPATTERN:
            inner = _best(av[-1], shortest)
            endings.update(_endings(av[-1]))
        elif op is _c.BRANCH:
            if run or heads is not _NO_HEADS:  # "g(?:ive|et)" -> give, get (the parser
                # factors common prefixes out), and " (?:row|st)" -> " row", " st"
                prefix = "".join(run)
                starts = heads if len(heads) * len(av[1]) <= _MAX_COMBINED else _NO_HEADS
                candidates.append(
                    frozenset(head + prefix + _leading(alt) for head in starts for alt in av[1])
                )
            union: set[str] = set()
            for alternative in av[1]:
                found = _best(alternative, shortest)
                if found is None:
                    union.clear()
                    break
                union |= found
            inner = frozenset(union) if union else None
            for alternative in av[1]:
                endings.update(_endings(alternative))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            inner = _best(av[2], shortest)
            endings.update(_endings(av[2]))  # the last time round ends with one
        close_run()
        if inner:
            candidates.append(inner)
        if endings and "" not in endings and len(endings) <= _MAX_COMBINED:
            heads = frozenset(endings)
    close_run()
    useful = [c for c in candidates if all(_useful(s, shortest) for s in c)]
    return sorted(useful, key=_score, reverse=True)


def required_literals(
    source: str, limit: int = 2, shortest: int = MIN_GATE
) -> tuple[frozenset[str], ...]:
    """Up to ``limit`` sets of squeezed literals; every match of ``source`` contains one
    literal of EACH set. Empty: no gate (the pattern always runs). ``shortest``: the shortest
    literal worth a gate (see :data:`LAST_RESORT_GATE`)."""
    chosen: list[frozenset[str]] = []
    for found in _ranked(_parser.parse(source), shortest):
        squeezed = frozenset(squeeze(s) for s in found)
        if all(squeezed.isdisjoint(other) for other in chosen):
            chosen.append(squeezed)
        if len(chosen) == limit:
            break
    return tuple(chosen)


class GateIndex:
    """Finds, in one pass, every gate literal present in a text: an Aho-Corasick automaton
    (pyahocorasick) reports every occurrence, overlapping ones and literals that are prefixes
    of others included, in C; about a quarter of what a trie-shaped regex tried at every
    position cost, and it was a tenth of the time of a whole message."""

    def __init__(self, literals: set[str], values: dict[str, int] | None = None) -> None:
        """``values``: the bit mask each literal stands for, OR-ed together by :meth:`union`
        (without them :meth:`matches` hands over the literal itself)."""
        words = sorted(w for w in literals if w != DIGIT)
        self._automaton: Any = None
        if words:
            automaton = ahocorasick.Automaton()
            for word in words:
                value: object = word if values is None else values.get(word, 0)
                automaton.add_word(word, value)
                # a leading space means "a word starts here": after a line break too
                if word.startswith(" "):
                    automaton.add_word("\n" + word[1:], value)
            automaton.make_automaton()
            self._automaton = automaton

    def matches(self, squeezed: str) -> Any:
        """(end, value) for every occurrence of a literal in ``squeezed``."""
        if self._automaton is None or not squeezed:
            return ()
        # the space before the text lets a literal with a leading space (" rn", " now") open
        # at the message's first word, as it does at every other word's start
        return self._automaton.iter(" " + squeezed)

    def union(self, squeezed: str, start: int) -> int:
        """``start`` OR the mask of every literal occurrence in ``squeezed`` (one C-level pass:
        a Python loop over the occurrences cost more than the automaton that found them)."""
        return reduce(or_, map(_VALUE, self.matches(squeezed)), start)


def _gates_of(source: str) -> tuple[frozenset[str], ...]:
    return required_literals(source) or required_literals(source, shortest=LAST_RESORT_GATE)


class GatedAlternation:
    """``before(?:a1|a2|...)after`` searched as the alternatives its gate literals let through.

    An alternative none of whose gate literals is in the text matches nowhere in it, so leaving
    it out changes no match of the whole; the ones left are searched one by one and merged as
    the alternation would: the leftmost start wins, the earliest alternative on a tie, and the
    search goes on from the end of each match. Bullying's exclusions (31 alternatives, 26,000
    characters) cost 100 µs a message as one pattern and about two of them pass a gate.
    ``split=False`` (a short alternation, cheaper whole than in parts): the whole is searched
    when any alternative's gate passes, and not at all when none does.
    """

    def __init__(self, sources: list[str], before: str, after: str, *, split: bool = True) -> None:
        self.whole = re.compile(f"{before}(?:{'|'.join(sources)}){after}")
        self._parts = (
            [re.compile(f"{before}(?:{source}){after}") for source in sources]
            if split
            else [self.whole]
        )
        # per part, the literal sets it needs one literal of EACH of (none: always searched)
        self.gates = [_gates_of(source) for source in sources]
        if not split and len(sources) != 1:  # the whole needs one alternative's first gate
            firsts = [gates[0] for gates in self.gates if gates]
            whole = (frozenset().union(*firsts),) if firsts and len(firsts) == len(sources) else ()
            self.gates = [whole]
        self._table: GatedTable | None = None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The spans ``self.whole.finditer(text)`` finds."""
        if self._table is None:
            self._table = GatedTable({"": self})
        return [(start, end) for _kind, start, end in self._table.spans(text)]

    def search(self, text: str, alive: int) -> list[tuple[int, int]]:
        """The spans of the whole in ``text``, given the parts whose gate passed (``alive``)."""
        parts: list[re.Pattern[str]] = []
        while alive:
            low = alive & -alive
            alive ^= low
            parts.append(self._parts[low.bit_length() - 1])
        if not parts:
            return []
        if len(parts) == 1 and parts[0] is self.whole:
            return [m.span() for m in self.whole.finditer(text)]
        found = [part.search(text) for part in parts]
        spans: list[tuple[int, int]] = []
        while True:
            best: re.Match[str] | None = None
            for match in found:  # the leftmost; the earliest alternative on a tie
                if match is not None and (best is None or match.start() < best.start()):
                    best = match
            if best is None:
                return spans
            start, end = best.span()
            if start == end:  # an empty match: finditer's own rules for what follows
                return [m.span() for m in self.whole.finditer(text)]
            spans.append((start, end))
            for place, match in enumerate(found):
                if match is not None and match.start() < end:
                    found[place] = parts[place].search(text, end)


class GatedTable:
    """Named gated alternations (a lexicon's "about" kinds) gated together: ONE automaton
    pass over the text finds which parts of which kinds can match, and a kind none of whose
    parts passes costs nothing more. A part passes when one literal of each of its gates is
    in the text, read in integers as :class:`kidshield.safety.text.lexicon.GatePlan` does:
    gate ``k`` of part ``p`` is bit ``k * width + p``, a literal stands for the bits it
    fills, and the bits of gates a part does not have are filled from the start."""

    def __init__(self, kinds: dict[str, GatedAlternation]) -> None:
        parts = [gates for alternation in kinds.values() for gates in alternation.gates]
        width = len(parts)
        slots = max((len(gates) for gates in parts), default=0) or 1
        self._shifts = tuple(slot * width for slot in range(1, slots))
        self._first = (1 << width) - 1
        self._start = 0
        masks: dict[str, int] = {}
        for part, gates in enumerate(parts):
            for slot in range(slots):
                bit = 1 << (slot * width + part)
                if slot >= len(gates):
                    self._start |= bit
                    continue
                for literal in gates[slot]:
                    masks[literal] = masks.get(literal, 0) | bit
        self._digit = masks.pop(DIGIT, 0)
        self._index = GateIndex(set(masks), masks)
        self._kinds: list[tuple[str, GatedAlternation, int, int]] = []
        offset = 0
        for kind, alternation in kinds.items():
            self._kinds.append((kind, alternation, offset, (1 << len(alternation.gates)) - 1))
            offset += len(alternation.gates)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(kind, start, end) of every match, kind by kind in the table's order, each kind's
        as its whole pattern's ``finditer`` finds them."""
        filled = self._start
        if self._digit and _DIGIT_RE.search(text) is not None:
            filled |= self._digit
        filled = self._index.union(squeeze(text), filled)
        alive = filled & self._first
        for shift in self._shifts:
            alive &= filled >> shift
        found: list[tuple[str, int, int]] = []
        for kind, alternation, offset, full in self._kinds:
            mine = alive >> offset & full
            if mine:
                found += [(kind, start, end) for start, end in alternation.search(text, mine)]
        return found
