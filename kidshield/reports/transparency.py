"""Transparency figures for a period: reports received by type, source and source type
(Art. 16 notice, trusted flagger, own initiative), automated vs human detection and decisions,
decisions on illegal content vs the terms, actions, escalations and police notifications,
time to first action (cases nobody touched yet count with their age, so neglect cannot hide)
and to decision, complaint (appeal) handling times, the backlog at the end of the period,
misuse measures, and hash matches by bank. CSV for spreadsheets; self-contained HTML with inline
SVG charts (no scripts, no CDN). No personal data in any figure (DSA Art. 15, 24)."""

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

from kidshield.errors import InputError
from kidshield.reports.store import (
    AppealRecord,
    CaseRecord,
    DecisionRecord,
    ReportRecord,
    ReportStore,
)

TEMPLATES = Path(__file__).parent / "templates"
STYLE = Path(__file__).parent / "static" / "transparency.css"


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
    not_yet_acted_on: int = 0  # cases opened in the period, untouched at its end
    reports_by_source_type: dict[str, int] = field(default_factory=dict)
    detection: dict[str, int] = field(default_factory=dict)  # automated | human
    decisions_by_basis: dict[str, int] = field(default_factory=dict)  # illegal | terms | none
    decisions_automated: dict[str, int] = field(default_factory=dict)
    escalations: int = 0
    police_notifications: int = 0
    appeals_decided: int = 0
    to_appeal_decision: Durations = field(default_factory=lambda: Durations(0, None, None))
    appeals_pending: int = 0
    backlog: dict[str, int] = field(default_factory=dict)  # open cases at the end, by type
    backlog_oldest_hours: float | None = None
    misuse: dict[str, int] = field(default_factory=dict)

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
    # never below zero: police told before the case was opened (staff phoned them first and
    # typed the report in later) is a first action at once, not a negative time
    return max(0.0, (b - a).total_seconds() / 3600)


AUTOMATED_SOURCES = frozenset({"text_engine", "hash_match"})
BASIS = {"illegal": "illegal", "no_violation": "no_violation"}  # others: the terms


@dataclass(frozen=True, slots=True)
class Extra:
    """What ``compute`` needs beyond the period's records (all optional)."""

    as_of: datetime | None = None  # "now" when the period has not ended yet
    trusted_sources: frozenset[int] = frozenset()
    open_at_end: Sequence[CaseRecord] = ()
    appeals_decided: Sequence[AppealRecord] = ()
    appeals_pending: int = 0
    audit: dict[str, int] = field(default_factory=dict)


def _source_type(r: ReportRecord, trusted: frozenset[int]) -> str:
    if r.source_id is not None and r.source_id in trusted:
        return "trusted_flagger"
    return "own_initiative" if r.source in AUTOMATED_SOURCES else "notice"


def compute(
    start: datetime,
    end: datetime,
    reports: Sequence[ReportRecord],
    cases: Sequence[CaseRecord],
    decisions: Sequence[DecisionRecord],
    appeals: Sequence[AppealRecord],
    hash_matches: dict[str, int] | None = None,
    extra: Extra | None = None,
) -> Figures:
    """Reports and appeals received, decisions made, in [start, end); times for the cases
    opened in the period, the untouched ones counted with their age at the end."""
    x = extra or Extra()
    until = min(end, x.as_of) if x.as_of is not None else end
    decisions = [d for d in decisions if d.status == "final"]
    untouched = [c for c in cases if c.first_action_at is None or c.first_action_at > until]
    first_action = [_hours(c.created_at, c.first_action_at) for c in cases
                    if c.first_action_at and c.first_action_at <= until]
    first_action += [_hours(c.created_at, until) for c in untouched]
    to_decision = [
        _hours(c.created_at, c.decided_at) for c in cases if c.decided_at is not None
    ]
    appeal_hours = [_hours(a.at, a.decided_at) for a in x.appeals_decided
                    if a.decided_at is not None]
    ages = [_hours(c.created_at, until) for c in x.open_at_end]
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
        not_yet_acted_on=len(untouched),
        reports_by_source_type=dict(sorted(Counter(
            _source_type(r, x.trusted_sources) for r in reports).items())),
        detection={"automated": sum(1 for r in reports if r.source in AUTOMATED_SOURCES),
                   "human": sum(1 for r in reports if r.source not in AUTOMATED_SOURCES)},
        decisions_by_basis=dict(sorted(Counter(
            BASIS.get(d.ground, "terms_and_conditions") for d in decisions).items())),
        decisions_automated={"automated": 0, "human": len(decisions)},
        escalations=x.audit.get("escalate", 0),
        police_notifications=x.audit.get("police_notified", 0),
        appeals_decided=len(appeal_hours),
        to_appeal_decision=durations(appeal_hours, DECISION_TARGET_HOURS),
        appeals_pending=x.appeals_pending,
        backlog=dict(sorted(Counter(c.case_type for c in x.open_at_end).items())),
        backlog_oldest_hours=round(max(ages), 2) if ages else None,
        misuse={"warnings": x.audit.get("source_warned", 0),
                "suspensions": x.audit.get("source_suspended", 0),
                "notices_held": x.audit.get("report_held", 0)},
    )


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC): both dates included."""
    from datetime import UTC

    if end >= date.max:  # its next day, where the period ends, does not exist
        raise InputError(f"to: {end.isoformat()} is past the last day a period can end on "
                         f"({(date.max - timedelta(days=1)).isoformat()})", field="to")
    return (datetime.combine(start, time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC))


def figures_from_store(store: ReportStore, start: datetime, end: datetime,
                       as_of: datetime | None = None) -> Figures:
    """The figures of [start, end); ``as_of`` (now) bounds a period that has not ended."""
    until = min(end, as_of) if as_of is not None else end
    received = store.appeals_between(datetime.min.replace(tzinfo=start.tzinfo), until)
    extra = Extra(
        as_of=as_of,
        trusted_sources=frozenset(s.id for s in store.sources()
                                  if s.kind == "trusted_flagger" and s.id is not None),
        open_at_end=store.open_at(until),
        appeals_decided=[a for a in received
                         if a.decided_at is not None and start <= a.decided_at < end],
        appeals_pending=sum(1 for a in received
                            if a.decided_at is None or a.decided_at >= until),
        audit=store.audit_counts(start, end),
    )
    return compute(
        start, end,
        [r for r in store.reports_between(start, end) if not r.held],
        # a case merged into another is that case's (its reports counted there, once)
        [c for c in store.cases_between(start, end) if c.merged_into is None],
        store.decisions_between(start, end),
        store.appeals_between(start, end),
        store.hash_matches_by_bank(start, end),
        extra,
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
    rows.append(("time_to_first_action", "not_yet_acted_on", str(fig.not_yet_acted_on)))
    rows += [("appeals", "received", str(fig.appeals)), ("appeals", "reversed", str(fig.reversals))]
    a = fig.to_appeal_decision
    rows += [("appeals", "decided", str(fig.appeals_decided)),
             ("appeals", "pending_at_end", str(fig.appeals_pending)),
             ("appeals", "median_hours_to_decide", _num(a.median_hours)),
             ("appeals", "p90_hours_to_decide", _num(a.p90_hours))]
    rows += [("hash_matches_by_bank", k, str(v)) for k, v in fig.hash_matches_by_bank.items()]
    rows += [("reports_by_source_type", k, str(v))
             for k, v in fig.reports_by_source_type.items()]
    rows += [("detection", k, str(v)) for k, v in fig.detection.items()]
    rows += [("decisions_by_basis", k, str(v)) for k, v in fig.decisions_by_basis.items()]
    rows += [("decisions_automated", k, str(v)) for k, v in fig.decisions_automated.items()]
    rows += [("escalation", "escalated", str(fig.escalations)),
             ("escalation", "police_notified", str(fig.police_notifications))]
    rows.append(("backlog", "open_at_end", str(sum(fig.backlog.values()))))
    rows += [("backlog", k, str(v)) for k, v in fig.backlog.items()]
    rows.append(("backlog", "oldest_hours", _num(fig.backlog_oldest_hours)))
    rows += [("misuse", k, str(v)) for k, v in fig.misuse.items()]
    return rows


def _num(value: float | None) -> str:
    return "" if value is None else str(value)


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


def to_html(fig: Figures, organisation: str = "", standalone: bool = False) -> str:
    """The report as a page of the server (its style sheet a file, as the server's CSP
    requires) or, ``standalone``, as one file to publish or send (the style sheet inside)."""
    template = _env().get_template("transparency.html")
    css = STYLE.read_text(encoding="utf-8") if standalone else ""
    return template.render(fig=fig, organisation=organisation, rows=_rows(fig),
                           last_day=(fig.end - timedelta(days=1)).date(),
                           standalone=standalone, inline_css=css)
