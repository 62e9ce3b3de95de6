"""Per-language lexicons: TOML data files compiled once into a few regular expressions.

A language is a folder ``data/<lang>/`` holding ``common.toml`` (macros, emoji codes, context
words) and one ``<risk>.toml`` per risk (cues and exclusions). Adding a language is a data
addition: copy the English folder and translate it. Helplines are per country, not per
language: the shipped ``policy/data/helplines.toml``, chosen by ``policy.helplines``.

Each risk compiles into ONE alternation of named groups (one per cue pattern) and, if it has any,
one alternation of exclusions, so a message costs about one regex pass per risk.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kidshield.errors import InputError
from kidshield.safety.text.gate import (
    DIGIT,
    LAST_RESORT_GATE,
    GatedAlternation,
    GatedTable,
    GateIndex,
    required_literals,
    squeeze,
)
from kidshield.safety.text.model import Risk
from kidshield.safety.text.normalize import Normalizer
from kidshield.safety.text.statedage import StatedAge

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_LANGUAGE = "en"

_MACRO_RE = re.compile(r"\{([a-z_]+)\}")
_BOUNDARY_BEFORE = "(?<![a-z0-9])"
_BOUNDARY_AFTER = "(?![a-z0-9])"
_DIGIT_RE = re.compile(r"\d")
SPLIT_EXCLUDE_CHARS = 2_000


class LexiconError(InputError):
    """A lexicon data file is invalid."""


@dataclass(frozen=True, slots=True)
class Cue:
    risk: Risk
    id: str
    stage: str
    weight: float
    peer: float  # multiplier when both sides are known minors
    adult: float  # multiplier when a known adult writes to a known minor
    negatable: bool
    tags: frozenset[str]
    redact: str | None = None  # personal information: the placeholder for the "v" group
    min_digits: int = 0


@dataclass(frozen=True, slots=True)
class CuePattern:
    cue: Cue
    regex: re.Pattern[str]
    has_value: bool  # has a "v" group: the value to point at and redact


@dataclass(frozen=True, slots=True)
class RiskLexicon:
    risk: Risk
    view: str  # "text" (full normalisation) or "light"
    cues: tuple[Cue, ...]
    patterns: tuple[CuePattern, ...]
    gates: dict[str, tuple[int, ...]]  # gate literal -> patterns it unlocks
    always: tuple[int, ...]  # patterns without a gate
    exclude: re.Pattern[str] | None
    also: dict[int, tuple[frozenset[str], ...]] = field(default_factory=dict)  # more gates
    # talk about the risk that does not put the writer at risk (kind -> pattern); see about()
    about: dict[str, re.Pattern[str]] = field(default_factory=dict)
    # [model]: what the learned model needs to flag without a cue of the risk (see combine.py):
    # one of these words in the message, or else its ``model_otherwise`` level; when
    # ``model_otherwise_requires`` is set, that level needs one of its words too and without
    # them the model alone never flags
    model_requires: re.Pattern[str] | None = None
    model_otherwise: str = "high"
    model_otherwise_requires: re.Pattern[str] | None = None
    # a whole message that says nothing by itself ("you?", "and you"): the model alone never
    # flags it, whatever the n-grams of so short a text score
    model_says_nothing: re.Pattern[str] | None = None
    # cues with one of these tags are the risk itself; cues with only other tags (distress)
    # neither flag alone nor stand in for it beside the model (empty: every cue counts)
    support_tags: frozenset[str] = frozenset()
    # the level the model alone needs when one of ``model_requires`` is in the message (None:
    # the head's own ``alone`` level from the manifest)
    model_with_requires: str | None = None
    # ``exclude`` searched as the alternatives its gates let through (the same spans)
    exclude_split: GatedAlternation | None = None
    # ``model_requires`` waived when an adult writes to a minor: what is small talk between
    # adults or peers ("what are you wearing", "u in bed?") is not, said to a child
    requires_between_adults_only: bool = False
    # ``about`` gated: one pass finds the kinds (and, of a long kind, the alternatives) that can
    # match, the same spans (bullying's "target" kind costs 80 µs a short message as one
    # pattern, and its other kinds 18 µs run on every message)
    about_gated: GatedTable | None = None

    def supports(self, tags: frozenset[str]) -> bool:
        return not self.support_tags or not self.support_tags.isdisjoint(tags)

    def about_spans(self, view: str) -> list[tuple[str, int, int]]:
        """(kind, start, end) of each "talk about it" context in ``view``."""
        if self.about_gated is None:
            return []
        return self.about_gated.spans(view)


class GatePlan:
    """Every risk's patterns worth running on a text, from one pass of the gate automaton.

    The rule: a pattern runs when one literal of its first gate is in its view of the text and
    one literal of each further gate too (``tests/safety/text/gate_oracle.py`` reads it with
    sets, and a test checks the plan chooses the same). Here it is read in integers: all risks'
    patterns are numbered as one, and a pattern's gates are its slots (the first gate slot 0,
    its further gates slots 1, 2, ...): slot ``k`` of pattern ``p`` is bit ``k * width + p`` of
    one mask. A gate literal stands for the bits of the slots it fills; the automaton ORs them
    over every literal in the text (in C), and a pattern runs when all its slots are filled,
    the slots it has no gate for filled from the start. Building the set of literals and
    looking each one up again per risk, and then a loop over every pattern the first gate let
    through to check the further ones, cost more than the patterns they spared.
    """

    def __init__(self, risks: tuple[RiskLexicon, ...]) -> None:
        self.risks = risks
        self._keys = tuple(lex.risk for lex in risks)
        # per pattern, in one numbering over all risks: the pattern and its risk's place
        self._entries: list[CuePattern] = []
        self._owner: list[int] = []
        first_of: list[int] = []
        for index, lex in enumerate(risks):
            first_of.append(len(self._entries))
            self._entries.extend(lex.patterns)
            self._owner.extend([index] * len(lex.patterns))
        width = len(self._entries)
        slots = 1 + max((len(more) for lex in risks for more in lex.also.values()), default=0)
        self._shifts = tuple(slot * width for slot in range(1, slots))
        self._first = (1 << width) - 1  # slot 0 of every pattern
        views = sorted({lex.view for lex in risks})
        # per set of views: the gate index over their risks' literals, and the mask to start
        # from (a view's text that differs from the others is scanned alone)
        self._scans: dict[tuple[str, ...], tuple[GateIndex, int, int]] = {}
        for chosen in [tuple(views), *((view,) for view in views)]:
            values: dict[str, int] = {}
            start = 0
            for index, lex in enumerate(risks):
                if lex.view not in chosen:
                    continue
                first = first_of[index]
                for literal, positions in lex.gates.items():
                    for position in positions:
                        values[literal] = values.get(literal, 0) | 1 << (first + position)
                for position in lex.always:
                    start |= 1 << (first + position)
                for position in range(len(lex.patterns)):
                    bit = 1 << (first + position)
                    further = lex.also.get(position, ())
                    for slot in range(1, slots):
                        if slot > len(further):  # no such gate: filled from the start
                            start |= bit << (slot * width)
                            continue
                        for literal in further[slot - 1]:
                            values[literal] = values.get(literal, 0) | bit << (slot * width)
            digit = values.pop(DIGIT, 0)
            self._scans[chosen] = (GateIndex(set(values), values), start, digit)
        self._all = tuple(views)

    def select(self, text: str, light: str) -> dict[Risk, list[CuePattern]]:
        """Per risk, the patterns to run on its view of the message (``text`` or ``light``)."""
        if text == light:  # most messages: one pass serves every view
            chosen = self._scan(self._all, text)
        else:
            chosen = 0
            for view in self._all:
                chosen |= self._scan((view,), text if view == "text" else light)
        out: list[list[CuePattern]] = [[] for _ in self.risks]
        entries, owner = self._entries, self._owner
        while chosen:  # lowest bit first: each risk's patterns in their lexicon order
            low = chosen & -chosen
            chosen ^= low
            position = low.bit_length() - 1
            out[owner[position]].append(entries[position])
        return dict(zip(self._keys, out, strict=True))

    def _scan(self, views: tuple[str, ...], text: str) -> int:
        """The patterns (slot 0 bits) whose every gate has a literal in ``text``."""
        index, start, digit = self._scans[views]
        if _DIGIT_RE.search(text) is not None:
            start |= digit
        filled = index.union(squeeze(text), start)
        chosen = filled & self._first
        for shift in self._shifts:
            chosen &= filled >> shift
        return chosen


@dataclass(frozen=True, slots=True)
class Lexicon:
    language: str
    normalizer: Normalizer
    risks: tuple[RiskLexicon, ...]
    laugh: re.Pattern[str]
    gaming: re.Pattern[str]
    negation: re.Pattern[str]
    mundane: re.Pattern[str]
    stated_age: StatedAge  # a writer's own age in the text ("im 13", "14 f")
    plan: GatePlan  # each risk's patterns worth running on a message, in one pass
    # read a dozen times a message: a dictionary, not a walk over ``risks``
    _by_risk: dict[Risk, RiskLexicon] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_risk", {lex.risk: lex for lex in self.risks})

    def for_risk(self, risk: Risk) -> RiskLexicon:
        found = self._by_risk.get(risk)
        if found is None:
            raise LexiconError(f"language {self.language!r} has no lexicon for {risk.value}")
        return found


def available_languages() -> list[str]:
    return sorted(p.name for p in DATA_DIR.iterdir() if (p / "common.toml").is_file())


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise LexiconError(f"{path}: lexicon file is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{path}: not valid TOML: {exc}") from None


def _rewrite(source: str) -> str:
    """Spaces and doubled letters, outside character classes.

    A space means one or more non-word characters and " ?" means maybe some; a doubled letter
    also matches a single one ("ll" -> "ll?"). Inside a look-behind (which must have a fixed
    width) a space is exactly one whitespace character and doubled letters stay as written.
    """
    return rewrite_marking(source)[0]


def rewrite_marking(source: str) -> tuple[str, frozenset[int]]:
    """``_rewrite``'s result and the indexes in ``source`` of the letters it made optional.

    The indexes let a lexicon check find every word whose single-letter reading is another
    word ("noose" also reads "nose"), reading the patterns exactly as they are compiled.
    """
    out: list[str] = []
    optional: set[int] = set()
    in_class = False
    groups: list[bool] = []  # per open group: is it a look-behind?
    i = 0
    while i < len(source):
        char = source[i]
        behind = any(groups)
        if char == "\\":
            out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "(":
            groups.append(source.startswith(("(?<!", "(?<="), i))
            out.append(char)
        elif char == ")":
            if groups:
                groups.pop()
            out.append(char)
        elif char == " ":
            if behind:
                out.append(r"\s")
            elif source[i + 1 : i + 2] == "?":
                out.append(r"\W*")
                i += 1
            else:
                out.append(r"\W+")
        elif (
            not behind
            and "a" <= char <= "z"
            and i > 0
            and source[i - 1] == char
            and (i < 2 or source[i - 2] != "\\")
            and source[i + 1 : i + 2] not in ("?", "*", "+", "{")
        ):
            out.append(char + "?")
            optional.add(i)
        else:
            out.append(char)
        i += 1
    return "".join(out), frozenset(optional)


def _non_capturing(source: str) -> str:
    """``source`` with each capturing group made non-capturing (the engine reads spans, never
    groups, and ``re`` caps a pattern's groups). A "(" escaped or inside a character class is
    a character: "[\\[({<]" keeps it."""
    out: list[str] = []
    members = -1  # where the open class's members start (-1: not in a class)
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            out.append(source[i : i + 2])
            i += 2
            continue
        if members >= 0:
            # a "]" first in the class ("[]...]", "[^]...]") is a member, not its end
            if char == "]" and i > members:
                members = -1
        elif char == "[":
            members = i + 2 if source[i + 1 : i + 2] == "^" else i + 1
        elif char == "(" and source[i + 1 : i + 2] != "?":
            char = "(?:"
        out.append(char)
        i += 1
    return "".join(out)


def compile_source(source: str, macros: dict[str, str], where: str) -> str:
    """Expand macros, spaces and doubled letters; drop capturing groups. Returns regex source."""
    for _ in range(5):
        expanded = _MACRO_RE.sub(lambda m: macros.get(m.group(1), m.group(0)), source)
        if expanded == source:
            break
        source = expanded
    unknown = _MACRO_RE.search(source)
    if unknown:
        raise LexiconError(f"{where}: unknown macro {{{unknown.group(1)}}}")
    source = _rewrite(source)
    source = _non_capturing(source)
    try:
        re.compile(source)
    except re.error as exc:
        raise LexiconError(f"{where}: invalid pattern: {exc}") from None
    return source


def _compile_risk(risk: Risk, path: Path, macros: dict[str, str]) -> RiskLexicon:
    data = _read(path)
    own = data.get("macros", {})  # a risk file may add macros of its own (or override)
    if own:
        macros = {**macros, **{str(k): str(v) for k, v in own.items()}}
    meta = data.get("meta", {})
    defaults = data.get("defaults", {})
    view = str(meta.get("view", "text"))
    compiled: list[CuePattern] = []
    gates: dict[str, list[int]] = {}
    also: dict[int, tuple[frozenset[str], ...]] = {}
    always: list[int] = []
    cues: list[Cue] = []
    for index, raw in enumerate(data.get("cue", [])):
        where = f"{path}: cue {raw.get('id', index)!r}"
        try:
            cue = Cue(
                risk=risk,
                id=str(raw["id"]),
                stage=str(raw.get("stage", raw["id"])),
                weight=float(raw["weight"]),
                peer=float(raw.get("peer", defaults.get("peer", 1.0))),
                adult=float(raw.get("adult", defaults.get("adult", 1.0))),
                negatable=bool(raw.get("negatable", defaults.get("negatable", False))),
                tags=frozenset(str(t) for t in raw.get("tags", ())),
                redact=raw.get("redact"),
                min_digits=int(raw.get("min_digits", 0)),
            )
            patterns = [str(p) for p in raw["patterns"]]
            manual_gate = frozenset(squeeze(str(g)) for g in raw.get("gate", ())) or None
        except (KeyError, TypeError, ValueError) as exc:
            raise LexiconError(f"{where}: missing or invalid field ({exc})") from None
        if not 0.0 < cue.weight <= 1.0:
            raise LexiconError(f"{where}: weight must be in (0, 1], got {cue.weight}")
        cues.append(cue)
        for number, pattern in enumerate(patterns):
            source = compile_source(pattern, macros, f"{where} pattern {number + 1}")
            position = len(compiled)
            gate_sets = required_literals(source) or required_literals(
                source, shortest=LAST_RESORT_GATE
            )
            if manual_gate:  # the named gate first; what the pattern itself needs narrows it
                gate_sets = (manual_gate, *(g for g in gate_sets if g != manual_gate))
            if not gate_sets:
                always.append(position)
            else:
                for literal in gate_sets[0]:
                    gates.setdefault(literal, []).append(position)
                if len(gate_sets) > 1:
                    also[position] = gate_sets[1:]
            regex = re.compile(f"{_BOUNDARY_BEFORE}(?:{source}){_BOUNDARY_AFTER}")
            compiled.append(CuePattern(cue, regex, "v" in regex.groupindex))
    if not compiled:
        raise LexiconError(f"{path}: no cues")
    excludes = [
        compile_source(str(p), macros, f"{path}: exclude {raw.get('id', '?')!r}")
        for raw in data.get("exclude", [])
        for p in raw.get("patterns", [])
    ]
    exclude = (
        re.compile(f"{_BOUNDARY_BEFORE}(?:{'|'.join(excludes)}){_BOUNDARY_AFTER}")
        if excludes
        else None
    )
    # a long alternation is searched as the parts its gates let through (bullying's: 100 µs a
    # message whole); a short one costs less whole than the gate pass would
    split = (
        GatedAlternation(excludes, _BOUNDARY_BEFORE, _BOUNDARY_AFTER)
        if len(excludes) > 1 and sum(map(len, excludes)) >= SPLIT_EXCLUDE_CHARS
        else None
    )
    about_sources: dict[str, list[str]] = {}
    for raw in data.get("about", []):
        where = f"{path}: about {raw.get('id', '?')!r}"
        kind = raw.get("kind")
        if not isinstance(kind, str) or not kind:
            raise LexiconError(f"{where}: a 'kind' is required")
        about_sources.setdefault(kind, []).extend(
            compile_source(str(p), macros, where) for p in raw.get("patterns", [])
        )
    about = {
        kind: re.compile(f"{_BOUNDARY_BEFORE}(?:{'|'.join(sources)}){_BOUNDARY_AFTER}")
        for kind, sources in about_sources.items()
    }
    about_gated = GatedTable(
        {
            kind: GatedAlternation(
                sources,
                _BOUNDARY_BEFORE,
                _BOUNDARY_AFTER,
                split=len(sources) > 1 and sum(map(len, sources)) >= SPLIT_EXCLUDE_CHARS,
            )
            for kind, sources in about_sources.items()
        }
    ) if about_sources else None
    model = data.get("model", {})
    where = f"{path}: [model]"
    requires = [compile_source(str(p), macros, where) for p in model.get("requires", ())]
    otherwise = str(model.get("otherwise", "high"))
    if otherwise not in ("low", "medium", "high"):
        raise LexiconError(f"{where}: otherwise must be low, medium or high, not {otherwise!r}")
    otherwise_requires = [
        compile_source(str(p), macros, where) for p in model.get("otherwise_requires", ())
    ]
    if otherwise_requires and not requires:
        raise LexiconError(f"{where}: otherwise_requires needs requires beside it")
    says_nothing = [compile_source(str(p), macros, where) for p in model.get("says_nothing", ())]
    with_requires = model.get("with_requires")
    if with_requires is not None and with_requires not in ("low", "medium", "high"):
        raise LexiconError(
            f"{where}: with_requires must be low, medium or high, not {with_requires!r}")
    if with_requires is not None and not requires:
        raise LexiconError(f"{where}: with_requires needs requires beside it")
    adults_only = model.get("requires_between_adults_only", False)
    if not isinstance(adults_only, bool):
        raise LexiconError(f"{where}: requires_between_adults_only must be true or false")
    if adults_only and not requires:
        raise LexiconError(f"{where}: requires_between_adults_only needs requires beside it")
    return RiskLexicon(
        risk,
        view,
        tuple(cues),
        tuple(compiled),
        {literal: tuple(indexes) for literal, indexes in gates.items()},
        tuple(always),
        exclude,
        also,
        about,
        _any_of(requires),
        otherwise,
        _any_of(otherwise_requires),
        re.compile(f"(?:{'|'.join(says_nothing)})") if says_nothing else None,
        frozenset(str(t) for t in model.get("support_tags", ())),
        None if with_requires is None else str(with_requires),
        split,
        adults_only,
        about_gated,
    )


def _any_of(sources: list[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``sources`` as whole words (None when there are none)."""
    if not sources:
        return None
    return re.compile(f"{_BOUNDARY_BEFORE}(?:{'|'.join(sources)}){_BOUNDARY_AFTER}")


def load_lexicon(language: str = DEFAULT_LANGUAGE) -> Lexicon:
    """Load and compile one language's data (cached: call it freely)."""
    # one cache key per language: @cache on this function kept load_lexicon() and
    # load_lexicon("en") apart, so the server's warm-up compiled a copy no request used
    return _load_lexicon(language)


@cache
def _load_lexicon(language: str) -> Lexicon:
    folder = DATA_DIR / language
    if not (folder / "common.toml").is_file():
        raise LexiconError(
            f"no text safety data for language {language!r}; "
            f"available: {', '.join(available_languages())}"
        )
    common = _read(folder / "common.toml")
    macros = {str(k): str(v) for k, v in common.get("macros", {}).items()}
    context = common.get("context", {})
    where = f"{folder / 'common.toml'}: [context]"
    normalizer = Normalizer(
        {str(k): str(v) for k, v in common.get("emoji", {}).items()},
        frozenset(str(w) for w in common.get("spaced", {}).get("words", ())),
    )
    risks = tuple(_compile_risk(risk, folder / f"{risk.value}.toml", macros) for risk in Risk)
    return Lexicon(
        language=language,
        normalizer=normalizer,
        risks=risks,
        laugh=re.compile(compile_source(str(context["laugh"]), macros, f"{where} laugh")),
        gaming=re.compile(compile_source(str(context["gaming"]), macros, f"{where} gaming")),
        negation=re.compile(compile_source(str(context["negation"]), macros, f"{where} negation")),
        mundane=re.compile(compile_source(str(context["mundane"]), macros, f"{where} mundane")),
        stated_age=_stated_age(common.get("ages", {}), macros, f"{folder / 'common.toml'}: [ages]"),
        plan=GatePlan(risks),
    )


def _stated_age(raw: dict[str, Any], macros: dict[str, str], where: str) -> StatedAge:
    patterns = []
    for number, source in enumerate(raw.get("patterns", ()), start=1):
        compiled = re.compile(compile_source(str(source), macros, f"{where} pattern {number}"))
        if not {"age", "grade", "year", "level"} & set(compiled.groupindex):
            raise LexiconError(
                f"{where} pattern {number}: needs a group named age, grade, year or level"
            )
        patterns.append(compiled)
    try:
        ordinals = {str(k): int(v) for k, v in raw.get("ordinals", {}).items()}
        school = {str(k): int(v) for k, v in raw.get("school", {}).items()}
    except (TypeError, ValueError) as exc:
        raise LexiconError(f"{where}: ordinals and school ages must be numbers ({exc})") from None
    return StatedAge(tuple(patterns), ordinals, school)
