"""A child disclosing personal information: address, school, phone, email, name, handles,
age with location, live location, payment cards, bank accounts and national ids.

Words-based disclosures come from the lexicon's patterns; numbers come from
:mod:`kidshield.safety.text.pii`, which checks them (Luhn, mod-97, national id checks,
libphonenumber) before calling them what they are. Hits carry the placeholder used in the
redacted copy.
"""

from __future__ import annotations

import re
from typing import ClassVar

from kidshield.safety.text.lexicon import Cue
from kidshield.safety.text.model import REPORT_THRESHOLD, AgeBand, CueHit, Risk, RiskLevel
from kidshield.safety.text.pii import NumberFind, find_numbers, load_number_words
from kidshield.safety.text.pii.whereabouts import head_in
from kidshield.safety.text.signals.base import CueSignal, SignalContext, score_hits

# a card, bank account or id number in a child's message is never just "low"
SENSITIVE_TAG = "sensitive"
# the learned whereabouts head's hit (pii/whereabouts.py): it speaks only where the rules are
# silent, and its weight flags "low" alone but can never lift a message to "medium"
LEARNED_CUE = "learned_whereabouts"
LEARNED_STAGE = "location"
LEARNED_TAG = "learned"
LEARNED_WEIGHT = 0.35


class PersonalInfoSignal(CueSignal):
    risk: ClassVar[Risk] = Risk.PERSONAL_INFO

    def detect(self, ctx: SignalContext) -> list[CueHit]:
        hits = super().detect(ctx)
        finds = find_numbers(ctx.norm.light, load_number_words(ctx.lexicon.language))
        if finds:
            self._numbers(ctx, finds, hits)
        if score_hits(hits) < REPORT_THRESHOLD:
            learned = _learned(ctx)
            if learned is not None:
                hits.append(learned)
        return hits

    def _numbers(self, ctx: SignalContext, finds: list[NumberFind], hits: list[CueHit]) -> None:
        cues = {cue.id: cue for cue in ctx.lexicon.for_risk(self.risk).cues}
        for find in finds:
            cue = cues.get(find.kind)
            if cue is None:
                continue
            weight = cue.weight * find.strength * self._age_factor(cue, ctx) * _sender(ctx)
            start, end = ctx.norm.to_original(find.start, find.end, view="light")
            hits.append(
                CueHit(self.risk, find.label, cue.stage, weight, start, end, cue.tags, cue.redact)
            )

    def adjust(self, cue: Cue, match: re.Match[str], view: str, ctx: SignalContext) -> float:
        if cue.min_digits:
            value = match.group(0)
            if sum(c.isdigit() for c in value) < cue.min_digits:
                return 0.0
        if cue.stage == "address" and _is_business(match):
            return 0.0
        if cue.id == "password" and _is_meeting_code(match):
            return 0.0
        return _sender(ctx)

    def level(self, score: float, hits: list[CueHit]) -> RiskLevel:
        level = RiskLevel.from_score(score)
        if any(hit.cue == LEARNED_CUE for hit in hits):
            # the rules alone were under the report threshold: the head may make it "low",
            # never more (not even beside a weak card-shaped number)
            return min(level, RiskLevel.LOW)
        if any(SENSITIVE_TAG in hit.tags for hit in hits):
            return max(level, RiskLevel.MEDIUM)
        return level


def _learned(ctx: SignalContext) -> CueHit | None:
    """The learned head's hit on the named place, when the head reads the message as telling
    where to find its writer (an adult's own whereabouts count half, as the rules' do)."""
    head = head_in()
    if head is None:
        return None
    span = head.place(ctx.norm.original, ctx.norm.text)
    if span is None:
        return None
    weight = LEARNED_WEIGHT * min(_sender(ctx), 1.0)
    return CueHit(
        Risk.PERSONAL_INFO,
        LEARNED_CUE,
        LEARNED_STAGE,
        weight,
        span[0],
        span[1],
        frozenset({LEARNED_TAG}),
        "location",
    )


# A home has no opening hours and no head office: an address told with them is a shop's, a
# clinic's or a museum's, published for anyone to visit ("the clinic at 250 Euston Road is open
# Monday to Friday", "Store: ..., open 7am-11pm", "where our head office still is"). Read in the
# light view within _BUSINESS_REACH characters either side of the address.
_BUSINESS_RE = re.compile(
    r"(?<![a-z])(?:open (?:from |daily|every day|7 days|24|mon|tue|wed|thu|fri|sat|sun|\d)"
    r"|opening (?:hours|times)|closed on (?:mon|tue|wed|thu|fri|sat|sun|bank|public)"
    r"|head office|our (?:offices?|store|shop|showroom|clinic|branch)|visiting hours)"
)
_BUSINESS_REACH = 80


def _is_business(match: re.Match[str]) -> bool:
    text = match.string
    start = max(0, match.start() - _BUSINESS_REACH)
    return _BUSINESS_RE.search(text, start, match.end() + _BUSINESS_REACH) is not None


# A meeting's passcode in figures is shared with everyone invited, not a key to anyone's
# account ("zoom meeting id 812 3456 7890 passcode 4411").
_MEETING_RE = re.compile(r"(?<![a-z])(?:meeting|webinar|zoom|teams|meet|call id|room)(?![a-z])")


def _is_meeting_code(match: re.Match[str]) -> bool:
    value = match.group("v") if "v" in match.groupdict() else match.group(0)
    return value.isdigit() and _MEETING_RE.search(match.string) is not None


def _sender(ctx: SignalContext) -> float:
    if ctx.sender is AgeBand.ADULT:
        return 0.5  # an adult's own details: not a child's disclosure
    if ctx.sender.is_minor and ctx.recipient is AgeBand.ADULT:
        return 1.4  # a child telling an adult
    return 1.0


_ADDRESS_KINDS = frozenset({"address", "postcode"})
_JOINING_RE = re.compile(r"[\s,.;:/\-]*")


def redact(text: str, hits: list[CueHit]) -> str:
    """Replace each redactable span with ``[kind]``; overlapping spans merge, and so do pieces
    of one address with only punctuation between them ("Plot 7, Gandhi Nagar, Jaipur 302015"
    becomes one ``[address]``, not three placeholders around the town's name)."""
    spans = sorted((h.start, h.end, h.redact) for h in hits if h.redact is not None)
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        elif (
            merged
            and kind in _ADDRESS_KINDS
            and merged[-1][2] in _ADDRESS_KINDS
            and _JOINING_RE.fullmatch(text, merged[-1][1], start)
        ):
            merged[-1] = (merged[-1][0], end, "address")
        else:
            merged.append((start, end, kind))
    out: list[str] = []
    last_end = 0
    for start, end, kind in merged:
        out.append(text[last_end:start])
        out.append(f"[{kind}]")
        last_end = end
    out.append(text[last_end:])
    return "".join(out)
