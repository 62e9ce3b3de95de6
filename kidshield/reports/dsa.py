"""The DSA statement of reasons (Art. 17) as the EU Transparency Database defines it: the
fields a decision carries beyond facts, ground and action, their defaults per kind of case,
and the statement in the database API's JSON shape. Pure: no I/O, no clock.

The database takes statements about *restrictions* (removal, disabled access, account
suspension, ...). A decision that restricts nothing (no action, a warning, an escalation on its
own, opening a site) still gets a statement of reasons for the people involved, but is not
exported there. Schema: ``schemas/dsa-statement.schema.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from kidshield.errors import InputError
from kidshield.reports.model import CaseType, DecisionAction, Ground, Source

CONTENT_TYPES = ("app", "audio", "image", "product", "synthetic_media", "text", "video",
                 "other")
AUTOMATED_DECISION = ("fully", "partially", "not_automated")

# Transparency Database category and keyword per case type.
CATEGORY: dict[CaseType, tuple[str, tuple[str, ...]]] = {
    CaseType.ABUSE_MATERIAL: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                              ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",)),
    CaseType.GROOMING: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                        ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",)),
    CaseType.SELF_HARM: ("STATEMENT_CATEGORY_SELF_HARM", ("KEYWORD_SUICIDE",)),
    CaseType.BULLYING: ("STATEMENT_CATEGORY_CYBER_VIOLENCE",
                        ("KEYWORD_CYBER_BULLYING_INTIMIDATION",)),
    CaseType.PRIVACY: ("STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
                       ("KEYWORD_MISSING_PROCESSING_GROUND",)),
    CaseType.UNDER_BLOCKING: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                              ("KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",)),
    CaseType.OVER_BLOCKING: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
    CaseType.OTHER: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
}

# The law usually relied on for illegal content of each type (the reviewer may name another).
DEFAULT_LEGAL_GROUND: dict[CaseType, str] = {
    CaseType.ABUSE_MATERIAL: "Directive 2011/93/EU, Art. 5 (child sexual abuse material), "
                             "as transposed into national law",
    CaseType.GROOMING: "Directive 2011/93/EU, Art. 6 (solicitation of children for sexual "
                       "purposes), as transposed into national law",
}
DEFAULT_TERMS_CLAUSE: dict[CaseType, str] = {
    CaseType.ABUSE_MATERIAL: "Protection of children: sexual content involving minors",
    CaseType.GROOMING: "Protection of children: contact with sexual intent",
    CaseType.SELF_HARM: "Protection of children: content promoting self-harm or suicide",
    CaseType.BULLYING: "Protection of children: bullying, threats and hate",
    CaseType.PRIVACY: "Protection of children: sharing private information",
    CaseType.UNDER_BLOCKING: "Protective filtering: sites unsuitable for the child's age",
    CaseType.OVER_BLOCKING: "Protective filtering: sites open for the child's age",
    CaseType.OTHER: "Terms and conditions of this service",
}

_SOURCE_TYPE = {
    Source.TEXT_ENGINE.value: "SOURCE_VOLUNTARY",
    Source.HASH_MATCH.value: "SOURCE_VOLUNTARY",
}
AUTOMATED_SOURCES = frozenset({Source.TEXT_ENGINE.value, Source.HASH_MATCH.value})


@dataclass(frozen=True, slots=True)
class DsaFields:
    """What Art. 17(3) asks beyond the facts, the ground and the action."""

    legal_ground: str = ""  # ground "illegal": the law relied on
    legal_explanation: str = ""  # why the content is illegal under it
    terms_clause: str = ""  # other grounds: the clause of the terms relied on
    terms_explanation: str = ""
    reference_url: str = ""  # the law or the terms, as a link
    also_illegal: bool | None = None  # against the terms and also considered illegal
    territorial_scope: tuple[str, ...] = ()  # EU/EEA country codes
    end_date: date | None = None  # None: the restriction has no end
    content_type: tuple[str, ...] = ()
    content_language: str = ""  # ISO 639-1
    content_date: date | None = None  # when the content was first seen
    automated_detection: bool = False
    automated_decision: str = "not_automated"
    source_type: str = "SOURCE_ARTICLE_16"
    account_type: str = ""  # "" | private | business
    category_specification_other: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("end_date", "content_date"):
            value = out[key]
            out[key] = value.isoformat() if value else None
        out["territorial_scope"] = list(self.territorial_scope)
        out["content_type"] = list(self.content_type)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DsaFields:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("end_date", "content_date"):
            if values.get(key):
                values[key] = date.fromisoformat(str(values[key]))
        for key in ("territorial_scope", "content_type"):
            if key in values:
                values[key] = tuple(values[key] or ())
        return cls(**values)


def check(fields_: DsaFields) -> None:
    """Refuse values the statement cannot carry, naming the field."""
    bad = [t for t in fields_.content_type if t not in CONTENT_TYPES]
    if bad:
        raise InputError(f"content_type: {bad[0]!r} is not one of {', '.join(CONTENT_TYPES)}",
                         field="content_type")
    if fields_.automated_decision not in AUTOMATED_DECISION:
        raise InputError("automated_decision: one of " + ", ".join(AUTOMATED_DECISION),
                         field="automated_decision")
    if fields_.account_type not in ("", "private", "business"):
        raise InputError("account_type: private or business", field="account_type")
    if fields_.content_language and not (len(fields_.content_language) == 2
                                         and fields_.content_language.isalpha()):
        raise InputError("content_language: a two-letter ISO 639-1 code like 'en'",
                         field="content_language")


def complete(given: DsaFields, *, case_type: CaseType, ground: Ground, sources: list[str],
             trusted_flagger: bool, first_seen: datetime, scope: tuple[str, ...],
             terms_url: str) -> DsaFields:
    """Fill what the reviewer left out from the case: source type and automated detection
    from where the reports came from, the content date, the scope, and the usual legal ground
    or terms clause for the type of case."""
    check(given)
    values = asdict(given)
    human = [s for s in sources if s not in AUTOMATED_SOURCES]
    values["automated_detection"] = bool(sources) and not human
    if trusted_flagger:
        values["source_type"] = "SOURCE_TRUSTED_FLAGGER"
    elif human:
        values["source_type"] = "SOURCE_ARTICLE_16"
    else:
        values["source_type"] = _SOURCE_TYPE.get(sources[0] if sources else "",
                                                 "SOURCE_VOLUNTARY")
    values["content_date"] = given.content_date or first_seen.date()
    values["territorial_scope"] = given.territorial_scope or scope
    values["content_type"] = given.content_type or ("text",)
    if ground is Ground.ILLEGAL:
        values["legal_ground"] = given.legal_ground or DEFAULT_LEGAL_GROUND.get(
            case_type, "National criminal law (name the provision)")
        if not values["legal_ground"] or "name the provision" in values["legal_ground"]:
            raise InputError("legal_ground: name the law the decision relies on (a decision "
                             "on illegal content must say which law, DSA Art. 17(3)(d))",
                             field="legal_ground")
    elif ground is not Ground.NO_VIOLATION:
        values["terms_clause"] = given.terms_clause or DEFAULT_TERMS_CLAUSE[case_type]
        values["reference_url"] = given.reference_url or terms_url
    return DsaFields(**values)


# -- the Transparency Database shape -----------------------------------------------------------

_VISIBILITY = {
    DecisionAction.CONTENT_REMOVED: "DECISION_VISIBILITY_CONTENT_REMOVED",
    DecisionAction.BLOCK_LISTED: "DECISION_VISIBILITY_CONTENT_DISABLED",
}


def restricts(action: DecisionAction, ground: Ground) -> bool:
    """Whether a decision is a restriction the Transparency Database takes."""
    return ground is not Ground.NO_VIOLATION and (
        action in _VISIBILITY or action is DecisionAction.ACCOUNT_RESTRICTED)


def tdb_statement(*, puid: str, facts: str, ground: Ground, action: DecisionAction,
                  case_type: CaseType, decided_at: datetime, dsa: DsaFields) -> dict[str, Any]:
    """One statement in the Transparency Database API's JSON shape (POST /statement)."""
    if not restricts(action, ground):
        raise InputError(f"a {action.value} decision on {ground.value} is not a restriction "
                         "the Transparency Database takes")
    category, keywords = CATEGORY[case_type]
    out: dict[str, Any] = {
        "decision_facts": facts[:5000],
        "application_date": decided_at.date().isoformat(),
        "content_date": (dsa.content_date or decided_at.date()).isoformat(),
        "content_type": sorted({f"CONTENT_TYPE_{t.upper()}" for t in dsa.content_type}),
        "category": category,
        "source_type": dsa.source_type,
        "automated_detection": "Yes" if dsa.automated_detection else "No",
        "automated_decision": {"fully": "AUTOMATED_DECISION_FULLY",
                               "partially": "AUTOMATED_DECISION_PARTIALLY"}.get(
            dsa.automated_decision, "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "territorial_scope": sorted(dsa.territorial_scope),
        "puid": puid,
    }
    end = dsa.end_date.isoformat() if dsa.end_date else None
    if action in _VISIBILITY:
        out["decision_visibility"] = [_VISIBILITY[action]]
        out["end_date_visibility_restriction"] = end
    if action is DecisionAction.ACCOUNT_RESTRICTED:
        out["decision_account"] = ("DECISION_ACCOUNT_SUSPENDED" if dsa.end_date
                                   else "DECISION_ACCOUNT_TERMINATED")
        out["end_date_account_restriction"] = end
    if dsa.account_type:
        out["account_type"] = f"ACCOUNT_TYPE_{dsa.account_type.upper()}"
    if ground is Ground.ILLEGAL:
        out["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        out["illegal_content_legal_ground"] = dsa.legal_ground[:500]
        out["illegal_content_explanation"] = (dsa.legal_explanation or facts)[:2000]
    else:
        out["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        out["incompatible_content_ground"] = dsa.terms_clause[:500]
        out["incompatible_content_explanation"] = (dsa.terms_explanation or facts)[:2000]
        if dsa.also_illegal is not None:
            out["incompatible_content_illegal"] = "Yes" if dsa.also_illegal else "No"
    if dsa.reference_url:
        out["decision_ground_reference_url"] = dsa.reference_url[:500]
    if keywords:
        out["category_specification"] = list(keywords)
    if dsa.category_specification_other:
        out["category_specification_other"] = dsa.category_specification_other[:500]
    if dsa.content_language:
        out["content_language"] = dsa.content_language.upper()
    if "other" in dsa.content_type:
        out["content_type_other"] = "other"
    return out


def statements_batch(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of the API's multiple-statement endpoint (POST /statements)."""
    return {"statements": statements}
