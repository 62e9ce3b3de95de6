"""Command line: parse arguments, call the application, print with rich. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from kidshield import __version__
from kidshield.console import err, fail, out
from kidshield.errors import ConfigError, InputError, KidshieldError

if TYPE_CHECKING:
    from rich.table import Table

    from kidshield.config import Config
    from kidshield.safety.media.banks import BankService
    from kidshield.state import StateSource

app = typer.Typer(
    name="kidshield",
    help="Self-hostable child online protection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Create and validate the configuration file.", no_args_is_help=True)
lists_app = typer.Typer(help="Block and allow lists.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(lists_app, name="lists")


DEFAULT_CONFIG = os.environ.get("KIDSHIELD_CONFIG", "kidshield.toml")
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file (env KIDSHIELD_CONFIG).")
]



def _table(*columns: str) -> Table:
    # imported here: a few listings print tables, and every other command (``check`` above
    # all, run by scripts) would pay for importing them
    from rich.table import Table

    return Table(*columns)


@app.callback()
def _root() -> None:
    """Self-hostable child online protection."""


@app.command()
def version() -> None:
    """Print the kidshield version."""
    typer.echo(__version__)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example configuration.")] = Path(
        "kidshield.toml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example configuration with high-privacy defaults."""
    if path.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite it)")
    from importlib import resources

    text = resources.files("kidshield").joinpath("example.toml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out.print(f"Wrote {path}. Next: edit it, then run [bold]kidshield config check {path}[/].")


@config_app.command("check")
def config_check(
    path: Annotated[Path, typer.Argument(help="Configuration file to validate.")] = Path(
        DEFAULT_CONFIG
    ),
) -> None:
    """Validate a configuration file; every problem is shown with its file and line."""
    from kidshield.config import load_config
    from kidshield.runtime import PolicyRuntime

    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, soft_wrap=True, markup=False)
        err.print(f"[bold red]{len(exc.problems)} problem(s)[/] in {path}")
        raise typer.Exit(1) from None
    runtime = PolicyRuntime.build(config)
    warnings = _config_warnings(runtime)
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    from kidshield.lists.builtin import builtin_lists

    builtin = len(builtin_lists(config))
    out.print(
        f"{path}: OK ({len(config.profiles)} profiles, {len(config.clients)} clients, "
        f"{len(config.lists)} lists + {builtin} built-in, "
        f"{len(runtime.loaded.lists.index)} list rules)"
    )


@config_app.command("export")
def config_export(
    config_path: ConfigOption = Path(DEFAULT_CONFIG),
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the file here (default: print it).")] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="Replace the configuration file itself (atomically); running "
                        "servers reload it, and the dashboard's changes are then in it.")] = False,
) -> None:
    """The configuration file with the dashboard's changes written in, comments kept."""
    from kidshield.config import load_config, parse_config
    from kidshield.state import overlay
    from kidshield.storage.db import Database
    from kidshield.storage.state_sql import SqlStateStore

    file = load_config(config_path)
    storage = file.storage_target()
    edits = []
    if isinstance(storage, str) or storage.exists():
        db = Database.open(storage)
        try:
            edits = SqlStateStore(db).edits()
        finally:
            db.close()
    outcome = overlay.effective(file, edits)
    text = overlay.export_text(file, outcome.applied)
    parse_config(text, source=str(config_path), base_dir=file.base_dir)  # never write a bad file
    for edit in outcome.applied:
        err.print(f"{escape(edit.path)} = {escape(edit.value or '(removed)')}  "
                  f"[dim]{escape(overlay.describe(edit))}[/]", highlight=False)
    for ended in outcome.ended:
        if ended.end.status.value in ("superseded", "rejected"):
            err.print(f"[yellow]not taken:[/] {escape(ended.edit.path)} = "
                      f"{escape(ended.edit.value or '(removed)')}: {escape(ended.end.note)}",
                      highlight=False, soft_wrap=True)
    target = config_path if write else out_path
    if target is None:
        typer.echo(text, nl=False)
        return
    _write_atomically(target, text)
    err.print(f"wrote {target} ({len(outcome.applied)} dashboard change(s) in it)")


def _write_atomically(path: Path, text: str) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)  # it may hold a database password
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _config_warnings(runtime: object) -> list[str]:
    from kidshield.runtime import PolicyRuntime

    assert isinstance(runtime, PolicyRuntime)
    config = runtime.config
    from kidshield.lists.loader import stale_warnings

    warnings = list(runtime.loaded.problems) + stale_warnings(runtime.loaded)
    known_services = runtime.catalog.services
    for pid, pc in config.profiles.items():
        named = [*(pc.blocked_services or []), *pc.unblocked_services, *pc.budgets]
        named += [s for sch in pc.schedules for s in sch.services]
        for service in named:
            if service not in known_services:
                line = config.line_of("profiles", pid, needle=service)
                where = f"{config.source}:{line}" if line else config.source
                warnings.append(
                    f"{where} profiles.{pid}: unknown service {service!r} "
                    f"(see 'kidshield services')"
                )
    warnings += category_warnings(runtime, datetime.now(UTC))
    for name, report in runtime.loaded.reports.items():
        if report.errors:
            warnings.append(f"list {name}: {report.summary()}")
            warnings.extend(f"  {s}" for s in report.samples)
    warnings.extend(_stale_helplines(runtime))
    return warnings


def category_warnings(runtime: object, now: datetime) -> list[str]:
    """One warning per blocked category that no list provides, pointing at where the profile
    asks for it (its own setting, else the profile)."""
    from kidshield.runtime import PolicyRuntime

    assert isinstance(runtime, PolicyRuntime)
    config = runtime.config
    warnings = []
    hint = "add a [[lists]] block with this category"
    if not config.server.builtin_lists:
        hint += ", or set builtin_lists = true under [server]"
    for gap in runtime.category_gaps(now):
        for pid in gap.profiles:
            if pid not in config.profiles:
                warnings.append(
                    f"{config.source}: devices without a profile block category "
                    f"{gap.category!r}, but no list provides it, so nothing is blocked for it"
                )
                continue
            pc = config.profiles[pid]
            line = None
            if gap.category in (pc.blocked_categories or []):
                line = config.line_of("profiles", pid, "blocked_categories", needle=gap.category)
            elif gap.category in pc.extra_blocked_categories:
                line = config.line_of("profiles", pid, "extra_blocked_categories",
                                      needle=gap.category)
            line = line or config.line_of("profiles", pid)
            where = f"{config.source}:{line}" if line else config.source
            warnings.append(
                f"{where} profiles.{pid}: blocks category {gap.category!r}, but no list "
                f"provides it, so nothing is blocked for it ({hint})"
            )
    return warnings


def _stale_helplines(runtime: object) -> list[str]:
    """Helpline entries not checked against their source for too long (the clock is read
    here, at the edge)."""
    from zoneinfo import ZoneInfo

    from kidshield.policy.helpline_data import stale
    from kidshield.runtime import PolicyRuntime

    assert isinstance(runtime, PolicyRuntime)
    server = runtime.config.server
    today = datetime.now(ZoneInfo(server.timezone)).date()
    own = {entry.id for entry in runtime.config.helplines}
    return stale(runtime.catalog.helplines, today, server.helpline_max_age_months,
                 server.country, own)


@app.command()
def services() -> None:
    """List the services a profile can block or budget, with their ids."""
    from kidshield.policy.catalog import default_catalog

    table = _table("id", "name", "group", "min age", "domains")
    for s in sorted(default_catalog().services.values(), key=lambda s: s.id):
        table.add_row(s.id, s.name, s.group, str(s.min_age or ""), str(len(s.domains)))
    out.print(table)


def _parse_at(text: str | None, tz: object) -> datetime:
    from zoneinfo import ZoneInfo

    assert isinstance(tz, ZoneInfo)
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--at {text!r} is not a date and time like 2026-12-01T21:30"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)  # a wall-clock time in the profile's own zone
    return at.astimezone(UTC)


@app.command()
def check(
    names: Annotated[list[str], typer.Argument(help="Domain names to check, e.g. tiktok.com")],
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile id.")],
    at: Annotated[
        str | None,
        typer.Option(help="When, e.g. 2026-12-01T21:30 (profile's local time unless an "
                          "offset is given). Default: now."),
    ] = None,
    usage: Annotated[
        list[str] | None,
        typer.Option(help="Minutes already used today, e.g. --usage youtube=70 (repeatable)."),
    ] = None,
    use_db: Annotated[
        bool, typer.Option("--state/--no-state",
                           help="Read grants, pauses and usage from the database.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts (a list "
                                          "when more than one name is given).")] = False,
    config_path: ConfigOption = Path(DEFAULT_CONFIG),
) -> None:
    """Would this profile reach NAME, and why? The same answer the DNS server gives."""
    from dataclasses import replace

    from kidshield.catalog_cache import shipped_catalog
    from kidshield.config import load_config
    from kidshield.lists import indexcache
    from kidshield.policy.domains import normalize_name
    from kidshield.policy.model import Query
    from kidshield.policy.state import ProfileState
    from kidshield.runtime import PolicyRuntime

    config = load_config(config_path)
    # the arguments are checked before anything slow (and before a restart)
    queries = [Query(normalize_name(name)) for name in names]
    extra_minutes: dict[str, float] = {}
    for item in usage or []:
        service, sep, value = item.partition("=")
        try:
            extra_minutes[service] = float(value)
        except ValueError:
            raise InputError(f"--usage {item!r}: expected SERVICE=MINUTES") from None
        if not sep:
            raise InputError(f"--usage {item!r}: expected SERVICE=MINUTES")
    _with_hash_seed(indexcache.seed(config))
    source = None
    storage = config.storage_target()
    if use_db and (isinstance(storage, str) or storage.exists()):
        # the same state source the server reads: the dashboard's edits of settings over the
        # file, grants, pauses and today's minutes
        config, source = _stored_state(config, storage, profile, at)
    # the shipped helplines checked once per version of their file, beside the list index
    catalog = shipped_catalog(indexcache.folder(config))
    runtime = PolicyRuntime.build(config, catalog, loaded=indexcache.load_lists_cached(config))
    for item in usage or []:
        service = item.partition("=")[0]
        if service not in runtime.catalog.services:
            # minutes for an id the engine never looks up would change nothing, silently
            raise InputError(f"--usage {item!r}: unknown service {service!r} "
                             f"(see 'kidshield services')")
    prof = runtime.profile(profile)
    now = _parse_at(at, prof.tz)
    state = ProfileState() if source is None else source.for_profile(prof, now)
    if extra_minutes:
        state = replace(state, usage_minutes={**state.usage_minutes, **extra_minutes})
    decisions = [(q, runtime.engine.decide(q, prof, now, state)) for q in queries]
    if as_json:
        payloads = [{"name": q.name, "profile": prof.id, "at": now.isoformat(),
                     **decision.to_dict()} for q, decision in decisions]
        typer.echo(json.dumps(payloads[0] if len(payloads) == 1 else payloads, indent=2))
        return
    for query, decision in decisions:
        _print_decision(query.name, prof, now, decision)


def _stored_state(config: Config, storage: str | Path, profile: str,
                  at: str | None) -> tuple[Config, StateSource]:
    """The configuration with the dashboard's edits over the file, and the grants, pauses and
    minutes used, as the server reads them. A database the server keeps is read as it is (no
    migration step, which costs more than the check); one that cannot be read that way goes
    through the full open, which migrates it or says clearly what is wrong."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from kidshield.clock import FixedClock
    from kidshield.state import StateSource, overlay
    from kidshield.storage.db import Database
    from kidshield.storage.state_sql import SqlStateStore

    for migrate in (False, True):
        db = Database.open(storage, migrate=migrate)
        try:
            store = SqlStateStore(db)
            effective = overlay.effective(config, store.edits()).config
            chosen = effective.profiles.get(profile)
            zone = ZoneInfo((chosen.timezone if chosen else None) or effective.server.timezone)
            source = StateSource(store, FixedClock(_parse_at(at, zone)))
            source.load()
            return effective, source
        except SQLAlchemyError:
            if migrate:
                raise
        finally:
            db.close()
    raise AssertionError("unreachable")  # pragma: no cover


def _with_hash_seed(seed: str | None) -> None:
    """Run on with ``seed`` as the string hash seed, so the saved list index can be mapped
    (lists/indexcache.py): the installed command restarts itself with it (usually at once, in
    kidshield/launch.py; here on the first run, when the seed was just made). Called
    in-process (tests, other code) it does nothing and the lists are parsed as usual."""
    if seed is None or os.environ.get("PYTHONHASHSEED") == seed or not ENTRY_POINT:
        return
    from kidshield.launch import restart_with_seed

    restart_with_seed(seed)


def _print_decision(name: str, prof: object, now: datetime, decision: object) -> None:
    from kidshield.policy.model import Profile
    from kidshield.policy.reason import Decision

    assert isinstance(prof, Profile) and isinstance(decision, Decision)
    colour = {"allow": "green", "block": "red", "rewrite": "yellow"}[decision.action.value]
    local = now.astimezone(prof.tz)
    out.print(f"[bold]{name}[/] for [bold]{prof.name}[/] ({decision.band}) at "
              f"{local:%a %Y-%m-%d %H:%M %Z}", highlight=False)
    out.print(f"  decision: [bold {colour}]{decision.action.value}[/]"
              + (f" → {decision.target}" if decision.target else ""), highlight=False)
    out.print(f"  reason:   {decision.reason.value}", highlight=False)
    if decision.rule:
        out.print(f"  rule:     {decision.rule}", highlight=False)
    if decision.source:
        out.print(f"  source:   {decision.source}", highlight=False)
    for key in ("category", "service"):
        value = getattr(decision, key)
        if value:
            out.print(f"  {key}: {' ' * (8 - len(key))}{value}", highlight=False)
    if decision.valid_until:
        out.print(f"  until:    {decision.valid_until.astimezone(prof.tz):%a %Y-%m-%d %H:%M %Z}",
                  highlight=False)
    else:
        out.print("  until:    the configuration or the profile's state changes", highlight=False)


@lists_app.command("update")
def lists_update(
    config_path: ConfigOption = Path(DEFAULT_CONFIG),
    due_only: Annotated[bool, typer.Option(
        "--due-only", help="Only lists not fetched within their update_hours.")] = False,
) -> None:
    """Download URL list sources that changed (ETag/If-Modified-Since), check, swap in."""
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from kidshield.config import load_config
    from kidshield.lists.sources import lists_due, update_list
    from kidshield.state import overlay
    from kidshield.storage.db import Database
    from kidshield.storage.sql import SqlListMetaStore
    from kidshield.storage.state_sql import SqlStateStore

    config = load_config(config_path)
    db = Database.open(config.storage_target())
    # the lists in force: the file's and those added in the dashboard (as serve loads them)
    config = overlay.effective(config, SqlStateStore(db).edits()).config
    store = SqlListMetaStore(db)
    failed = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  console=err, transient=True) as progress, httpx.Client(
        follow_redirects=True, timeout=httpx.Timeout(60.0, connect=15.0)
    ) as client:
        tasks: dict[str, TaskID] = {}

        def report(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done, total=total)

        now = datetime.now(UTC)
        chosen = lists_due(config, store, now) if due_only else [
            lst for lst in config.lists if lst.enabled]
        results = [update_list(config, lst, store, client, now, report) for lst in chosen]
    db.close()

    table = _table("list", "status", "details")
    for r in results:
        style = {"ok": "green", "not_modified": "green", "local": "cyan"}.get(r.status, "red")
        table.add_row(r.name, f"[{style}]{r.status}[/]", r.message)
        failed += r.status in ("failed", "rejected")
        if r.report is not None:
            for sample in r.report.samples:
                table.add_row("", "", f"[dim]{sample}[/]")
    out.print(table)
    if failed:
        raise typer.Exit(1)


@lists_app.command("show")
def lists_show(config_path: ConfigOption = Path(DEFAULT_CONFIG)) -> None:
    """Load every list and show what it holds, including bad lines with file:line."""
    from kidshield.runtime import PolicyRuntime

    runtime = PolicyRuntime.from_file(config_path)

    table = _table("list", "format", "rules", "details")
    for name, report in runtime.loaded.reports.items():
        table.add_row(name, report.format, str(report.rules + report.allow_rules),
                      report.summary())
        for sample in report.samples:
            table.add_row("", "", "", f"[dim]{sample}[/]")
    out.print(table)
    from kidshield.lists.loader import stale_warnings

    for problem in runtime.loaded.problems + stale_warnings(runtime.loaded):
        err.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False)


@app.command()
def serve(
    config_path: ConfigOption = Path(DEFAULT_CONFIG),
    web: Annotated[bool, typer.Option("--web/--no-web", help="Also run the web server.")] = True,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="DNS processes of this instance, sharing its addresses, its "
        "policy, its log and its metrics (docs/deploying.md).")] = 1,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the protective DNS resolver (and the web server beside it)."""
    if not config_path.exists():
        fail(f"{config_path} not found: create one with 'kidshield init {config_path}'")
    from kidshield import serving

    serving.restart(config_path, web, workers, verbose)  # a process without typer and rich


def _open_banks(db: Path, preload: bool) -> BankService:
    """The hash banks on a database file or URL, for `kidshield media ...`."""
    from kidshield.clock import SystemClock
    from kidshield.safety.media.banks import BankService
    from kidshield.storage.db import Database
    from kidshield.storage.media_sql import SqlMediaBankStore

    return BankService(SqlMediaBankStore(Database.open(db)), SystemClock(), preload=preload,
                       index_background=False)


def _register_features() -> None:
    """Feature command groups. ``kidshield serve`` skips them: their imports (numpy, Pillow,
    ...) would sit in the resolver's memory for nothing; ``check`` too, to answer quickly."""
    if sys.argv[1:2] in (["serve"], ["check"]):
        return
    from kidshield.education.cli import register as register_education
    from kidshield.fleet.cli import register as register_fleet
    from kidshield.helplines_cli import register as register_helplines
    from kidshield.reports.cli import register as register_reports
    from kidshield.safety.media.cli import register as register_media
    from kidshield.safety.text.cli import register as register_text

    register_media(app, _open_banks)
    register_text(app)
    register_reports(app)
    register_education(app)
    register_helplines(app)
    register_fleet(app)


_register_features()


ENTRY_POINT = False  # set by kidshield/launch.py: this process is the installed command


def main() -> None:
    try:
        app()
    except KidshieldError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
