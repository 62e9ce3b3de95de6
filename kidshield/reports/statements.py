"""Statements of reasons for the EU Transparency Database: every final decision in a period
that restricts something, in the database API's JSON shape, in batches of at most 100 (what
its multiple-statement endpoint takes). Validated against ``schemas/dsa-statement.schema.json``
in the tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kidshield.reports import dsa
from kidshield.reports.model import CaseType, DecisionAction, Ground
from kidshield.reports.store import ReportStore

BATCH = 100
SCHEMA = dsa.__file__.rsplit("/", 1)[0] + "/schemas/dsa-statement.schema.json"


def puid(case_id: int, decision_id: int) -> str:
    """Our unique id of a statement: stable, and no personal data in it."""
    return f"kidshield-case-{case_id}-decision-{decision_id}"


def statements_between(store: ReportStore, start: datetime, end: datetime
                       ) -> list[dict[str, Any]]:
    out = []
    for d in store.decisions_between(start, end):
        action, ground = DecisionAction(d.action), Ground(d.ground)
        if d.status != "final" or d.id is None or not dsa.restricts(action, ground):
            continue
        case = store.case(d.case_id)
        if case is None:  # deleted after its retention time
            continue
        fields = dsa.DsaFields.from_dict(json.loads(d.statement or "{}"))
        out.append(dsa.tdb_statement(
            puid=puid(d.case_id, d.id), facts=d.facts, ground=ground, action=action,
            case_type=CaseType(case.case_type), decided_at=d.at, dsa=fields))
    return out


def batches(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Request bodies for the multiple-statement endpoint (at least one, maybe empty)."""
    chunks = [statements[i:i + BATCH] for i in range(0, len(statements), BATCH)] or [[]]
    return [dsa.statements_batch(chunk) for chunk in chunks]
