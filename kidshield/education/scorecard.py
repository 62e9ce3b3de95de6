"""The drill scorecard: one result per check, as a rich table, JSON or a standalone HTML page."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

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


def summary(results: list[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    out: dict[str, int] = {s: counts.get(s, 0) for s in STATUSES}
    scored = out["pass"] + out["fail"] + out["warn"]
    out["score"] = round(100 * out["pass"] / scored) if scored else 0
    return out


def to_json(results: list[CheckResult], server: str) -> str:
    return json.dumps({"server": server, "summary": summary(results),
                       "checks": [asdict(r) for r in results]}, indent=2)


def print_scorecard(results: list[CheckResult], console: Console, server: str) -> None:
    table = Table(title=f"kidshield drill: {server}", show_lines=True, expand=True)
    table.add_column("", no_wrap=True)
    table.add_column("Check", ratio=2)
    table.add_column("Evidence", ratio=3, overflow="fold")
    table.add_column("Fix", ratio=3)
    for r in results:
        fix = r.fix if r.status != "pass" else ""
        table.add_row(f"[{_STYLE[r.status]}]{_MARK[r.status]}[/]", escape(r.title),
                      escape(r.evidence), escape(fix))
    console.print(table)
    s = summary(results)
    console.print(f"[bold]{s['pass']} passed, {s['fail']} failed, {s['warn']} warnings, "
                  f"{s['skip']} skipped[/] (score {s['score']}%)", highlight=False)


def to_html(results: list[CheckResult], server: str, when: datetime) -> str:
    return templates().get_template("scorecard.html").render(
        results=results, server=server, summary=summary(results),
        when=when.strftime("%Y-%m-%d %H:%M %Z"), marks=_MARK)
