"""Conversation tracking: risk that builds up across messages, participants and time.

Evidence is kept per direction (``sender -> recipient``) and per grooming stage, decays with a
half-life per risk, and grows when grooming moves through its stages. The tracker flags as early
as the evidence allows (``first_flagged`` says at which message each risk first reached a level)
and its state is a plain JSON-ready dict a platform can store between calls.

Time is an input: each message carries its own ``at``; nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kidshield.policy.helplines import HelplineBook
from kidshield.policy.reason import Reason
from kidshield.safety.text.assess import (
    HelplineContext,
    actions_for,
    check_country_code,
    collect_hits,
    combiner,
    make_assessment,
    parse_band,
    resolve_language,
    sorted_actions,
)
from kidshield.safety.text.combine import OUTSIDE_STAGE, Combined, Combiner, merged_spans
from kidshield.safety.text.convmodel import (
    ALONE_STAGES,
    SERIOUS_STAGES,
    STAGE_PRESENT,
    age_gap,
    pair_features,
)
from kidshield.safety.text.model import (
    REPORT_THRESHOLD,
    AgeBand,
    Assessment,
    CueHit,
    RecommendedAction,
    Risk,
    RiskLevel,
    Span,
)
from kidshield.safety.text.signals import combine, score_hits
from kidshield.safety.text.signals.grooming import STAGES, WEAK_TOGETHER, direction_factor
from kidshield.safety.text.state import ConversationState, Evidence, Message, PairStats

HOUR = 3600.0
DAY = 24 * HOUR
# how long evidence keeps half its weight
HALF_LIFE: dict[Risk, float] = {
    Risk.GROOMING: 14 * DAY,
    Risk.PERSONAL_INFO: 1 * DAY,
    Risk.SEXUAL_CONTENT: 2 * DAY,
    Risk.SEXTORTION: 7 * DAY,
    Risk.BULLYING: 3 * DAY,
    Risk.SELF_HARM: 2 * DAY,
}
GAMING_CONTEXT_SECONDS = 30 * 60  # game talk keeps "I'll kill you" playful for half an hour
PROGRESSION_STEP = 0.2  # each further grooming stage raises the score by this fraction
ALONE_SCORE = 0.8  # strong cues this sure are a pattern alone to a known reader (high level)
STRONG_KEY = "grooming!strong"  # evidence from grooming cues not tagged "weak"
MODEL_KEY = "grooming:model"  # messages the model flagged as grooming without a cue
# bullying the model alone rated below its high level, held back until it comes again
TEASING_KEY = "bullying!model"
# risks a message can make imminent by a hard rule (a self-harm plan with its time or means, a
# sextortion threat with a demand); the tracker's own levels come from decayed scores and stop
# at high, so the direction remembers when it last wrote such a message (key "<risk>!imminent",
# time only) and the conversation stays imminent for one half-life of that risk after it
IMMINENT_RISKS = (Risk.SELF_HARM, Risk.SEXTORTION)
IMMINENT_KEY = "{}!imminent"
MAX_EVIDENCE = 40  # evidence references kept per risk (offsets and labels, never text)
# what every stated-age pattern needs: most messages skip the patterns after this one search
_AGE_HINT = re.compile(r"\d|grade|school|freshman|sophomore|junior high")


@dataclass(frozen=True, slots=True)
class ConversationFinding:
    risk: Risk
    score: float
    level: RiskLevel
    stages: tuple[str, ...]
    pair: str  # "sender>recipient" the risk is strongest in
    evidence: tuple[tuple[int, Span], ...]  # (message number, span in that message)

    @property
    def reason(self) -> Reason:
        # as a message's Finding has it: the reports queue files both kinds by their reason
        return self.risk.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "reason": self.reason.value,
            "score": round(self.score, 3),
            "level": self.level.label,
            "stages": list(self.stages),
            "direction": self.pair,
            "evidence": [{"message": i, **span.to_dict()} for i, span in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class ConversationAssessment:
    language: str
    language_source: str
    level: RiskLevel
    findings: tuple[ConversationFinding, ...]
    actions: tuple[RecommendedAction, ...]
    messages: tuple[Assessment, ...]  # one per message in this call, in order
    first_flagged: dict[str, dict[str, int]]  # risk -> level -> message number (0-based)
    state: ConversationState

    def finding(self, risk: Risk) -> ConversationFinding | None:
        return next((f for f in self.findings if f.risk is risk), None)

    def to_dict(self, *, include_redacted: bool = True) -> dict[str, Any]:
        helplines: dict[str, dict[str, Any]] = {}
        for message in self.messages:
            for line in message.helplines:
                helplines.setdefault(line.id or line.name, line.to_dict())
        # helplines shown without a finding, and why, by the message (of this call) that said so
        signposts = [
            {"message": number, **signpost.to_dict()}
            for number, message in enumerate(self.messages)
            for signpost in message.signposts
        ]
        return {
            "language": self.language,
            "language_source": self.language_source,
            "level": self.level.label,
            "actions": [a.value for a in self.actions],
            "findings": [f.to_dict() for f in self.findings],
            "first_flagged": self.first_flagged,
            "helplines": list(helplines.values()),
            "signposts": signposts,
            "messages": [m.to_dict(include_redacted=include_redacted) for m in self.messages],
            "state": self.state.to_dict(),
        }


class ConversationTracker:
    """Feeds messages one at a time into a :class:`ConversationState`."""

    def __init__(
        self,
        state: ConversationState | None = None,
        *,
        participants: Mapping[str, AgeBand | str | int | None] | None = None,
        language: str | None = None,
        country: str | None = None,
        helplines: HelplineBook | None = None,
        engine: Combiner | None = None,
    ) -> None:
        self.state = state if state is not None else ConversationState()
        for pid, band in (participants or {}).items():
            self.set_participant(pid, band)
        self.lexicon, self.language_source = resolve_language(language)
        self.where = HelplineContext(helplines, check_country_code(country),
                                     self.lexicon.language)
        self.engine = engine if engine is not None else combiner()
        self.last_findings: list[ConversationFinding] = []  # as of the last add()

    def set_participant(self, pid: str, band: AgeBand | str | int | None) -> None:
        self.state.participants[pid] = parse_band(band, f"participants.{pid}")
        if isinstance(band, int) and not isinstance(band, bool):
            self.state.ages[pid] = band

    # -- one message --------------------------------------------------------------------------
    def add(self, message: Message) -> Assessment:
        state = self.state
        now = self._time(message)
        state.participants.setdefault(message.sender, AgeBand.UNKNOWN)
        if message.recipient is not None:
            state.participants.setdefault(message.recipient, AgeBand.UNKNOWN)
        sender_band = state.participants[message.sender]
        recipient_band = self._recipient_band(message)
        gaming = state.gaming_until is not None and now <= state.gaming_until
        hits, ctx = collect_hits(message.text, self.lexicon, sender_band, recipient_band, gaming)
        if sender_band is AgeBand.UNKNOWN:
            self._take_stated_age(message.sender, ctx.norm.text)
        if ctx.gaming:
            state.gaming_until = now + GAMING_CONTEXT_SECONDS
        pair = f"{message.sender}>{message.recipient or '*'}"
        combined = self.engine.findings(hits, ctx)
        # a groomer's lines retold (a parent's warning, a school talk) are not the writer's
        # moves: the conversation's grooming stages and its imminent rule never see them
        own = [hit for hit in hits if hit not in combined.told] if combined.told else hits
        combined = _conversation_judges_grooming(combined, own, recipient_band)
        combined = self._hold_lone_teasing(combined, message, pair, now)
        assessment = make_assessment(
            message.text, self.lexicon, self.language_source, hits,
            combined, self.where, sender_band, recipient_band,
        )
        # evidence is kept per sender, and per recipient only when the platform names one, so
        # a 1:1 chat whose second participant appears late still adds up in one place
        self._remember(pair, own, assessment, now)
        state.message_count += 1
        state.last_at = now
        self.last_findings = self.findings()
        for finding in self.last_findings:
            flagged = state.first_flagged.setdefault(finding.risk.value, {})
            for level in RiskLevel:
                if RiskLevel.NONE < level <= finding.level:
                    flagged.setdefault(level.label, state.message_count - 1)
        return assessment

    def _hold_lone_teasing(
        self, combined: Combined, message: Message, pair: str, now: float
    ) -> Combined:
        """Bullying that only the model saw (with or without the outside profanity model),
        below its high level (no insult, threat or slur cue in the message), flags in a
        conversation only when it repeats such a message that still counts (the bullying
        half-life; see ``_repeats``). Once, it was plain talk or teasing between people who
        know each other ("ur evil", "your hair is ridiculous today", "Outside your house")
        in every benign chat of both writers' DEV halves it flagged (13 of 13); bullying is
        what comes again. The first is kept as the sender's evidence, not as a finding.
        It holds ``medium`` too, not only ``low``: the model alone flags bullying only from
        its medium level (``Combiner._model_needs``), so a hold of ``low`` alone holds
        nothing and is the hold turned off (docs/safety-log.md, "Holding only the model's low
        level")."""
        found = next((f for f in combined.findings if f.risk is Risk.BULLYING), None)
        if (
            found is None
            or not set(found.stages) <= {"model", OUTSIDE_STAGE}
            or found.level >= RiskLevel.HIGH
        ):
            return combined
        earlier = self._repeats(message.sender, message.recipient, now)
        held = self.state.pairs.setdefault(pair, {}).setdefault(TEASING_KEY, Evidence())
        held.add(found.score, now, HALF_LIFE[Risk.BULLYING])
        if earlier >= REPORT_THRESHOLD:
            return combined
        kept = [f for f in combined.findings if f is not found]
        return replace(combined, findings=kept)

    def _repeats(self, sender: str, recipient: str | None, now: float) -> float:
        """The strongest held bullying this sender's message repeats: their own, or someone
        else's (a pile-on) unless this message answers it (to its writer, or from its reader
        in a chat of two): a retort is the back and forth of teasing."""
        best = 0.0
        for pair, entries in self.state.pairs.items():
            first, _, reader = self._direction(pair).partition(">")
            if first != sender and (reader == sender or recipient == first):
                continue
            # bullying already flagged in that direction counts as much as a held message:
            # a model-alone line after "kill yourself" is the same bully going on
            for key in (TEASING_KEY, Risk.BULLYING.value):
                held = entries.get(key)
                if held is not None:
                    best = max(best, held.decayed(now, HALF_LIFE[Risk.BULLYING]))
        return best

    def _take_stated_age(self, pid: str, normalised: str) -> None:
        """A participant the platform gave no age says how old they are ("im 13", "14 f"):
        from the next message on, they count as that age (the platform's age always wins)."""
        if pid in self.state.stated or _AGE_HINT.search(normalised) is None:
            return
        age = self.lexicon.stated_age.find(normalised)
        if age is not None:
            self.state.stated[pid] = age
            self.state.participants[pid] = AgeBand.from_age(age)

    def _time(self, message: Message) -> float:
        if message.at is not None:
            now = message.at.timestamp()
        else:
            now = self.state.last_at if self.state.last_at is not None else 0.0
        if self.state.last_at is not None and now < self.state.last_at:
            now = self.state.last_at  # out-of-order messages do not rewind decay
        return now

    def _recipient_band(self, message: Message) -> AgeBand:
        """The reader's age band: the named recipient, the only other participant, or in a
        group the youngest minor present."""
        participants = self.state.participants
        if message.recipient is not None:
            return participants[message.recipient]
        others = [pid for pid in participants if pid != message.sender]
        if len(others) == 1:
            return participants[others[0]]
        minors = sorted(
            (participants[pid] for pid in others if participants[pid].is_minor),
            key=lambda band: band is not AgeBand.CHILD,
        )
        return minors[0] if minors else AgeBand.UNKNOWN

    def _direction(self, pair: str) -> str:
        """``mark>*`` reads ``mark>amy`` when amy is the only other participant."""
        sender, _, recipient = pair.partition(">")
        others = [pid for pid in self.state.participants if pid != sender]
        if recipient == "*" and len(others) == 1:
            return f"{sender}>{others[0]}"
        return pair

    def _remember(self, pair: str, hits: list[CueHit], result: Assessment, now: float) -> None:
        state = self.state
        entries = state.pairs.setdefault(pair, {})
        weights: dict[str, float] = {}
        by_stage: dict[str, list[CueHit]] = {}
        for hit in hits:
            if hit.risk is Risk.GROOMING:
                by_stage.setdefault(hit.stage, []).append(hit)
        for stage, grouped in by_stage.items():
            # within one message each cue counts once, exactly as for a single message
            weights[f"grooming:{stage}"] = score_hits(grouped)
        strong = [h for h in hits if h.risk is Risk.GROOMING and "weak" not in h.tags]
        if strong:
            weights[STRONG_KEY] = score_hits(strong)
        for finding in result.findings:
            if finding.risk is Risk.GROOMING:
                if not by_stage:
                    weights[MODEL_KEY] = finding.score
            else:
                weights[finding.risk.value] = finding.score
        for key, weight in weights.items():
            risk = Risk.GROOMING if key.startswith("grooming") else Risk(key)
            entries.setdefault(key, Evidence()).add(weight, now, HALF_LIFE[risk])
        for finding in result.findings:
            if finding.risk in IMMINENT_RISKS and finding.level is RiskLevel.IMMINENT:
                entries[IMMINENT_KEY.format(finding.risk.value)] = Evidence(1.0, now)  # its time
        flagged = {f.risk for f in result.findings}
        for risk in dict.fromkeys(hit.risk for hit in hits):
            if risk is Risk.GROOMING or risk in flagged:
                # overlapping cues of one message are one piece of evidence, as in its finding
                mine = [hit for hit in hits if hit.risk is risk]
                refs = state.evidence.setdefault(risk.value, [])
                refs += [[state.message_count, s.start, s.end, s.label, pair]
                         for s in merged_spans(mine)]
                del refs[:-MAX_EVIDENCE]
        state.stats.setdefault(pair, PairStats()).add(
            now, {risk.value: p for risk, p in result.model_scores.items()}
        )

    # -- conversation-level view --------------------------------------------------------------
    def findings(self) -> list[ConversationFinding]:
        now = self.state.last_at or 0.0
        best: dict[Risk, tuple[RiskLevel, float, tuple[str, ...], str]] = {}
        for pair, entries in self.state.pairs.items():
            for risk in Risk:
                if risk is Risk.GROOMING:
                    score, stages, level = self._grooming(pair, entries, now)
                    strong = self._stage_scores(entries, now)[1]
                    level = self._grooming_rules(level, stages, pair, strong)
                else:
                    ev = entries.get(risk.value)
                    score = ev.decayed(now, HALF_LIFE[risk]) if ev else 0.0
                    level = self._level(score)
                    stages = ()
                    if _imminent_is_recent(risk, entries, now):
                        level = RiskLevel.IMMINENT
                if level is RiskLevel.NONE:
                    continue
                if (level, score) > best.get(risk, (RiskLevel.NONE, 0.0, (), ""))[:2]:
                    best[risk] = (level, score, stages, pair)
        out: list[ConversationFinding] = []
        for risk, (level, score, stages, pair) in best.items():
            refs = self.state.evidence.get(risk.value, [])
            evidence = tuple(
                (int(ref[0]), Span(int(ref[1]), int(ref[2]), str(ref[3])))
                for ref in refs
                if ref[4] == pair
            )
            out.append(
                ConversationFinding(risk, score, level, stages, self._direction(pair), evidence)
            )
        out.sort(key=lambda f: (f.level, f.score), reverse=True)
        return out

    def _stage_scores(
        self, entries: dict[str, Evidence], now: float
    ) -> tuple[dict[str, float], float]:
        half_life = HALF_LIFE[Risk.GROOMING]
        scores = {
            key.split(":", 1)[1]: ev.decayed(now, half_life)
            for key, ev in entries.items()
            if key.startswith("grooming:")
        }
        strong_ev = entries.get(STRONG_KEY)
        return scores, strong_ev.decayed(now, half_life) if strong_ev else 0.0

    def pair_features(self, pair: str) -> list[float]:
        """The conversation model's features for one direction, as of the last message."""
        scores, strong = self._stage_scores(
            self.state.pairs.get(pair, {}), self.state.last_at or 0.0
        )
        sender = pair.partition(">")[0]
        recipient = self._direction(pair).partition(">")[2]
        return pair_features(
            {k: v for k, v in scores.items() if k in STAGES},
            strong,
            self.state.stats.get(pair),
            self.state.participants.get(sender, AgeBand.UNKNOWN),
            self._recipient_of(pair),
            age_gap(self.state, sender, recipient),
            self.state.last_at or 0.0,
        )

    def _grooming(
        self, pair: str, entries: dict[str, Evidence], now: float
    ) -> tuple[float, tuple[str, ...], RiskLevel]:
        """The direction's grooming score, the stages present, and the level before the rules.

        From the cues: the noisy-OR of the stages times 1 + 0.2 per further stage, counted only
        once the evidence is more than weak cues (a strong cue, three stages, or weak cues
        adding up to 0.55). With a conversation model, its calibrated probability (times the
        direction factor) and level count beside that, and the higher level wins."""
        scores, strong = self._stage_scores(entries, now)
        present = tuple(stage for stage in STAGES if scores.get(stage, 0.0) >= STAGE_PRESENT)
        base = combine(list(scores.values()))
        score, level = 0.0, RiskLevel.NONE
        # one move is not yet a pattern: nobody known to be a minor reads "what are you wearing"
        # between two adults, and a coach's "I'll pick you up at 7:30" to a 12-year-old is a
        # lift; it counts once it moves through a second stage, or, to someone whose age is
        # known, when the one move sexualises or its strong cues reach the high level that
        # flags a single message ("don't tell your parents about us")
        pattern = len(present) >= 2 or (
            self._recipient_of(pair) is not AgeBand.UNKNOWN
            and (not ALONE_STAGES.isdisjoint(present) or strong >= ALONE_SCORE)
        )
        enough = strong >= REPORT_THRESHOLD or base >= WEAK_TOGETHER
        if (enough and pattern) or len(present) >= 3:
            boost = 1.0 + PROGRESSION_STEP * max(0, len(present) - 1)
            score = min(1.0, base * boost)
            if score >= REPORT_THRESHOLD or len(present) >= 3:
                level = max(RiskLevel.from_score(score), RiskLevel.LOW)
        model = self.engine.classifier.conversation if self.engine.classifier else None
        if model is not None:
            sender = self.state.participants.get(pair.partition(">")[0], AgeBand.UNKNOWN)
            direction = direction_factor(sender, self._recipient_of(pair))
            probability = model.probability(self.pair_features(pair)) * direction
            # the same for the model, below its high level (as for one message): trained on
            # conversations that move through the stages, it read one stage (adults sexting
            # in a chat room, a granny's "don't tell mum") as them
            counts = pattern or model.level(probability) >= RiskLevel.HIGH
            if counts and model.level(probability) > level:
                level = model.level(probability)
                score = max(score, probability)
        return score, present, level

    def _recipient_of(self, pair: str) -> AgeBand:
        sender, _, recipient = pair.partition(">")
        participants = self.state.participants
        if recipient != "*":
            return participants.get(recipient, AgeBand.UNKNOWN)
        others = [pid for pid in participants if pid != sender]
        if len(others) == 1:
            return participants[others[0]]
        minors = [participants[pid] for pid in others if participants[pid].is_minor]
        if AgeBand.CHILD in minors:
            return AgeBand.CHILD
        return minors[0] if minors else AgeBand.UNKNOWN

    @staticmethod
    def _level(score: float) -> RiskLevel:
        if score < REPORT_THRESHOLD:
            return RiskLevel.NONE
        return max(RiskLevel.from_score(score), RiskLevel.LOW)

    def _grooming_rules(
        self, level: RiskLevel, stages: tuple[str, ...], pair: str, strong: float
    ) -> RiskLevel:
        sender = self.state.participants.get(pair.split(">", 1)[0], AgeBand.UNKNOWN)
        secret_meeting = {"meeting", "secrecy"} <= set(stages)
        if secret_meeting and sender is AgeBand.ADULT and strong >= REPORT_THRESHOLD:
            return RiskLevel.IMMINENT  # a known adult asking a child to meet in secret
        if level > RiskLevel.NONE:
            if len(stages) >= 3:
                level = max(level, RiskLevel.MEDIUM)  # early warning: the pattern is forming
            if len(SERIOUS_STAGES.intersection(stages)) >= 2 and not sender.is_minor:
                level = max(level, RiskLevel.HIGH)
        return level

    def assessment(self, messages: tuple[Assessment, ...]) -> ConversationAssessment:
        findings = self.findings()
        actions: set[RecommendedAction] = set()
        for finding in findings:
            actions |= actions_for(finding.risk, finding.level)
        for message in messages:
            actions |= {a for a in message.actions if a is not RecommendedAction.NONE}
        level = max((f.level for f in findings), default=RiskLevel.NONE)
        level = max([level, *(m.level for m in messages)])
        return ConversationAssessment(
            language=self.lexicon.language,
            language_source=self.language_source,
            level=level,
            findings=tuple(findings),
            actions=sorted_actions(actions),
            messages=messages,
            first_flagged={k: dict(v) for k, v in self.state.first_flagged.items()},
            state=self.state,
        )


def assess_conversation(
    messages: Iterable[Message | Mapping[str, Any]],
    *,
    participants: Mapping[str, AgeBand | str | int | None] | None = None,
    state: ConversationState | Mapping[str, Any] | None = None,
    language: str | None = None,
    country: str | None = None,
    helplines: HelplineBook | None = None,
    engine: Combiner | None = None,
) -> ConversationAssessment:
    """Assess messages in order, continuing from ``state`` (a previous result's ``state`` or
    its ``to_dict()``). ``participants`` maps sender ids to age bands ("child", "teen",
    "adult", "unknown") or ages. ``country`` and ``helplines``: as for ``assess_message``."""
    if isinstance(state, Mapping):
        state = ConversationState.from_dict(state)
    tracker = ConversationTracker(state, participants=participants, language=language,
                                  country=country, helplines=helplines, engine=engine)
    results: list[Assessment] = []
    for number, raw in enumerate(messages):
        message = raw if isinstance(raw, Message) else Message.from_dict(raw, f"messages[{number}]")
        results.append(tracker.add(message))
    return tracker.assessment(tuple(results))


__all__ = [
    "ConversationAssessment",
    "ConversationFinding",
    "ConversationState",
    "ConversationTracker",
    "Message",
    "assess_conversation",
]


def _imminent_is_recent(risk: Risk, entries: Mapping[str, Evidence], now: float) -> bool:
    """An imminent message keeps the direction imminent for one half-life of its risk, not
    only while the decayed score is high; after that its evidence has lost half its weight and
    the score alone gives the level. Self-harm, 2 days: a plan's times ("tonight", "tomorrow",
    "after school", "this weekend") reach that far, and a reader of the conversation the next
    morning should still see the danger. Sextortion, 7 days: a threat with a demand does not
    end with the deadline it names (extorters come back, the images are still held), and the
    tracker keeps its evidence at half weight or more for that long."""
    last = entries.get(IMMINENT_KEY.format(risk.value)) if risk in IMMINENT_RISKS else None
    return last is not None and now - last.at <= HALF_LIFE[risk]


def _conversation_judges_grooming(
    combined: Combined, hits: list[CueHit], recipient: AgeBand
) -> Combined:
    """In a conversation, one message flags grooming on its own only from the high level, or
    when it sexualises someone whose age is known: below that, its cues go to the
    conversation's evidence, which judges the pattern. On real chat, one move alone flagged
    adults' flirting as often as grooming; with ages, a parent's or coach's one move (a
    pick-up time, a surprise kept from a sibling) flagged a third of the benign family
    chats."""
    if recipient is not AgeBand.UNKNOWN and any(
        hit.risk is Risk.GROOMING and hit.stage in ALONE_STAGES for hit in hits
    ):
        return combined
    kept = [
        f for f in combined.findings if f.risk is not Risk.GROOMING or f.level >= RiskLevel.HIGH
    ]
    if len(kept) == len(combined.findings):
        return combined
    return replace(combined, findings=kept)
