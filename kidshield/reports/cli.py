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


def _write(path: Path, text: str, option: str) -> None:
    """Write a result file; a folder that does not exist or cannot be written is an error
    naming the option, not a traceback after the work is done."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"{option} {path}: cannot write it: {exc.strerror or exc}")


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
        # as of now, as the staff and public pages give it: a period that has not ended is not
        # measured at its future end (the backlog's age was hours too old)
        figures = tr.figures_from_store(service.store, *tr.period(first, last),
                                        service.clock.now())
    except KidshieldError as exc:
        _fail(str(exc))
    table = Table("section", "key", "value", title=f"Transparency {first} to {last}")
    for section, key, value in tr._rows(figures):
        table.add_row(section, key, value)
    out.print(table)
    if csv_file is not None:
        _write(csv_file, tr.to_csv(figures), "--csv")
        err.print(f"wrote {csv_file}", highlight=False)
    if html_file is not None:
        _write(html_file, tr.to_html(figures, organisation, standalone=True), "--html")
        err.print(f"wrote {html_file}", highlight=False)


@report_app.command("retention")
def retention_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Delete what is past its retention time (run daily, e.g. from a systemd timer)."""
    from kidshield.reports.retention import RetentionSchedule

    try:
        config, service = _open(config_path, db)
        schedule = RetentionSchedule.from_config(config)
        run = service.run_retention(schedule, dry_run=dry_run)
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
        package = service.package(case_id, by)
    except KidshieldError as exc:
        _fail(str(exc))
    text = escalation.to_xml(package) if fmt == "xml" else escalation.to_json(package)
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write(output, text, "--output")
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
    cases = sorted({r.case_id for r in receipts if r.case_id is not None})
    out.print(f"imported {len(receipts)} matches into {len(cases)} cases", highlight=False)


@report_app.command("verify-chain")
def verify_chain_command(
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="check the signed head with this public key (PEM) instead of "
        "the server's own key")] = None,
    anchor: Annotated[Path | None, typer.Option(
        "--anchor", help="an earlier export (escalation package JSON): the chain must still "
        "hold its records and head")] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Check the evidence chain: links, contents, purges, the audit trail's records and the
    signed head. Exit 1 and say what is wrong if anything is."""
    from kidshield.reports.signing import load_public_key

    try:
        _config, service = _open(config_path, db)
        key = load_public_key(public_key) if public_key is not None else None
        report = service.verify_chain(key)
        anchored = _check_anchor(service, anchor) if anchor is not None else ""
    except KidshieldError as exc:
        _fail(str(exc))
    if report.ok and not anchored:
        if not report.signed and report.records:
            err.print("[bold red]cannot check the signed head:[/] no signing key in the data "
                      "folder; give --public-key FILE", highlight=False)
            raise typer.Exit(1)
        out.print(f"evidence chain ok: {report.records} records ({report.purged} purged by "
                  f"retention, digests kept), signed head {report.head or '-'}",
                  highlight=False)
        return
    where = f" at record {report.first_bad_id}" if report.first_bad_id is not None else ""
    err.print(f"[bold red]evidence chain broken[/]{where}: {report.problem or anchored}",
              highlight=False)
    raise typer.Exit(1)


def _check_anchor(service: ReportService, path: Path) -> str:
    """'' when the chain still contains the head an earlier export recorded, else why not."""
    import json

    try:
        state = json.loads(path.read_text(encoding="utf-8"))["evidence"]["chain"]
        count, head = int(state["records"]), state["head"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KidshieldError(f"{path}: not an escalation package export ({exc})") from None
    records = service.store.evidence()
    if count > len(records):
        return (f"{path.name} recorded {count} records, the chain now has {len(records)}: "
                "records were deleted")
    if count and records[count - 1].record_hash != head:
        return f"record {count} is not the head {path.name} recorded: the chain was rewritten"
    return ""


@report_app.command("keygen")
def keygen_command(config_path: ConfigOption = DEFAULT_CONFIG) -> None:
    """Create the evidence signing key (serve does this on first start); prints its id."""
    from kidshield.config import load_config
    from kidshield.reports.signing import EvidenceSigner

    try:
        config = load_config(config_path)
        path = config.path(config.server.data_dir) / config.reports.signing_key
        existed = path.exists()
        signer = EvidenceSigner.load_or_create(path)
    except KidshieldError as exc:
        _fail(str(exc))
    out.print(f"{'existing' if existed else 'new'} key {signer.key_id} in {path}",
              highlight=False)


@report_app.command("public-key")
def public_key_command(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file")] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Print the public key that checks the evidence chain's signed heads (PEM): give it to
    the authorities you refer cases to."""
    from kidshield.reports.signing import public_pem

    try:
        _config, service = _open(config_path, db)
    except KidshieldError as exc:
        _fail(str(exc))
    if service.signer is None:
        _fail("no evidence signing key yet: start `kidshield serve` once or run "
              "`kidshield report keygen`")
    text = public_pem(service.signer.public)
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write(output, text, "--output")
        err.print(f"wrote {output} (key {service.signer.key_id})", highlight=False)


@report_app.command("statements")
def statements_command(
    start: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD), UTC")],
    end: Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD), included")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file (JSON)")] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Statements of reasons of a period in the EU Transparency Database API's shape: a JSON
    list of request bodies for its multiple-statement endpoint (100 statements each)."""
    import json

    from kidshield.reports import transparency as tr
    from kidshield.reports.statements import batches, statements_between

    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        _fail("--to is before --from")
    try:
        _config, service = _open(config_path, db)
        bodies = batches(statements_between(service.store, *tr.period(first, last)))
    except KidshieldError as exc:
        _fail(str(exc))
    text = json.dumps(bodies, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write(output, text, "--output")
        count = sum(len(b["statements"]) for b in bodies)
        err.print(f"wrote {output}: {count} statements", highlight=False)


flagger_app = typer.Typer(help="Trusted flaggers (DSA Art. 22) and notice sources.",
                          no_args_is_help=True)
report_app.add_typer(flagger_app, name="flagger")


@flagger_app.command("add")
def flagger_add_command(
    name: Annotated[str, typer.Argument(help="the trusted flagger's name")],
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Register a trusted flagger and print its key (shown once: it sends it as the
    X-Flagger-Key header with POST /api/v1/reports)."""
    try:
        _config, service = _open(config_path, db)
        source, key = service.add_trusted_flagger(name, "cli")
    except KidshieldError as exc:
        _fail(str(exc))
    out.print(f"trusted flagger {source.id} ({source.name}) key: {key}", highlight=False)


@flagger_app.command("list")
def flagger_list_command(config_path: ConfigOption = DEFAULT_CONFIG, db: DbOption = None
                         ) -> None:
    """Trusted flaggers and notifiers with their misuse state."""
    try:
        _config, service = _open(config_path, db)
        sources = service.store.sources()
    except KidshieldError as exc:
        _fail(str(exc))
    table = Table("id", "kind", "name", "status", "suspended until")
    for s in sources:
        table.add_row(str(s.id), s.kind, s.name or "(by contact)", s.status,
                      s.suspended_until.date().isoformat() if s.suspended_until else "")
    out.print(table)


@flagger_app.command("reinstate")
def flagger_reinstate_command(
    source_id: Annotated[int, typer.Argument(help="source id (from `flagger list`)")],
    config_path: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """Lift a misuse suspension early."""
    try:
        _config, service = _open(config_path, db)
        service.lift_suspension(source_id, "cli")
    except KidshieldError as exc:
        _fail(str(exc))
    out.print(f"source {source_id} is active again", highlight=False)
