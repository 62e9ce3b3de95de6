"""The one protocol every risk signal follows, and the shared cue-matching machinery.

A signal reads a normalised message with its lexicon and returns :class:`CueHit` evidence
(already weighted for context) and then turns those hits into a score and a level. Adding a risk
is a data file plus a ~50-line subclass, registered in ``signals/__init__.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from kidshield.safety.text.lexicon import Cue, CuePattern, Lexicon, RiskLexicon
from kidshield.safety.text.model import REPORT_THRESHOLD, AgeBand, CueHit, Risk, RiskLevel
from kidshield.safety.text.normalize import NormalizedText

NEGATED = 0.25  # weight multiplier for a cue with a negation right before it
_NEGATION_WINDOW = 40


@dataclass(slots=True)
class SignalContext:
    """What a signal may know besides the words: who speaks to whom, and the conversation."""

    norm: NormalizedText
    lexicon: Lexicon
    sender: AgeBand = AgeBand.UNKNOWN
    recipient: AgeBand = AgeBand.UNKNOWN
    gaming_conversation: bool = False  # recent messages were about a game
    _laughing: bool | None = field(default=None, repr=False)
    _gaming: bool | None = field(default=None, repr=False)
    # exclusion spans per risk: the cue matcher and the combiner (twice) read the same ones
    _excluded: dict[Risk, list[tuple[int, int]]] = field(default_factory=dict, repr=False)
    _chosen: dict[Risk, list[CuePattern]] | None = field(default=None, repr=False)

    def candidates(self, lex: RiskLexicon) -> list[CuePattern]:
        """The patterns of ``lex`` worth running on this message (every risk's chosen at once by
        the lexicon's :class:`GatePlan`; ``tests/safety/text/gate_oracle.py`` is the slow
        reference it is checked against)."""
        chosen = self._chosen
        if chosen is None:
            chosen = self._chosen = self.lexicon.plan.select(self.norm.text, self.norm.light)
        return chosen[lex.risk]

    def excluded(self, lex: RiskLexicon) -> list[tuple[int, int]]:
        """Spans of ``lex``'s exclusion pattern in its view of the message (cached)."""
        cached = self._excluded.get(lex.risk)
        if cached is None:
            if lex.exclude is None:
                cached = []
            else:
                view = self.norm.text if lex.view == "text" else self.norm.light
                if lex.exclude_split is not None:
                    cached = lex.exclude_split.spans(view)
                else:
                    cached = [m.span() for m in lex.exclude.finditer(view)]
            self._excluded[lex.risk] = cached
        return cached

    @property
    def peers(self) -> bool:
        return self.sender.is_minor and self.recipient.is_minor

    @property
    def adult_to_minor(self) -> bool:
        return self.sender is AgeBand.ADULT and self.recipient.is_minor

    @property
    def laughing(self) -> bool:
        if self._laughing is None:
            self._laughing = self.lexicon.laugh.search(self.norm.text) is not None
        return self._laughing

    @property
    def gaming(self) -> bool:
        if self._gaming is None:
            self._gaming = (
                self.gaming_conversation or self.lexicon.gaming.search(self.norm.text) is not None
            )
        return self._gaming


class Signal(Protocol):
    risk: ClassVar[Risk]

    def detect(self, ctx: SignalContext) -> list[CueHit]:
        """Evidence in this message, weighted for context (offsets into the original text)."""
        ...

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        """The level for a combined score (a signal may raise it, e.g. a plan with a means)."""
        ...

    def model_factor(self, ctx: SignalContext, hits: list[CueHit]) -> float:
        """How much of the model's probability counts in this context (1.0 = all of it)."""
        ...

    def flags_alone(self, hits: list[CueHit], score: float) -> bool:
        """Whether these cues flag without the model's support (see combine.py)."""
        ...


def combine(weights: list[float]) -> float:
    """Noisy-OR: independent pieces of evidence add up but never pass 1."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - min(max(weight, 0.0), 0.99)
    return 1.0 - remaining


def score_hits(hits: list[CueHit]) -> float:
    """Each cue counts once (its strongest hit); different cues add up."""
    best: dict[str, float] = {}
    for hit in hits:
        if hit.weight > best.get(hit.cue, 0.0):
            best[hit.cue] = hit.weight
    return combine(list(best.values()))


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)


class CueSignal:
    """Matches a risk's lexicon and weighs each hit; subclasses adjust for context."""

    risk: ClassVar[Risk]

    def detect(self, ctx: SignalContext) -> list[CueHit]:
        lex = ctx.lexicon.for_risk(self.risk)
        view = ctx.norm.text if lex.view == "text" else ctx.norm.light
        found = [
            (entry, match)
            for entry in ctx.candidates(lex)
            for match in entry.regex.finditer(view)
        ]
        if not found:
            return []
        excluded = ctx.excluded(lex)
        hits: list[CueHit] = []
        seen: set[tuple[str, int, int]] = set()
        for entry, match in found:
            cue = entry.cue
            start, end = match.span()
            if excluded and _overlaps(start, end, excluded):
                continue
            has_value = entry.has_value and match.start("v") >= 0
            if has_value:
                start, end = match.span("v")
            if (cue.id, start, end) in seen:
                continue
            seen.add((cue.id, start, end))
            weight = cue.weight * self._age_factor(cue, ctx) * self.adjust(cue, match, view, ctx)
            if cue.negatable and self._negated(view, match.start(), ctx):
                weight *= NEGATED
            if weight <= 0.0:
                continue
            orig_start, orig_end = ctx.norm.to_original(start, end, view=lex.view)
            hits.append(
                CueHit(
                    self.risk,
                    cue.id,
                    cue.stage,
                    weight,
                    orig_start,
                    orig_end,
                    cue.tags,
                    cue.redact if has_value else None,
                )
            )
        return hits

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        """A context multiplier for one hit (1.0 = as written in the lexicon)."""
        return 1.0

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        return RiskLevel.from_score(score)

    def model_factor(self, ctx: SignalContext, hits: list[CueHit]) -> float:
        return 1.0

    def flags_alone(self, hits: list[CueHit], score: float) -> bool:
        return score >= REPORT_THRESHOLD

    @staticmethod
    def _age_factor(cue: Cue, ctx: SignalContext) -> float:
        if ctx.peers:
            return cue.peer
        if ctx.adult_to_minor:
            return cue.adult
        return 1.0

    @staticmethod
    def _negated(view: str, start: int, ctx: SignalContext) -> bool:
        window = view[max(0, start - _NEGATION_WINDOW) : start]
        return ctx.lexicon.negation.search(window) is not None
