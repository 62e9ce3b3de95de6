"""The reference gate path: which patterns a message's gate literals let through, the slow way.

Production chooses with :class:`kidshield.safety.text.lexicon.GatePlan` (bit masks, one pass
for every risk). This is the plain reading of the same rule, kept here as the oracle the plan
is checked against: the set of gate literals in one view of the message, then per risk the
patterns one of whose first-gate literals is present and whose further gates each have one
present. Its automata are built on first use, in the test process only.
"""

from __future__ import annotations

import re

from kidshield.safety.text.gate import DIGIT, GateIndex, squeeze
from kidshield.safety.text.lexicon import CuePattern, Lexicon, RiskLexicon
from kidshield.safety.text.signals.base import SignalContext

_DIGIT_RE = re.compile(r"\d")
_INDEXES: dict[tuple[int, str], tuple[Lexicon, GateIndex]] = {}


def literals_in(index: GateIndex, squeezed: str, has_digit: bool) -> set[str]:
    """The gate literals of ``index`` that occur in ``squeezed`` (plus DIGIT if ``has_digit``)."""
    found: set[str] = {literal for _end, literal in index.matches(squeezed)}
    if has_digit:
        found.add(DIGIT)
    return found


def _index(lexicon: Lexicon, view: str) -> GateIndex:
    """Every gate literal (first and further gates) of the risks read in ``view``."""
    key = (id(lexicon), view)
    cached = _INDEXES.get(key)
    if cached is None or cached[0] is not lexicon:  # the lexicon kept alive with its index
        literals: set[str] = set()
        for lex in lexicon.risks:
            if lex.view == view:
                literals.update(lex.gates)
                for sets in lex.also.values():
                    for gate in sets:
                        literals.update(gate)
        cached = _INDEXES[key] = (lexicon, GateIndex(literals))
    return cached[1]


def present(ctx: SignalContext, view: str) -> set[str]:
    """The gate literals present in one view ("text" or "light") of the message."""
    text = ctx.norm.text if view == "text" else ctx.norm.light
    return literals_in(_index(ctx.lexicon, view), squeeze(text), _DIGIT_RE.search(text) is not None)


def candidates(lex: RiskLexicon, found: set[str]) -> list[CuePattern]:
    """The patterns of ``lex`` worth running, given the gate literals ``found`` in its view."""
    chosen = set(lex.always)
    for literal in found:
        chosen.update(lex.gates.get(literal, ()))
    return [
        lex.patterns[i]
        for i in sorted(chosen)
        if all(not found.isdisjoint(gate) for gate in lex.also.get(i, ()))
    ]


def chosen(ctx: SignalContext, lex: RiskLexicon) -> list[CuePattern]:
    """``candidates(lex, present(ctx, lex.view))``: what the plan should choose for ``lex``."""
    return candidates(lex, present(ctx, lex.view))
