"""What a child reads on their report's status page: the case state, the decision's ground and
action and how to ask for another look, in words for children and in the page's language.

The English strings are msgids of the children's catalog (``scripts/web_i18n.py`` finds them
here), keyed by the enums, so a new state, ground or action without a child's wording fails a
test instead of showing an adult's sentence. The adult page keeps the statement of reasons as
the service words it (``model.STATE_TEXT``, ``GROUND_TEXT``, ``ACTION_TEXT``). What a reviewer
wrote (the facts, an organisation's own appeal text) is shown as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_date

from kidshield.reports.model import STATE_TEXT, CaseState, DecisionAction, Ground, Statement
from kidshield.reports.records import ReportStatus
from kidshield.web.i18n import Translator


def N_(text: str) -> str:
    return text


STATE: dict[CaseState, str] = {
    CaseState.NEW: N_("We have your report. Someone will read it soon."),
    CaseState.TRIAGE: N_("Someone is reading your report now."),
    CaseState.ACTION: N_("We are doing something about your report."),
    CaseState.CLOSED: N_("We have decided what to do. You can read it below."),
}
GROUND: dict[Ground, str] = {
    Ground.ILLEGAL: N_("It is against the law."),
    Ground.POLICY: N_("It breaks the rules here."),
    Ground.SAFETY: N_("It could hurt a child or put a child in danger."),
    Ground.NO_VIOLATION: N_("We did not find anything against the law or the rules."),
    Ground.WRONG_CATEGORY: N_("A list had put the site in the wrong group."),
}
ACTION: dict[DecisionAction, str] = {
    DecisionAction.NO_ACTION: N_("We did not change anything."),
    DecisionAction.CONTENT_REMOVED: N_("It was taken down."),
    DecisionAction.ACCOUNT_RESTRICTED: N_("The account that did it can do less now."),
    DecisionAction.WARNING: N_("The person was warned."),
    DecisionAction.ESCALATED: N_("We passed it on to the people whose job is to deal with it, "
                                 "like the police or a hotline."),
    DecisionAction.BLOCK_LISTED: N_("The site is now blocked here."),
    DecisionAction.ALLOW_LISTED: N_("The site is now open here."),
    DecisionAction.REFERRED_TO_HELP: N_("We shared where you can find help and someone to "
                                        "talk to."),
}
@dataclass(frozen=True, slots=True)
class ChildStatus:
    received: str  # "We got it on 6 December 2026."
    state: str
    ground: str = ""
    action: str = ""
    appeal: str = ""


def _state(value: CaseState | str) -> CaseState | None:
    try:
        return CaseState(value)
    except ValueError:
        return None


def _day(t: Translator, when: datetime) -> str:
    return format_date(when.date(), format="long", locale=t.lang)


def appeal_words(t: Translator, decision: Statement, until: datetime | None = None) -> str:
    """The child's sentence for the service's own appeal text (with the last day to ask, or
    the number of days); an organisation's own text as written."""
    if decision["appeal_custom"]:
        return decision["how_to_appeal"]
    days = decision["appeal_days"]
    when = (t("You can ask until {date}.", date=_day(t, until)) if until is not None
            else t.ngettext("You can ask within {n} day.", "You can ask within {n} days.", days,
                            n=days))
    return " ".join((
        t("If you think we got it wrong, you can ask us to look again. Someone else will "
          "check it."), when))


def words(t: Translator, status: ReportStatus) -> ChildStatus:
    """The child's words for a report's status (falling back to the service's own sentence
    for anything this module does not know)."""
    state = _state(status.state)
    decision: Statement | None = status.decision
    ground = action = appeal = ""
    if decision:
        ground = _lookup(t, GROUND, Ground, decision["ground"], decision["ground_text"])
        action = _lookup(t, ACTION, DecisionAction, decision["action"], decision["action_text"])
        appeal = appeal_words(t, decision, status.appeal_deadline)
    # the child's words for the service's usual sentence; any other (a report held back, say)
    # as the service words it
    usual = state is not None and status.state_text == STATE_TEXT.get(state)
    return ChildStatus(
        received=t("We got it on {date}.", date=_day(t, status.received_at)),
        state=t(STATE[state]) if usual and state in STATE else status.state_text,
        ground=ground, action=action, appeal=appeal)


def _lookup(t: Translator, table: Mapping[Any, str], kind: type[Any], value: str,
            fallback: str) -> str:
    try:
        key = kind(value)
    except ValueError:
        return fallback
    return t(table[key]) if key in table else fallback
