"""Combining the learned classifier with the cue signals into findings.

The model gives each risk a calibrated probability and, through the thresholds shipped with
it, a level. The cues add what a model over n-grams cannot:

* spans for the explanation (when the model flags a message no cue matched, the n-grams that
  raised the score most are given as ``model`` spans instead);
* hard rules for imminent danger (a self-harm plan with timing or means, a sextortion threat
  with a demand), which raise the level whatever the model says;
* context: the cue engine's idiom exclusions are blanked out of the text before the model reads
  it again, game talk and banter soften bullying, sender and recipient ages weigh grooming,
  talk *about* self-harm (support, someone else, the past, news, negation) is not read as
  the writer being at risk, and a sextortion threat the writer tells of is not read as the
  writer's threat in progress (received: at most high; retold as a warning or news: at most
  low, still flagged for review in case it is a real threat misread); a groomer's words
  retold are capped so too, and kept out of the writer's conversation evidence.

A risk seen only by weak cues (see each signal's ``flags_alone``: grooming cues tagged
``weak``; cues under the report threshold) needs model support, so "asl" or "where are you
from" alone does not flag grooming. Risks without a trained model head use
the same rule on the cues alone; personal information is rule-based and keeps its cues as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kidshield.safety.text.classifier import Head, TextClassifier
from kidshield.safety.text.lexicon import RiskLexicon
from kidshield.safety.text.model import (
    REPORT_THRESHOLD,
    AgeBand,
    CueHit,
    Finding,
    Risk,
    RiskLevel,
    Signpost,
    Span,
)
from kidshield.safety.text.signals import SIGNALS, SignalContext, score_hits
from kidshield.safety.text.signals.base import Signal
from kidshield.safety.text.signals.bullying import REAL_LIFE as _REAL_LIFE

# a finding's stage when the outside profanity model gating its head passed the text (its
# probability at or above the head's tau; profanity.py; docs/safety.md, "Outside knowledge")
OUTSIDE_STAGE = "profanity_model"
ABOUT_SUPPRESS = 0.1  # model probability kept when a message talks *about* self-harm
SIGNPOST_ALWAYS = frozenset({"other"})  # someone else's self-harm: show helplines
SIGNPOST_IF_RISKY = frozenset({"past", "report"})  # ... when the message read as risky
# the about-kind of phrases that say the writer's risk is here now beside talk of the past
PRESENT = "present"


# words every "someone else's self-harm" pattern needs: a cheap test before those patterns run
_OTHERS_WORDS = re.compile(r"sel(?:f|ves)|life|suicid")


@dataclass(frozen=True, slots=True)
class Combined:
    findings: list[Finding]
    signpost: tuple[Signpost, ...]  # show these risks' helplines even without a finding, and why
    probabilities: dict[Risk, float]  # the model's, after context (empty without a model)
    # cues that are another's words retold (a groomer's lines in a warning): the conversation
    # tracker keeps them out of the writer's evidence
    told: tuple[CueHit, ...] = ()


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = " "
    return "".join(chars)


def _distressed(hits: list[CueHit], probability: float | None, head: Head | None) -> bool:
    """Distress cues that add up (hopelessness, "i cant do this anymore"), or the model at its
    medium level: worth showing the helplines even when it is no self-harm finding."""
    if hits and score_hits(hits) >= REPORT_THRESHOLD:
        return True
    return head is not None and probability is not None and probability >= head.medium


_OUTER_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_SENTENCE_END = re.compile(r"[.!?\n]+\s*")
_QUOTED = re.compile(r'"[^"\n]{1,400}"|\u201c[^\u201d\n]{1,400}\u201d')
# ... and in single quotation marks too, for a threat told again ("they say like 'send $500 or
# i'll send it'"): an opening mark not inside a word, a closing one not before a letter, so the
# apostrophes of "i'll" and "don't" neither open nor close a quotation
_QUOTED_ANY = re.compile(
    _QUOTED.pattern
    + r"|\u2018[^\u2019\n]{1,400}\u2019|(?<![\w'])'(?=\w)[^\n]{1,400}?(?<=\S)'(?!\w)"
)


def _sentence(text: str, offset: int) -> int:
    """Which sentence of ``text`` the character at ``offset`` is in (0 = the first)."""
    return sum(1 for m in _SENTENCE_END.finditer(text, 0, offset) if m.end() <= offset)


def _without_sentences(text: str, numbers: set[int]) -> str:
    """``text`` with the sentences numbered ``numbers`` blanked (offsets kept)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for number, end in enumerate([m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]):
        if number in numbers:
            spans.append((start, end))
        start = end
    return _blank(text, spans)


def _sentences_of(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """The sentences the spans touch."""
    touched: set[int] = set()
    for start, end in spans:
        first, last = _sentence(text, start), _sentence(text, max(start, end - 1))
        touched.update(range(first, last + 1))
    return touched


def merged_spans(hits: list[CueHit]) -> tuple[Span, ...]:
    """One span per stretch of evidence: cues that overlap ("kill myself" inside "i want to
    kill myself tonight") would show the same words twice to a reader. A merged span keeps
    the label of its strongest cue (of equals, the one starting first)."""
    spans: list[Span] = []
    best = 0.0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if spans and hit.start < spans[-1].end:
            last = spans[-1]
            label = hit.cue if hit.weight > best else last.label
            best = max(best, hit.weight)
            spans[-1] = Span(last.start, max(last.end, hit.end), label)
        else:
            spans.append(Span(hit.start, hit.end, hit.cue))
            best = hit.weight
    return tuple(spans)


def _baits_the_reader(hits: list[CueHit]) -> bool:
    """A bullying cue tells the reader to die or that they should: the words of death in the
    message are aimed at them, so the model's self-harm score says nothing of the writer."""
    return any(h.risk is Risk.BULLYING and h.stage == "suicide_baiting" for h in hits)


def _adult_to_minor(ctx: SignalContext) -> bool:
    return ctx.sender is AgeBand.ADULT and ctx.recipient.is_minor


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)


# the kinds of bullying's "about" table that say the writer is the target or tells of someone
# else who is (a parent, a friend), and those that, in the same sentence, say it is not so,
# or not now (data/en/bullying.toml); the first kind found names the signpost
TARGET_KINDS = ("target", "threat", "other")
NOT_TARGET_KINDS = frozenset({"banter", "negated", "long_ago"})


def _target_of_bullying(ctx: SignalContext) -> Signpost | None:
    """The writer tells they are bullied ("they called me tubby every day", "i'm being bullied
    at school", "he said he'd beat me up") or that someone they speak for is ("my son is being
    bullied", kind ``other``): no finding against the writer, but the reply shows bullying
    helplines, for the writer's age. Not in a sentence that laughs or denies it ("my friends call
    me fatso lol", "im not being bullied") or sets it in a time long over ("i was bullied in
    my school years"), not inside quotation marks (someone else's words), and a threat not in
    game talk ("he said he'd kill me in fortnite")."""
    lex = ctx.lexicon.for_risk(Risk.BULLYING)
    if not lex.about:
        return None
    found = lex.about_spans(ctx.norm.text)
    if not any(kind in TARGET_KINDS for kind, _s, _e in found):
        return None
    text = ctx.norm.original
    spans = {kind: [ctx.norm.to_original(s, e, view="text") for k, s, e in found if k == kind]
             for kind in {kind for kind, _s, _e in found}}
    cancelled = _sentences_of(text, [span for kind in NOT_TARGET_KINDS
                                     for span in spans.get(kind, [])])
    quoted = [m.span() for m in _QUOTED.finditer(text)]
    for why in TARGET_KINDS:
        if why == "threat" and ctx.gaming and _REAL_LIFE.search(ctx.norm.text) is None:
            continue
        told = [
            (start, end)
            for start, end in spans.get(why, [])
            if not _sentences_of(text, [(start, end)]) & cancelled
            and not any(q_start <= start and end <= q_end for q_start, q_end in quoted)
        ]
        if told:
            return Signpost(Risk.BULLYING, why, tuple(Span(s, e, why) for s, e in told))
    return None


# the kinds of sextortion's and grooming's "about" tables (data/en/sextortion.toml,
# grooming.toml): the writer tells of a threat or a groomer's move made to them, or retells
# someone else's (a warning, a lesson, the news)
TOLD_TO_WRITER = "target"
RETOLD = "retold"
# the most a told finding can be (the lead's call, issue 12): received, high (the child is
# being sextorted, but the imminent rule, an extortion in progress, is the threatener's; a
# grooming message is never above high); retold, low (flagged for review, not alarmed: missing
# a real threat or a groomer's move read as retold is worse than a mild false flag on a warning)
TOLD_CAP = {TOLD_TO_WRITER: RiskLevel.HIGH, RETOLD: RiskLevel.LOW}
# ... and a retold finding's score at most this: the conversation tracker adds up findings'
# scores (noisy-OR, 7-day half-life) and reads its levels from them (``RiskLevel.from_score``:
# low from 0.3, medium from 0.55, high from 0.8), so a retold message is low evidence there
# too: alone it keeps the conversation low for about 3 days (0.4 decays under 0.3 in 0.42
# half-lives), two or three within days make it medium, it takes four to reach high. (At 0.3
# itself it would drop out of the conversation at the next message, a review flag lost.)
RETOLD_SCORE = 0.4


@dataclass(frozen=True, slots=True)
class _Telling:
    """How a risk's told words are read (``_told``). ``keeps``: the tag of a cue that, outside
    the told words, keeps the message the writer's own (None: any cue of the risk outside them
    does). ``quotes_alone``: quotation marks tell without a telling phrase in the message.
    ``teller_first``: words said to the writer (kind ``target``) are told only after their
    teller, in its sentence ("he said dont tell ur parents", not "its a secret from ur mom tho,
    she said no more robux")."""

    keeps: str | None
    quotes_alone: bool
    teller_first: bool = False


_TELLING = {
    # a threat quoted is told: extorters do not quote their own demands
    Risk.SEXTORTION: _Telling(keeps="threat", quotes_alone=True),
    # a groomer quotes his own words for weight ("this is 'our little secret'"), and any move
    # of his own beside a retelling is still his
    Risk.GROOMING: _Telling(keeps=None, quotes_alone=False, teller_first=True),
}


def _told(risk: Risk, hits: list[CueHit], ctx: SignalContext) -> Signpost | None:
    """The risk's words the writer tells of rather than says: the cues inside quotation marks
    or in a sentence that tells of another's words are another's. When they are told, why:
    ``target`` (said to the writer: the spans that say so) or ``retold`` (someone else's, as a
    warning, a talk or the news). Words of the writer's own outside them (``_TELLING``) keep
    the message as it is (None)."""
    telling_rule = _TELLING[risk]
    lex = ctx.lexicon.for_risk(risk)
    text = ctx.norm.original
    found = lex.about_spans(ctx.norm.text) if lex.about else []
    if not found and not telling_rule.quotes_alone:
        return None
    quoted = [m.span() for m in _QUOTED_ANY.finditer(text)]
    if not found and not quoted:
        return None
    spans = [(kind, *ctx.norm.to_original(s, e, view="text")) for kind, s, e in found]
    if telling_rule.teller_first:
        spans = [(kind, s, e) for kind, s, e in spans if kind != TOLD_TO_WRITER or any(
            e <= hit.start and _sentence(text, hit.start) == _sentence(text, s) for hit in hits)]
        if not spans:
            return None
    telling = _sentences_of(text, [(s, e) for _k, s, e in spans])

    def told(hit: CueHit) -> bool:
        return _sentence(text, hit.start) in telling or any(
            q_start <= hit.start and hit.end <= q_end for q_start, q_end in quoted)

    own = [hit for hit in hits if not told(hit)]
    keeps = telling_rule.keeps
    if any(keeps is None or keeps in hit.tags for hit in own) or (
            own and len(own) == len(hits)) or (not hits and not found):
        return None  # the writer's own words, or nothing told
    received = [Span(s, e, TOLD_TO_WRITER) for kind, s, e in spans
                if kind == TOLD_TO_WRITER and not _overlaps(s, e, quoted)]
    if received:
        return Signpost(risk, TOLD_TO_WRITER, tuple(received))
    return Signpost(risk, RETOLD)


# self-harm's "about" kind for a friend's words told by the writer ("my friend told me", "she
# texted me", data/en/self_harm.toml), and the kind of a teller after them ("she said"), which
# is a report only right after the words it tells (``_tellers_after``)
REPORT = "report"
REPORT_AFTER = "report_after"
# what may stand between the telling words and the told plan ("she told me that i will ...",
# "my friend texted me: 'im going to ...'"), or between a plan and its teller after it ("'im
# going to end it tonight' she said")
_TOLD_BEFORE = re.compile(r"[\s,:\"'\u201c\u2018]*(?:(?:that|like)[\s,:\"'\u201c\u2018]*)?")
_TOLD_AFTER = re.compile(r"[\s,\"'\u201d\u2019]*")


def _own_plan(
    hit: CueHit, text: str, reports: list[tuple[int, int]], quoted: list[tuple[int, int]]
) -> bool:
    """A plan cue in the sentence of a friend's words told ("she told me i will kill myself
    tonight") is the friend's when it is those words: it follows the telling words, or its
    teller follows it, with nothing but "that", "like" and punctuation between, or it lies in
    a quotation after the telling words. Otherwise (True) it is the writer's own plan ("she
    told me to stop but i will kill myself tonight")."""
    if "plan" not in hit.tags:
        return False
    sentence = _sentence(text, hit.start)
    mine = [(s, e) for s, e in reports if _sentence(text, s) == sentence]
    if not mine:
        return False
    for start, end in mine:
        if start >= hit.end and _TOLD_AFTER.fullmatch(text, hit.end, start):
            return False
        if end <= hit.start and (
            _TOLD_BEFORE.fullmatch(text, end, hit.start)
            or any(end <= q_start <= hit.start and hit.end <= q_end for q_start, q_end in quoted)
        ):
            return False
    return True


def _tellers_after(
    found: list[tuple[str, int, int]],
    hits: list[CueHit],
    quoted: list[tuple[int, int]],
    ctx: SignalContext,
) -> list[tuple[str, int, int]]:
    """``found`` with each teller after the told words (kind ``report_after``: "'im going to
    end it tonight' she said") read as a ``report`` when it follows a quotation or a self-harm
    cue with nothing but punctuation between, and dropped otherwise: "she said" alone says
    nothing of whose words came before ("i want to die after what she said")."""
    if not any(kind == REPORT_AFTER for kind, _s, _e in found):
        return found
    text = ctx.norm.original
    ends = [end for _start, end in quoted] + [hit.end for hit in hits]
    kept: list[tuple[str, int, int]] = []
    for kind, start, end in found:
        if kind != REPORT_AFTER:
            kept.append((kind, start, end))
            continue
        at = ctx.norm.to_original(start, end, view="text")[0]
        if any(told <= at and _TOLD_AFTER.fullmatch(text, told, at) for told in ends):
            kept.append((REPORT, start, end))
    return kept


def _capped(finding: Finding, why: str) -> Finding:
    """A told threat's finding at most at its cap (``TOLD_CAP``), its hits and spans kept."""
    cap = TOLD_CAP[why]
    score = min(finding.score, RETOLD_SCORE) if why == RETOLD else finding.score
    if finding.level <= cap and score == finding.score:
        return finding
    return replace(finding, level=min(finding.level, cap), score=score)


class Combiner:
    def __init__(self, classifier: TextClassifier | None) -> None:
        self.classifier = classifier
        # each signal beside its head, looked up once and not per message
        self._signals = tuple(
            (signal, classifier.heads.get(signal.risk) if classifier else None)
            for signal in SIGNALS
        )

    def findings(self, hits: list[CueHit], ctx: SignalContext) -> Combined:
        probabilities = (
            self.classifier.probabilities(ctx.norm.text) if self.classifier is not None else {}
        )
        findings: list[Finding] = []
        signpost: dict[Risk, Signpost] = {}  # the first reason found for each risk
        adjusted: dict[Risk, float] = {}
        told_hits: list[CueHit] = []
        by_risk: dict[Risk, list[CueHit]] = {}  # most messages have no hit: no pass per risk
        for hit in hits:
            by_risk.setdefault(hit.risk, []).append(hit)
        for signal, head in self._signals:
            mine = by_risk.get(signal.risk, [])
            probability = probabilities.get(signal.risk)
            if signal.risk is Risk.SELF_HARM and not mine and _baits_the_reader(hits):
                continue  # "you deserve to die": death wished on the reader is bullying
            if not mine and (
                head is None or probability is None or probability < head.low
            ):
                if probability is not None:  # too weak to flag: context could only lower it
                    adjusted[signal.risk] = probability
                if signal.risk is Risk.SELF_HARM and _OTHERS_WORDS.search(ctx.norm.text):
                    _hits, _p, helpline = self._about_self_harm([], None, None, ctx)
                    if helpline:
                        signpost.setdefault(Risk.SELF_HARM, Signpost(Risk.SELF_HARM, helpline))
                continue
            if head is not None and probability is not None:
                probability = self._in_context(signal, head, probability, mine, ctx)
            if signal.risk is Risk.SELF_HARM:
                mine, probability, helpline = self._about_self_harm(mine, probability, head, ctx)
                if helpline:
                    signpost.setdefault(Risk.SELF_HARM, Signpost(Risk.SELF_HARM, helpline))
            told: Signpost | None = None  # another's words the writer tells of
            if signal.risk in _TELLING:
                told, shown = self._about_told(signal.risk, mine, probability, head, ctx)
                if shown and told is not None:
                    signpost[signal.risk] = told
                if signal.risk is Risk.GROOMING and told is not None and (
                        told.why == RETOLD):
                    # a retold move is no move: the tracker's grooming stages are the writer's
                    # (a retold threat stays low evidence there, through its capped score)
                    told_hits += mine
            if probability is not None:
                adjusted[signal.risk] = probability
            finding = self._finding(signal, head, probability, mine, ctx)
            if finding is not None and told is not None:
                finding = _capped(finding, told.why)
            if finding is not None:
                findings.append(finding)
            elif signal.risk is Risk.SELF_HARM and _distressed(mine, probability, head):
                # despair without ideation: helplines, no alarm
                signpost.setdefault(Risk.SELF_HARM, Signpost(Risk.SELF_HARM, "distress"))
        findings.sort(key=lambda f: (f.level, f.score), reverse=True)
        if any(f.risk is Risk.SELF_HARM for f in findings):
            signpost.pop(Risk.SELF_HARM, None)
        bullied = _target_of_bullying(ctx)
        if bullied is not None:
            # help for the writer whatever else is found: a bullying finding says nothing of the
            # help the writer needs (it shows only with a severe finding, for the reader)
            signpost[Risk.BULLYING] = bullied
            if self._only_told(findings, by_risk.get(Risk.BULLYING, []), bullied, ctx):
                findings = [f for f in findings if f.risk is not Risk.BULLYING]
        return Combined(
            findings, tuple(signpost[risk] for risk in Risk if risk in signpost), adjusted,
            tuple(told_hits),
        )

    # -- context ------------------------------------------------------------------------------
    def _in_context(
        self,
        signal: Signal,
        head: Head,
        probability: float,
        hits: list[CueHit],
        ctx: SignalContext,
    ) -> float:
        lex = ctx.lexicon.for_risk(signal.risk)
        if lex.exclude is not None and lex.view == "text":
            spans = ctx.excluded(lex)
            if spans and self.classifier is not None:
                probability = self.classifier.probability(
                    _blank(ctx.norm.text, spans), signal.risk
                )
        return probability * signal.model_factor(ctx, hits)

    def _about_self_harm(
        self,
        hits: list[CueHit],
        probability: float | None,
        head: Head | None,
        ctx: SignalContext,
    ) -> tuple[list[CueHit], float | None, str | None]:
        """Talk about self-harm that is not the writer at risk now: keep the hits of the
        writer's own ideation, plans and acts outside it; say whether helplines are still
        wanted, as the kind of talk that wants them (None: not wanted)."""
        lex = ctx.lexicon.for_risk(Risk.SELF_HARM)
        found = lex.about_spans(ctx.norm.text)
        text = ctx.norm.original
        quoted = [m.span() for m in _QUOTED_ANY.finditer(text)] if found else []
        found = _tellers_after(found, hits, quoted, ctx)  # someone else's words
        about = [span for span in found if span[0] != PRESENT]
        if not about:
            return hits, probability, None
        original = [ctx.norm.to_original(s, e, view="text") for _k, s, e in about]
        talk = _sentences_of(text, original)
        now = [ctx.norm.to_original(s, e, view="text") for k, s, e in found if k == PRESENT]
        now = [span for span in now if not _overlaps(*span, quoted)]
        reports = [
            span for (kind, _s, _e), span in zip(about, original, strict=True) if kind == REPORT
        ]
        if now and {kind for kind, _s, _e in about} == {"past"} and probability is not None:
            present = self._present_probability(text, talk - _sentences_of(text, now), ctx)
            if head is not None and present >= head.low:
                # "i tried when i was 15 and im going to try again": the past is told
                # beside a risk said to be here now; the model reads the rest of the message
                # (helplines whether or not it flags: the past was risky enough to show them)
                return hits, present, "past"
        outside = [
            hit
            for hit in hits
            if (_sentence(text, hit.start) not in talk or _own_plan(hit, text, reports, quoted))
            and not _overlaps(hit.start, hit.end, quoted)
        ]
        kinds = {kind for kind, _s, _e in about}
        if any("plan" in hit.tags for hit in outside):
            return hits, probability, None  # a plan of the writer's own beside the talk
        if any(lex.supports(hit.tags) for hit in outside):
            # the writer's own ideation elsewhere in the message ("i'm not going to do
            # anything. i just wish i would not wake up"): a long post mixes both
            return outside, probability, None
        was_risky = bool(hits) and score_hits(hits) >= REPORT_THRESHOLD
        if head is not None and probability is not None and probability >= head.low:
            was_risky = True
        wanted = kinds & SIGNPOST_ALWAYS or (kinds & SIGNPOST_IF_RISKY if was_risky else set())
        reduced = None if probability is None else probability * ABOUT_SUPPRESS
        return [], reduced, min(wanted) if wanted else None

    def _about_told(
        self,
        risk: Risk,
        hits: list[CueHit],
        probability: float | None,
        head: Head | None,
        ctx: SignalContext,
    ) -> tuple[Signpost | None, bool]:
        """A threat or a groomer's move the writer tells of (``_told``), and whether its
        signpost is shown. The hits and the model stay: a finding as before, capped by the
        caller (``TOLD_CAP``). Received: the helplines are shown to the writer. Retold: the
        ``retold`` signpost when the message read as risky (words read as retold may be a real
        threat or move: they stay flagged for review)."""
        told = _told(risk, hits, ctx)
        if told is None or told.why == TOLD_TO_WRITER:
            return told, told is not None
        was_risky = bool(hits) and score_hits(hits) >= REPORT_THRESHOLD
        if head is not None and probability is not None and probability >= head.low:
            was_risky = True
        return told, was_risky

    def _present_probability(self, text: str, past: set[int], ctx: SignalContext) -> float:
        """The model's self-harm probability for ``text`` without its ``past`` sentences."""
        assert self.classifier is not None
        rest = ctx.lexicon.normalizer.normalize(_without_sentences(text, past)).text
        return self.classifier.probability(rest, Risk.SELF_HARM)

    def _only_told(
        self, findings: list[Finding], hits: list[CueHit], told: Signpost, ctx: SignalContext
    ) -> bool:
        """Whether the bullying finding, if any, rests only on the sentences in which the
        writer tells of being bullied (or of someone they speak for): its cues all lie there,
        and the model, reading the message without those sentences, stays below its low
        threshold. Those sentences hold the bullies' words and deeds ("a guy called me a
        faggot while his friends filmed it"), which the model reads as an attack; the writer
        made none (issue 12: 17 of 38 DEV victim reports were flagged so). An insult of the
        writer's own in another sentence keeps the finding."""
        if not any(f.risk is Risk.BULLYING for f in findings):
            return False
        text = ctx.norm.original
        telling = _sentences_of(text, [(span.start, span.end) for span in told.spans])
        if _sentences_of(text, [(hit.start, hit.end) for hit in hits]) - telling:
            return False
        head = self.classifier.heads.get(Risk.BULLYING) if self.classifier else None
        if head is None or self.classifier is None:
            return True
        rest = _without_sentences(text, telling)
        if not rest.strip():
            return True
        view = ctx.lexicon.normalizer.normalize(rest).text
        return self.classifier.probability(view, Risk.BULLYING) < head.low

    # -- one risk -----------------------------------------------------------------------------
    def _finding(
        self,
        signal: Signal,
        head: Head | None,
        probability: float | None,
        hits: list[CueHit],
        ctx: SignalContext,
    ) -> Finding | None:
        cue_score = score_hits(hits) if hits else 0.0
        cue_level = RiskLevel.NONE
        if hits and cue_score >= REPORT_THRESHOLD:
            cue_level = max(signal.level(cue_score, hits), RiskLevel.LOW)
        lex = ctx.lexicon.for_risk(signal.risk)
        # cues that are the risk itself (for self-harm: ideation, plans, means, acts; not
        # distress alone, which depression posts are full of)
        backing = [hit for hit in hits if lex.supports(hit.tags)]
        if signal.risk is Risk.PERSONAL_INFO:
            level, score = cue_level, cue_score  # rule-based by design
        else:
            strong = bool(backing) and (
                signal.flags_alone(backing, score_hits(backing))
                or cue_level is RiskLevel.IMMINENT
            )
            if head is None or probability is None:
                level = cue_level if strong else RiskLevel.NONE
                score = cue_score
            else:
                model_level = head.level(probability)
                if signal.risk is Risk.GROOMING and model_level < RiskLevel.MEDIUM:
                    # grooming is judged on the conversation: one message counts the model
                    # (alone or beside weak cues) only from its medium threshold
                    model_level = RiskLevel.NONE
                needed = self._model_needs(lex, head, backing, ctx)
                if needed is None or model_level < needed:
                    model_level = RiskLevel.NONE
                supported = model_level is not RiskLevel.NONE
                if strong:
                    level = max(cue_level, model_level)
                elif model_level is not RiskLevel.NONE:
                    level = max(model_level, cue_level)
                elif cue_level is not RiskLevel.NONE and supported:
                    level = RiskLevel.LOW
                else:
                    level = RiskLevel.NONE
                score = max(probability, cue_score if level is not RiskLevel.NONE else 0.0)
        if level is RiskLevel.NONE:
            return None
        spans = merged_spans(hits)
        if not spans and self.classifier is not None and signal.risk in self.classifier.heads:
            spans = self._model_spans(signal.risk, ctx)
        stages = tuple(dict.fromkeys(hit.stage for hit in hits)) or ("model",)
        if self._outside_says_so(signal.risk, head, ctx):
            stages += (OUTSIDE_STAGE,)
        tags = frozenset().union(*(hit.tags for hit in hits)) if hits else frozenset()
        return Finding(signal.risk, min(score, 1.0), level, spans, stages, tags)

    def _outside_says_so(self, risk: Risk, head: Head | None, ctx: SignalContext) -> bool:
        """Whether the outside profanity model gating this head passed the text: the finding
        names it as evidence."""
        if head is None or head.profanity_tau is None or self.classifier is None:
            return False
        outside = self.classifier.outside(ctx.norm.text)
        return outside is not None and outside >= head.profanity_tau

    @staticmethod
    def _model_needs(
        lex: RiskLexicon, head: Head, backing: list[CueHit], ctx: SignalContext
    ) -> RiskLevel | None:
        """The level the model must reach to flag with these cues beside it (None: it cannot
        flag).

        Beside a cue of the same risk (even a weak one) its low level is enough. Alone it
        flags from its medium level (high for a risk trained on synthetic data only): its low
        threshold was chosen on data far from teen chat. A risk's lexicon can ask for more
        (``[model] requires``: self-harm wants the message to speak of death, ending or
        self-injury, or else the model's high level, and with such words it asks for less,
        ``with_requires``: the low level; bullying wants someone the message is
        aimed at, or else a person spoken of and the high level, and never flags an insult
        about a thing from the model alone)."""
        if backing:
            return RiskLevel.LOW
        needed = head.alone
        text = ctx.norm.text
        if lex.model_says_nothing is not None and lex.model_says_nothing.fullmatch(
            _OUTER_PUNCTUATION.sub("", text)
        ):
            return None
        if lex.exclude is not None and lex.view == "text":
            # what an exclusion covers is not what the message aims at either: the "you" of
            # "fuck you're cool" is praised, not insulted
            text = _blank(text, ctx.excluded(lex))
        if (
            lex.model_requires is not None
            and not (lex.requires_between_adults_only and _adult_to_minor(ctx))
            and lex.model_requires.search(text) is None
        ):
            if (
                lex.model_otherwise_requires is not None
                and lex.model_otherwise_requires.search(text) is None
            ):
                return None
            return max(needed, RiskLevel.parse(lex.model_otherwise))
        if lex.model_requires is not None and lex.model_with_requires is not None:
            return RiskLevel.parse(lex.model_with_requires)
        return needed

    def _model_spans(self, risk: Risk, ctx: SignalContext) -> tuple[Span, ...]:
        assert self.classifier is not None
        spans: list[Span] = []
        for found in self.classifier.contributions(ctx.norm, risk):
            start, end = ctx.norm.to_original(found.start, found.end, view="text")
            if end > start:
                spans.append(Span(start, end, "model"))
        return tuple(sorted(spans, key=lambda s: s.start))
