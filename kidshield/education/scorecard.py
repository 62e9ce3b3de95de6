"""The drill scorecard: one result per check, as a rich table, JSON or a standalone HTML page.

The score weighs each check by the harm a gap allows (``CheckResult.weight``): passed weight
over all weight, a warning counting half. A skipped check proves nothing, so its weight counts
as not passed: a drill with checks skipped never shows 100%, and says what was skipped. A
critical gap (a failed check of weight 8 or more: the device does not use kidshield, harmful
categories are open, or a bypass any child can use is open) caps the score at 50%: the other
protections no longer hold for a child who takes that route.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kidshield.education.drill import STATUSES, CheckResult

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
_STYLE = {"pass": "bold green", "fail": "bold red", "warn": "bold yellow", "skip": "dim"}
_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    # pages written to files (standalone=True) carry the style sheet inline
    env.globals["stylesheet"] = (STATIC / "learn.css").read_text(encoding="utf-8")
    return env


CRITICAL = 8
CRITICAL_CAP = 50


def score(results: list[CheckResult]) -> int:
    """0-100: weighted passes over all weight (skipped checks count as not proven), at most
    50 with a critical gap. Rounded down, and never 100 unless every check ran and passed."""
    total = sum(r.weight for r in results)
    if not total:
        return 0
    got: float = sum(r.weight for r in results if r.status == "pass")
    got += sum(r.weight for r in results if r.status == "warn") / 2
    value = int(100 * got / total)
    if any(r.status == "fail" and r.weight >= CRITICAL for r in results):
        value = min(value, CRITICAL_CAP)
    return 99 if value == 100 and got < total else value


def critical_gaps(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == "fail" and r.weight >= CRITICAL]


def tested_as(results: list[CheckResult]) -> str | None:
    """The profile this device's own queries were matched to (the this-device check)."""
    return next((r.profile for r in results if r.profile), None)


def summary(results: list[CheckResult]) -> dict[str, Any]:
    counts = Counter(r.status for r in results)
    out: dict[str, Any] = {s: counts.get(s, 0) for s in STATUSES}
    out["score"] = score(results)
    out["skipped_weight"] = sum(r.weight for r in results if r.status == "skip")
    out["complete"] = out["skip"] == 0
    out["critical"] = [r.id for r in critical_gaps(results)]
    out["profile"] = tested_as(results)
    return out


def summary_line(results: list[CheckResult]) -> str:
    s = summary(results)
    text = (f"{s['pass']} passed, {s['fail']} failed, {s['warn']} warnings, {s['skip']} "
            f"skipped (score {s['score']}%")
    if s["skip"]:
        text += f"; the {s['skip']} skipped checks count as not proven"
    if s["critical"]:
        text += f"; at most {CRITICAL_CAP}% with a critical gap: {', '.join(s['critical'])}"
    text += ")"
    if s["profile"]:
        text += f". This device was matched to profile {s['profile']}."
    return text


def to_json(results: list[CheckResult], server: str) -> str:
    return json.dumps({"server": server, "summary": summary(results),
                       "checks": [asdict(r) for r in results]}, indent=2)


def print_scorecard(results: list[CheckResult], console: Console, server: str) -> None:
    table = Table(title=f"kidshield drill: {server}", show_lines=True, expand=True)
    table.add_column("", no_wrap=True)
    table.add_column("Check", ratio=2)
    table.add_column("Weight", justify="right")
    table.add_column("Evidence", ratio=3, overflow="fold")
    table.add_column("Fix", ratio=3)
    for r in results:
        fix = r.fix if r.status != "pass" else ""
        table.add_row(f"[{_STYLE[r.status]}]{_MARK[r.status]}[/]", escape(r.title),
                      str(r.weight), escape(r.evidence), escape(fix))
    console.print(table)
    console.print(f"[bold]{escape(summary_line(results))}[/]", highlight=False)


def to_html(results: list[CheckResult], server: str, when: datetime) -> str:
    return templates().get_template("scorecard.html").render(
        results=results, server=server, summary=summary(results),
        line=summary_line(results), when=when.strftime("%Y-%m-%d %H:%M %Z"), marks=_MARK)
