"""``kidshield report ...``: transparency figures, retention, escalation export, evidence chain.
Thin: parse, call the service, print."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kidshield.clock import SystemClock
from kidshield.errors import KidshieldError

if TYPE_CHECKING:
    from kidshield.config import Config
    from kidshield.reports.service import ReportService

report_app = typer.Typer(
    help="Reports and cases: transparency, retention, escalation export, evidence chain.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="Configuration file (env KIDSHIELD_CONFIG)."),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database file or URL (default: [server] storage of the config)"),
]
DEFAULT_CONFIG = Path(os.environ.get("KIDSHIELD_CONFIG", "kidshield.toml"))


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def _open(config_path: Path, db: str | None) -> tuple[Config, ReportService]:
    """(Config, ReportService) for the configured database."""
    from kidshield.config import Config, load_config
    from kidshield.reports.setup import build_service
    from kidshield.storage.db import Database

    if config_path.exists():
        config = load_config(config_path)
    elif db is None:
        _fail(f"{config_path} not found: give --config FILE or --db FILE")
    else:
        config = Config()
    database = Database.open(config.storage_target(db))
    return config, build_service(config, database, SystemClock())


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {value!r} is not a date like 2026-01-31")


@report_app.command("transparency")
def transparency_command(
    start: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD), UTC")],
    end: Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD), included")],
    csv_file: Annotated[Path | None, typer.Option("--csv", help="write CSV here")] = None,
    html_file: Annotated[Path | None, typer.Option("--html", help="write HTML here")] = None,
    organisation: Annotated[str, typer.Option(help="name shown on the HTML report")] = "",
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Transparency figures for a period: reports by type and source, actions, time to first
    action and to decision (median, p90), appeals and reversals, hash matches by bank."""
    from kidshield.reports import transparency as tr

    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        _fail("--to is before --from")
    try:
        _config, service = _open(config_path, db)
        figures = tr.figures_from_store(service.store, *tr.period(first, last))
    except KidshieldError as exc:
        _fail(str(exc))
    table = Table("section", "key", "value", title=f"Transparency {first} to {last}")
    for section, key, value in tr._rows(figures):
        table.add_row(section, key, value)
    out.print(table)
    if csv_file is not None:
        csv_file.write_text(tr.to_csv(figures), encoding="utf-8")
        err.print(f"wrote {csv_file}", highlight=False)
    if html_file is not None:
        html_file.write_text(tr.to_html(figures, organisation), encoding="utf-8")
        err.print(f"wrote {html_file}", highlight=False)


@report_app.command("retention")
def retention_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Delete what is past its retention time (run daily, e.g. from a systemd timer)."""
    from kidshield.reports.retention import RetentionSchedule, run_retention

    try:
        config, service = _open(config_path, db)
        schedule = RetentionSchedule.from_config(config)
        run = run_retention(service.store, schedule, service.clock.now(), dry_run=dry_run)
    except KidshieldError as exc:
        _fail(str(exc))
    table = Table("kind", "keep (days)", "would delete" if dry_run else "deleted")
    for kind, count in run.deleted.items():
        days = schedule.days(kind)
        table.add_row(kind, str(days) if days > 0 else "forever", str(count))
    out.print(table)


@report_app.command("export")
def export_command(
    case_id: Annotated[int, typer.Argument(help="case number")],
    fmt: Annotated[str, typer.Option("--format", help="json or xml")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file")] = None,
    by: Annotated[str, typer.Option("--by", help="who exports (audit trail)")] = "cli",
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Print a case's escalation package (the view is recorded in the case's audit trail)."""
    from kidshield.reports import escalation

    if fmt not in ("json", "xml"):
        _fail(f"--format {fmt!r}: use json or xml")
    try:
        _config, service = _open(config_path, db)
        view = service.view(case_id, by)
        package = escalation.build_package(view, service.clock.now())
    except KidshieldError as exc:
        _fail(str(exc))
    text = escalation.to_xml(package) if fmt == "xml" else escalation.to_json(package)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)


@report_app.command("import-matches")
def import_matches_command(
    limit: Annotated[int, typer.Option(help="at most this many per run")] = 1000,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Turn new hash-bank matches into cases (run after scans, or from a timer)."""
    from kidshield.reports.intake import import_new_media_matches

    try:
        config, service = _open(config_path, db)
        receipts = import_new_media_matches(service, config, limit)
    except KidshieldError as exc:
        _fail(str(exc))
    cases = sorted({r.case_id for r in receipts})
    out.print(f"imported {len(receipts)} matches into {len(cases)} cases", highlight=False)


@report_app.command("verify-chain")
def verify_chain_command(
    config_path: ConfigOption = DEFAULT_CONFIG, db: DbOption = None
) -> None:
    """Check the evidence hash chain; exit 1 and name the first modified record if broken."""

    try:
        _config, service = _open(config_path, db)
        report = service.verify_chain()
    except KidshieldError as exc:
        _fail(str(exc))
    if report.ok:
        out.print(f"evidence chain ok: {report.records} records ({report.purged} purged by "
                  "retention, digests kept)", highlight=False)
        return
    err.print(f"[bold red]evidence chain broken[/] at record {report.first_bad_id}: "
              f"{report.problem}", highlight=False)
    raise typer.Exit(1)
