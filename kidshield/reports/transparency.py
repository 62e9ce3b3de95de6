"""Transparency figures for a period: reports received by type and source, actions taken, time
to first action and to decision (median and p90), appeals and reversals, hash matches by bank.
CSV for spreadsheets; self-contained HTML with inline SVG charts (no scripts, no CDN)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from statistics import median

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from kidshield.storage.protocols import (
    AppealRecord,
    CaseRecord,
    DecisionRecord,
    ReportRecord,
    ReportStore,
)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Durations:
    """Hours, over the cases that reached the step; None when none did."""

    count: int
    median_hours: float | None
    p90_hours: float | None
    target_hours: int = 0
    within_target: int = 0  # cases that reached the step within target_hours (COP-23)


@dataclass(frozen=True, slots=True)
class Figures:
    start: datetime
    end: datetime
    reports_by_type: dict[str, int]
    reports_by_source: dict[str, int]
    actions: dict[str, int]
    to_first_action: Durations
    to_decision: Durations
    appeals: int
    reversals: int
    hash_matches_by_bank: dict[str, int] = field(default_factory=dict)

    @property
    def reports_total(self) -> int:
        return sum(self.reports_by_type.values())


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


# Timelines measured against (COP-23): first action within a day, decision within two.
FIRST_ACTION_TARGET_HOURS = 24
DECISION_TARGET_HOURS = 48


def durations(hours: Sequence[float], target: int = 0) -> Durations:
    if not hours:
        return Durations(0, None, None, target, 0)
    return Durations(len(hours), round(median(hours), 2), round(percentile(hours, 90), 2),
                     target, sum(1 for h in hours if h <= target))


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def compute(
    start: datetime,
    end: datetime,
    reports: Sequence[ReportRecord],
    cases: Sequence[CaseRecord],
    decisions: Sequence[DecisionRecord],
    appeals: Sequence[AppealRecord],
    hash_matches: dict[str, int] | None = None,
) -> Figures:
    """Reports and appeals received, decisions made, in [start, end); times for the cases
    opened in the period."""
    first_action = [_hours(c.created_at, c.first_action_at) for c in cases if c.first_action_at]
    to_decision = [
        _hours(c.created_at, c.decided_at) for c in cases if c.decided_at is not None
    ]
    return Figures(
        start=start,
        end=end,
        reports_by_type=dict(sorted(Counter(r.case_type for r in reports).items())),
        reports_by_source=dict(sorted(Counter(r.source for r in reports).items())),
        actions=dict(sorted(Counter(d.action for d in decisions).items())),
        to_first_action=durations(first_action, FIRST_ACTION_TARGET_HOURS),
        to_decision=durations(to_decision, DECISION_TARGET_HOURS),
        appeals=len(appeals),
        reversals=sum(1 for d in decisions if d.reverses),
        hash_matches_by_bank=dict(sorted((hash_matches or {}).items())),
    )


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC): both dates included."""
    from datetime import UTC

    return (datetime.combine(start, time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC))


def figures_from_store(store: ReportStore, start: datetime, end: datetime) -> Figures:
    return compute(
        start, end,
        store.reports_between(start, end),
        store.cases_between(start, end),
        store.decisions_between(start, end),
        store.appeals_between(start, end),
        store.hash_matches_by_bank(start, end),
    )


def _rows(fig: Figures) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = [
        ("period", "from", fig.start.date().isoformat()),
        ("period", "to", (fig.end - timedelta(days=1)).date().isoformat()),
        ("reports", "total", str(fig.reports_total)),
    ]
    rows += [("reports_by_type", k, str(v)) for k, v in fig.reports_by_type.items()]
    rows += [("reports_by_source", k, str(v)) for k, v in fig.reports_by_source.items()]
    rows += [("actions", k, str(v)) for k, v in fig.actions.items()]
    for name, d in (("time_to_first_action", fig.to_first_action),
                    ("time_to_decision", fig.to_decision)):
        rows += [(name, "cases", str(d.count)),
                 (name, "median_hours", "" if d.median_hours is None else str(d.median_hours)),
                 (name, "p90_hours", "" if d.p90_hours is None else str(d.p90_hours)),
                 (name, f"within_{d.target_hours}h", str(d.within_target))]
    rows += [("appeals", "received", str(fig.appeals)), ("appeals", "reversed", str(fig.reversals))]
    rows += [("hash_matches_by_bank", k, str(v)) for k, v in fig.hash_matches_by_bank.items()]
    return rows


def to_csv(fig: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(_rows(fig))
    return out.getvalue()


def bar_chart(title: str, data: dict[str, int], width: int = 480) -> Markup:
    """A horizontal bar chart as inline SVG, labelled for screen readers."""
    if not data:
        return Markup(f'<p class="empty">{escape(title)}: none in this period.</p>')
    bar_h, gap, label_w = 22, 6, 150
    peak = max(data.values()) or 1
    height = len(data) * (bar_h + gap) + gap
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (key, value) in enumerate(data.items()):
        y = gap + i * (bar_h + gap)
        w = max(1, round((width - label_w - 50) * value / peak))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(key.replace('_', ' '))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="#2f6f9f"/>'
            f'<text x="{label_w + w + 4}" y="{y + 15}" font-size="12">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.globals["bar_chart"] = bar_chart
    return env


def to_html(fig: Figures, organisation: str = "") -> str:
    template = _env().get_template("transparency.html")
    return template.render(fig=fig, organisation=organisation, rows=_rows(fig),
                           last_day=(fig.end - timedelta(days=1)).date())
