"""Pure vocabulary of reports and cases: types, states and transitions, priority from risk,
de-duplication keys and the statement of reasons. No I/O and no clock here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kidshield.errors import Conflict, InputError
from kidshield.policy.reason import Reason


class CaseType(StrEnum):
    ABUSE_MATERIAL = "abuse_material"  # child sexual abuse material (CSAM)
    GROOMING = "grooming"
    SELF_HARM = "self_harm"
    BULLYING = "bullying"
    PRIVACY = "privacy"
    UNDER_BLOCKING = "under_blocking"  # a page that should be blocked is open
    OVER_BLOCKING = "over_blocking"  # a page that should be open is blocked
    OTHER = "other"


class CaseState(StrEnum):
    NEW = "new"
    TRIAGE = "triage"
    ACTION = "action"
    CLOSED = "closed"


class Source(StrEnum):
    """Where a report came from (counted in transparency figures)."""

    WEB = "web"
    CHILD_FORM = "child_form"
    API = "api"
    TEXT_ENGINE = "text_engine"
    HASH_MATCH = "hash_match"


class ReporterRole(StrEnum):
    CHILD = "child"
    PARENT = "parent"
    TEACHER = "teacher"
    OTHER = "other"
    ANONYMOUS = "anonymous"


class DecisionAction(StrEnum):
    NO_ACTION = "no_action"
    CONTENT_REMOVED = "content_removed"
    ACCOUNT_RESTRICTED = "account_restricted"
    WARNING = "warning"
    ESCALATED = "escalated"  # sent to the competent authority / hotline
    BLOCK_LISTED = "block_listed"  # domain added to kidshield's reports block list
    ALLOW_LISTED = "allow_listed"  # domain added to kidshield's reports allow list
    REFERRED_TO_HELP = "referred_to_help"  # reporter pointed to a helpline / support


class Ground(StrEnum):
    ILLEGAL = "illegal"  # unlawful content (e.g. child sexual abuse material)
    POLICY = "policy"  # against the organisation's rules or the family/school policy
    SAFETY = "safety"  # a risk to a child's safety or wellbeing
    NO_VIOLATION = "no_violation"
    WRONG_CATEGORY = "wrong_category"  # a list put the site in the wrong category


TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.NEW: frozenset({CaseState.TRIAGE, CaseState.ACTION, CaseState.CLOSED}),
    CaseState.TRIAGE: frozenset({CaseState.ACTION, CaseState.CLOSED}),
    CaseState.ACTION: frozenset({CaseState.CLOSED, CaseState.TRIAGE}),
    CaseState.CLOSED: frozenset({CaseState.TRIAGE}),  # reopened on appeal
}


class TransitionError(Conflict):
    """A case cannot move to the asked state from where it is."""


def check_transition(current: CaseState, target: CaseState) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise TransitionError(
            f"a case in state {current.value!r} cannot move to {target.value!r} "
            f"(allowed: {allowed})"
        )


# -- priority ----------------------------------------------------------------------------------

BASE_PRIORITY: dict[CaseType, int] = {
    CaseType.ABUSE_MATERIAL: 90,
    CaseType.GROOMING: 80,
    CaseType.SELF_HARM: 75,
    CaseType.BULLYING: 50,
    CaseType.PRIVACY: 45,
    CaseType.UNDER_BLOCKING: 30,
    CaseType.OVER_BLOCKING: 20,
    CaseType.OTHER: 10,
}
IMMINENT_DANGER = 100
TRUSTED_BONUS = 6  # trusted flaggers' notices come first within a type (DSA Art. 22)


@dataclass(frozen=True, slots=True)
class Risk:
    case_type: CaseType
    imminent_danger: bool = False
    score: float = 0.0  # 0..1 from the text engine or the reporter's answers
    reports: int = 1  # reports merged into the case
    child_reporter: bool = False
    trusted_flagger: bool = False  # a notice from a trusted flagger (DSA Art. 22)


def priority(risk: Risk) -> int:
    """0..100, higher first. Imminent danger always comes first, then abuse material, then the
    other harms; within a type, engine score, a child reporting and repeat reports raise it."""
    if risk.imminent_danger:
        return IMMINENT_DANGER
    base = BASE_PRIORITY[risk.case_type]
    bonus = round(max(0.0, min(1.0, risk.score)) * 5)
    bonus += 2 if risk.child_reporter else 0
    bonus += min(max(risk.reports - 1, 0), 2)
    bonus += TRUSTED_BONUS if risk.trusted_flagger else 0
    return min(base + bonus, IMMINENT_DANGER - 1)


# -- de-duplication ------------------------------------------------------------------------------

_TRACKING = ("utm_", "fbclid", "gclid", "mc_eid", "igshid")
# no host has spaces or control characters: "http://ex ample.com" is a typing slip to correct
_BAD_HOST = re.compile(r"[\s\x00-\x1f\x7f]")


def normalize_url(url: str) -> str:
    """A URL in one canonical spelling: lower-case scheme and host, no default port, no
    fragment, no tracking parameters, query sorted. Raises InputError for a non-web URL.
    Normalizing a normalized URL gives it back unchanged (the intake does it twice)."""
    text = url.strip()
    if "://" not in text:
        scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)", text)
        if scheme:  # mailto:, javascript:, data: ... (but not host:port)
            raise InputError(f"{url!r} is not a web address (like https://example.com/page)",
                             field="url")
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # "[::1" or a port of 99999: the reporter can correct it
        raise InputError(f"{url!r} is not a web address: {exc}", field="url") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme.lower() not in ("http", "https") or not host or _BAD_HOST.search(host):
        raise InputError(f"{url!r} is not a web address (like https://example.com/page)",
                         field="url")
    if ":" in host:  # an IPv6 address keeps its brackets, else its last group reads as a port
        host = f"[{host}]"
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def domain_of(url: str) -> str:
    host = urlsplit(normalize_url(url)).hostname
    assert host is not None  # normalize_url guarantees a host
    return host


def dedup_keys(
    *,
    url: str | None = None,
    file_hash: str | None = None,
    conversation: str | None = None,
    account: str | None = None,
) -> list[str]:
    """The keys under which reports about the same thing meet in one open case: the same file
    hash, the same conversation, the same URL or the same account (strongest first)."""
    keys = []
    if file_hash:
        keys.append("hash:" + file_hash.strip().lower())
    if conversation:
        keys.append("conversation:" + conversation.strip())
    if url:  # http and https spellings of an address are the same thing to a reporter
        keys.append("url:" + normalize_url(url).split("://", 1)[1])
    if account:
        keys.append("account:" + " ".join(account.strip().lower().split()))
    return keys


def dedup_key(**kwargs: str | None) -> str | None:
    """The strongest de-duplication key (shown on the case)."""
    keys = dedup_keys(**kwargs)
    return keys[0] if keys else None


# -- receipt codes -------------------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud


def new_receipt_code() -> str:
    """A code like ``KS-7QPM-X2HD``: 40 bits of randomness, the only key to a report's status."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"KS-{chars[:4]}-{chars[4:]}"


def normalize_receipt_code(code: str) -> str:
    text = "".join(c for c in code.upper() if c.isalnum())
    if text.startswith("KS"):
        text = text[2:]
    if len(text) != 8 or any(c not in _CODE_ALPHABET for c in text):
        raise InputError(f"{code!r} is not a receipt code (it looks like KS-7QPM-X2HD)",
                         field="code")
    return f"KS-{text[:4]}-{text[4:]}"


# -- case type from engine reasons -----------------------------------------------------------------

REASON_TO_TYPE: dict[Reason, CaseType] = {
    Reason.GROOMING: CaseType.GROOMING,
    Reason.SEXTORTION: CaseType.GROOMING,
    Reason.SEXUAL_CONTENT: CaseType.GROOMING,
    Reason.PERSONAL_INFO: CaseType.PRIVACY,
    Reason.BULLYING: CaseType.BULLYING,
    Reason.SELF_HARM: CaseType.SELF_HARM,
    Reason.HASH_MATCH: CaseType.ABUSE_MATERIAL,
}


def case_type_for(reason: Reason | str) -> CaseType:
    try:
        return REASON_TO_TYPE.get(Reason(reason), CaseType.OTHER)
    except ValueError:
        return CaseType.OTHER


# -- statement of reasons ----------------------------------------------------------------------

# "At least six months" (DSA Art. 20(1)): the longest six consecutive months have 184 days.
APPEAL_WINDOW_DAYS = 184


class Statement(TypedDict):
    """A statement of reasons as the reporter and the affected account read it (and as the
    API and e-mails give it). ``appeal_custom``: ``how_to_appeal`` is the organisation's own
    text, shown as written; otherwise it is the service's sentence for ``appeal_days``, which
    a page may put in its own words and language."""

    facts: str
    ground: str
    ground_text: str
    action: str
    action_text: str
    how_to_appeal: str
    appeal_custom: bool
    appeal_days: int


class Notice(Statement):
    """The statement for the affected account, with the last day to appeal (ISO 8601)."""

    appeal_deadline: str


@dataclass(frozen=True, slots=True)
class StatementOfReasons:
    """What was decided and why, in words the reporter and the affected account can read:
    the facts relied on, the ground, the action taken, and how to appeal."""

    facts: str
    ground: Ground
    action: DecisionAction
    appeal: str = ""
    appeal_days: int = APPEAL_WINDOW_DAYS

    def __post_init__(self) -> None:
        if not self.facts.strip():
            raise InputError("a decision needs the facts it relies on (facts)", field="facts")

    def how_to_appeal(self) -> str:
        return self.appeal or (
            f"If you disagree, you can appeal within {self.appeal_days} days using your receipt "
            "code on the status page. A different reviewer will look at it again."
        )

    def to_dict(self) -> Statement:
        return {
            "facts": self.facts,
            "ground": self.ground.value,
            "ground_text": GROUND_TEXT[self.ground],
            "action": self.action.value,
            "action_text": ACTION_TEXT[self.action],
            "how_to_appeal": self.how_to_appeal(),
            "appeal_custom": bool(self.appeal),
            "appeal_days": self.appeal_days,
        }


GROUND_TEXT: dict[Ground, str] = {
    Ground.ILLEGAL: "The content is against the law.",
    Ground.POLICY: "The content breaks the rules that apply here.",
    Ground.SAFETY: "The content puts a child's safety or wellbeing at risk.",
    Ground.NO_VIOLATION: "We did not find anything against the law or the rules.",
    Ground.WRONG_CATEGORY: "The site was in the wrong category of a list.",
}

ACTION_TEXT: dict[DecisionAction, str] = {
    DecisionAction.NO_ACTION: "No action was taken.",
    DecisionAction.CONTENT_REMOVED: "The content was removed.",
    DecisionAction.ACCOUNT_RESTRICTED: "The account was restricted.",
    DecisionAction.WARNING: "The account holder was warned.",
    DecisionAction.ESCALATED: "The report was passed to the authority responsible for it.",
    DecisionAction.BLOCK_LISTED: "The site is now blocked by this service.",
    DecisionAction.ALLOW_LISTED: "The site is now open on this service.",
    DecisionAction.REFERRED_TO_HELP: "We shared where to find help and support.",
}

STATE_TEXT: dict[CaseState, str] = {
    CaseState.NEW: "We have your report. Someone will look at it soon.",
    CaseState.TRIAGE: "Someone is looking at your report.",
    CaseState.ACTION: "We are acting on your report.",
    CaseState.CLOSED: "We have made a decision.",
}
