"""Public API: assess one message, or a conversation (see :mod:`conversation`).

>>> from kidshield.safety.text import assess_message
>>> result = assess_message("dont tell your parents about us", sender="adult", recipient="teen")
>>> result.level.label, [f.risk.value for f in result.findings]
('high', ['grooming'])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from kidshield.errors import InputError
from kidshield.policy.catalog import default_catalog
from kidshield.policy.helpline_data import check_country
from kidshield.policy.helplines import Ages, Helpline, HelplineBook, Topic
from kidshield.safety.text.classifier import shipped_classifier
from kidshield.safety.text.combine import Combined, Combiner
from kidshield.safety.text.lexicon import DEFAULT_LANGUAGE, Lexicon, load_lexicon
from kidshield.safety.text.model import (
    AgeBand,
    Assessment,
    CueHit,
    Finding,
    RecommendedAction,
    Risk,
    RiskLevel,
    Signpost,
)
from kidshield.safety.text.signals import SIGNALS, SignalContext
from kidshield.safety.text.signals.personal_info import redact

MAX_TEXT_LENGTH = 20_000  # characters; longer input is an error, not a slow request

_A = RecommendedAction
# what to do for each risk at each level (LOW, MEDIUM, HIGH, IMMINENT)
_ACTIONS: dict[Risk, tuple[tuple[RecommendedAction, ...], ...]] = {
    Risk.GROOMING: (
        (_A.WARN_CHILD,),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
    ),
    Risk.PERSONAL_INFO: (
        (_A.WARN_CHILD,),
        (_A.WARN_CHILD,),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN),
    ),
    Risk.SEXUAL_CONTENT: (
        (_A.WARN_CHILD,),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
    ),
    Risk.SEXTORTION: (
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.SHOW_HELPLINE),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR, _A.SHOW_HELPLINE),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR, _A.SHOW_HELPLINE),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR, _A.SHOW_HELPLINE),
    ),
    Risk.BULLYING: (
        (_A.WARN_CHILD,),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
        (_A.WARN_CHILD, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR, _A.SHOW_HELPLINE),
    ),
    Risk.SELF_HARM: (
        (_A.SHOW_HELPLINE,),
        (_A.SHOW_HELPLINE, _A.NOTIFY_GUARDIAN),
        (_A.SHOW_HELPLINE, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
        (_A.SHOW_HELPLINE, _A.NOTIFY_GUARDIAN, _A.ESCALATE_MODERATOR),
    ),
}
_ACTION_ORDER = list(RecommendedAction)


def actions_for(risk: Risk, level: RiskLevel, tags: frozenset[str] = frozenset()) -> set[_A]:
    if level is RiskLevel.NONE:
        return set()
    actions = set(_ACTIONS[risk][level - 1])
    if risk is Risk.BULLYING and "severe" in tags and level >= RiskLevel.HIGH:
        actions.add(_A.SHOW_HELPLINE)  # "kys" aimed at a child: the target may need support
    return actions


def sorted_actions(actions: set[RecommendedAction]) -> tuple[RecommendedAction, ...]:
    if not actions:
        return (RecommendedAction.NONE,)
    return tuple(sorted(actions, key=_ACTION_ORDER.index))


def resolve_language(language: str | None) -> tuple[Lexicon, str]:
    """The lexicon to use and whether the language was requested or assumed."""
    if language is None or language in ("", "auto"):
        return load_lexicon(DEFAULT_LANGUAGE), "default"
    if not isinstance(language, str):  # from a JSON line of `kidshield scan`
        raise InputError(f"language: expected a language code like 'en', not {language!r}")
    return load_lexicon(language.lower().split("-")[0]), "requested"


def parse_band(value: AgeBand | str | int | None, field: str) -> AgeBand:
    if value is None:
        return AgeBand.UNKNOWN
    if isinstance(value, AgeBand):
        return value
    if isinstance(value, bool):  # JSON true is not an age (Python's bool is an int)
        raise InputError(f"{field}: expected an age band or an age, not {value!r}")
    if isinstance(value, int):
        if value < 0 or value > 130:
            raise InputError(f"{field}: age {value} is not a plausible age")
        return AgeBand.from_age(value)
    if not isinstance(value, str):
        raise InputError(f"{field}: expected an age band or an age, not {value!r}")
    try:
        return AgeBand(value.strip().lower())
    except ValueError:
        bands = ", ".join(band.value for band in AgeBand)
        raise InputError(f"{field}: unknown age band {value!r}; use one of: {bands}") from None


def collect_hits(
    text: str,
    lexicon: Lexicon,
    sender: AgeBand,
    recipient: AgeBand,
    gaming_conversation: bool = False,
) -> tuple[list[CueHit], SignalContext]:
    if len(text) > MAX_TEXT_LENGTH:
        raise InputError(
            f"text: {len(text)} characters is too long; the limit is {MAX_TEXT_LENGTH}"
        )
    ctx = SignalContext(
        lexicon.normalizer.normalize(text),
        lexicon,
        sender,
        recipient,
        gaming_conversation,
    )
    hits: list[CueHit] = []
    for signal in SIGNALS:
        hits.extend(signal.detect(ctx))
    return hits, ctx


@cache
def combiner() -> Combiner:
    """The shipped model beside the cues (loaded once per process, on first use)."""
    return Combiner(shipped_classifier())


MAX_HELPLINES = 5
_TOPICS = {Risk.SELF_HARM: Topic.SELF_HARM, Risk.SEXTORTION: Topic.SEXTORTION,
           Risk.BULLYING: Topic.BULLYING, Risk.GROOMING: Topic.GROOMING}
_AGES = {AgeBand.CHILD: Ages(0, 12), AgeBand.TEEN: Ages(13, 17), AgeBand.ADULT: Ages(18)}
_RISK_ORDER = {risk: index for index, risk in enumerate(Risk)}  # not list(Risk) per message


@dataclass(frozen=True, slots=True)
class HelplineContext:
    """Where the people in the conversation are and how old: which helplines to show.

    ``book``: the helplines in force (the served app passes its own, with the operator's
    entries); ``country``: ISO code of the platform's user, overriding the book's."""

    book: HelplineBook | None = None
    country: str | None = None
    language: str | None = None

    def resolved(self) -> HelplineBook:
        return self.book or _default_book()


@cache
def _default_book() -> HelplineBook:
    return HelplineBook(tuple(default_catalog().helplines))


# chosen helplines per (book, topics, ages, country, language): choosing walks every helpline in
# force, which cost a flagged message more than the rest of its assessment. The book is kept
# beside its choices (keyed by identity: books are immutable, but hashing one walks it whole)
_CHOSEN: dict[tuple[object, ...], tuple[HelplineBook, tuple[Helpline, ...]]] = {}
_CHOSEN_MAX = 512


def _choose(book: HelplineBook, topics: tuple[Topic, ...], within: Ages | None,
            country: str | None, language: str | None) -> tuple[Helpline, ...]:
    key = (id(book), topics, within, country, language)
    known = _CHOSEN.get(key)
    if known is not None and known[0] is book:
        return known[1]
    lines = book.choose(list(topics), within=within, country=country, language=language)
    if len(_CHOSEN) >= _CHOSEN_MAX:
        _CHOSEN.clear()
    _CHOSEN[key] = (book, lines)
    return lines


def helplines_for(findings: list[Finding], where: HelplineContext, sender: AgeBand,
                  recipient: AgeBand, signpost: tuple[Signpost, ...] = (),
                  ) -> tuple[Helpline, ...]:
    """The helplines for these findings, the most fitting first (``policy.helplines.choose``):
    a crisis line for self-harm, the online-abuse hotline and Take It Down for sextortion. The
    person who needs them is the writer for self-harm and for bullying the writer tells of
    (a signpost) or the sextortion or grooming the writer tells they are the target of ("he
    said dont tell ur parents"), and the reader otherwise. ``signpost``: risks whose helplines
    to show without a finding (a friend's crisis told by the writer, the writer bullied, a
    sextortion threat or a groomer's words told)."""
    wanted: list[Risk] = [
        f.risk
        for f in findings
        if f.risk in (Risk.SELF_HARM, Risk.SEXTORTION)
        or (f.risk is Risk.BULLYING and "severe" in f.tags and f.level >= RiskLevel.HIGH)
    ]
    signposted = [s.risk for s in signpost]
    wanted += [risk for risk in sorted(set(signposted), key=_RISK_ORDER.__getitem__)
               if risk not in wanted]
    if not wanted:
        return ()
    # (the writer is the one sextorted or groomed when they tell of what was said to them)
    writer = (Risk.SELF_HARM in wanted or Risk.BULLYING in signposted
              or any(s.risk in (Risk.SEXTORTION, Risk.GROOMING) and s.why == "target"
                     for s in signpost))
    person = sender if writer else recipient
    lines = _choose(where.resolved(), tuple(_TOPICS[risk] for risk in wanted),
                    _AGES.get(person), where.country, where.language)
    return lines[:MAX_HELPLINES]


def make_assessment(
    text: str,
    lexicon: Lexicon,
    language_source: str,
    hits: list[CueHit],
    combined: Combined,
    where: HelplineContext | None = None,
    sender: AgeBand = AgeBand.UNKNOWN,
    recipient: AgeBand = AgeBand.UNKNOWN,
) -> Assessment:
    """``combined.signpost``: risks whose helplines to show without a finding (a friend's
    crisis described by the writer, the writer's own past, the writer bullied), with why."""
    findings = combined.findings
    actions: set[RecommendedAction] = set()
    for finding in findings:
        actions |= actions_for(finding.risk, finding.level, finding.tags)
    if combined.signpost:
        actions.add(RecommendedAction.SHOW_HELPLINE)
    pi_hits = [hit for hit in hits if hit.risk is Risk.PERSONAL_INFO and hit.redact]
    has_pi = any(f.risk is Risk.PERSONAL_INFO for f in findings)
    return Assessment(
        language=lexicon.language,
        language_source=language_source,
        level=max((f.level for f in findings), default=RiskLevel.NONE),
        findings=tuple(findings),
        actions=sorted_actions(actions),
        helplines=helplines_for(findings, where or HelplineContext(language=lexicon.language),
                                sender, recipient, combined.signpost),
        redacted=redact(text, pi_hits) if has_pi and pi_hits else None,
        text_length=len(text),
        hits=tuple(hits),
        model_scores=dict(combined.probabilities),
        signposts=combined.signpost,
    )


def assess_message(
    text: str,
    *,
    sender: AgeBand | str | int | None = None,
    recipient: AgeBand | str | int | None = None,
    language: str | None = None,
    gaming_context: bool = False,
    country: str | None = None,
    helplines: HelplineBook | None = None,
    engine: Combiner | None = None,
) -> Assessment:
    """Assess one message on its own.

    ``sender`` and ``recipient`` are age bands ("child", "teen", "adult", "unknown") or ages;
    they change how much a cue counts (an adult asking a child "are you alone?" matters more
    than two 14-year-olds asking each other). ``gaming_context`` says the surrounding
    conversation is about a game. ``language`` defaults to English; the result says which
    language was assumed. ``country`` (ISO code) picks the helplines shown with self-harm and
    sextortion findings; ``helplines`` gives the ones in force (default: the shipped data).
    ``engine``: another model beside the cues (evaluation of a model being trained).
    """
    if not isinstance(text, str):
        raise InputError(f"text: expected a string, got {type(text).__name__}")
    lexicon, source = resolve_language(language)
    sender_band = parse_band(sender, "sender")
    recipient_band = parse_band(recipient, "recipient")
    hits, ctx = collect_hits(text, lexicon, sender_band, recipient_band, gaming_context)
    where = HelplineContext(helplines, check_country_code(country), lexicon.language)
    combined = (engine or combiner()).findings(hits, ctx)
    return make_assessment(text, lexicon, source, hits, combined, where, sender_band,
                           recipient_band)


def check_country_code(country: str | None) -> str | None:
    """An ISO 3166-1 code for the helplines, or InputError naming the field."""
    if country is None or country == "":
        return None
    try:
        return check_country(country)
    except ValueError as exc:
        raise InputError(f"country: {exc}") from None
