"""The pure vocabulary: priorities, transitions, de-duplication keys, receipt codes."""

from __future__ import annotations

import pytest

from kidshield.errors import InputError
from kidshield.reports.model import (
    CaseState,
    CaseType,
    DecisionAction,
    Ground,
    Risk,
    StatementOfReasons,
    TransitionError,
    check_transition,
    dedup_key,
    new_receipt_code,
    normalize_receipt_code,
    normalize_url,
    priority,
)


def test_imminent_danger_comes_before_abuse_material_which_comes_before_everything_else() -> None:
    imminent = priority(Risk(CaseType.BULLYING, imminent_danger=True))
    csam = priority(Risk(CaseType.ABUSE_MATERIAL))
    others = [priority(Risk(t, score=1.0, reports=10, child_reporter=True))
              for t in CaseType if t is not CaseType.ABUSE_MATERIAL]
    assert imminent > csam > max(others)


def test_priority_order_of_types() -> None:
    order = [CaseType.ABUSE_MATERIAL, CaseType.GROOMING, CaseType.SELF_HARM, CaseType.BULLYING,
             CaseType.PRIVACY, CaseType.UNDER_BLOCKING, CaseType.OVER_BLOCKING, CaseType.OTHER]
    values = [priority(Risk(t)) for t in order]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)


def test_score_child_reporter_and_repeats_raise_priority_within_a_type() -> None:
    base = priority(Risk(CaseType.BULLYING))
    assert priority(Risk(CaseType.BULLYING, score=0.9)) > base
    assert priority(Risk(CaseType.BULLYING, child_reporter=True)) > base
    assert priority(Risk(CaseType.BULLYING, reports=3)) > base


def test_closed_case_reopens_only_to_triage() -> None:
    check_transition(CaseState.CLOSED, CaseState.TRIAGE)
    with pytest.raises(TransitionError, match="allowed: triage"):
        check_transition(CaseState.CLOSED, CaseState.ACTION)


def test_same_url_spelled_differently_has_one_dedup_key() -> None:
    a = dedup_key(url="HTTPS://Example.COM:443/page/?b=2&a=1&utm_source=x#top")
    b = dedup_key(url="http://example.com/page?a=1&b=2")
    assert a == b == "url:example.com/page?a=1&b=2"


def test_hash_wins_over_url_for_dedup() -> None:
    assert dedup_key(url="https://x.test/", file_hash="ABC") == "hash:abc"
    assert dedup_key(conversation="c1", account="@bob") == "conversation:c1"
    assert dedup_key(account="  @Bob ") == "account:@bob"
    assert dedup_key() is None


def test_non_web_url_is_refused() -> None:
    with pytest.raises(InputError, match="not a web address"):
        normalize_url("ftp://files.test/x")
    assert normalize_url("example.com") == "http://example.com/"
    assert normalize_url("example.com:8080/x") == "http://example.com:8080/x"
    assert normalize_url("https://user:pw@Example.com/") == "https://example.com/"
    for bad in ("mailto:a@b.test", "javascript:alert(1)", "data:text/html,hi"):
        with pytest.raises(InputError):
            normalize_url(bad)


def test_receipt_codes_round_trip_and_tolerate_spacing() -> None:
    code = new_receipt_code()
    assert normalize_receipt_code(code.lower().replace("-", " ")) == code
    with pytest.raises(InputError, match="receipt code"):
        normalize_receipt_code("KS-0000-0000")


def test_statement_of_reasons_needs_facts_and_explains_appeal() -> None:
    with pytest.raises(InputError, match="facts"):
        StatementOfReasons(" ", Ground.POLICY, DecisionAction.NO_ACTION)
    text = StatementOfReasons("x", Ground.POLICY, DecisionAction.WARNING).to_dict()
    assert "different reviewer" in text["how_to_appeal"]
    assert text["action_text"] == "The account holder was warned."
