"""``kidshield export rpz`` and ``export unbound``: the policy for other resolvers."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kidshield.console import err, out
from kidshield.errors import InputError, KidshieldError

if TYPE_CHECKING:
    from kidshield.config import Config

export_app = typer.Typer(help="Hand the policy to other resolvers.", no_args_is_help=True)

# Options both exports take, with one wording.
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Configuration file.")]
DEFAULT_CONFIG = Path(os.environ.get("KIDSHIELD_CONFIG", "kidshield.toml"))
AtOption = Annotated[str | None, typer.Option(help="The policy at this time (UTC unless an "
                                              "offset is given). Default: now.")]
BlockV4Option = Annotated[str | None, typer.Option(
    help="The block page's address as the engine's clients reach it "
         "(default: dns.block_page_ipv4).")]
BlockV6Option = Annotated[str | None, typer.Option(help="The same for IPv6.")]


def _at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--at {text!r} is not a date and time like 2026-12-01T21:30") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _hostport(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    from kidshield.config import parse_hostport

    try:
        return parse_hostport(text, 53)
    except ValueError as exc:
        raise InputError(f"--primary: {exc}") from None


def _in_force(config: Config) -> Config:
    """The configuration as the server applies it: the dashboard's edits over the file, when
    the database exists (the same overlay ``serve`` and ``check`` read)."""
    from kidshield.state import overlay
    from kidshield.storage.db import Database
    from kidshield.storage.state_sql import SqlStateStore

    storage = config.storage_target()
    if not isinstance(storage, str) and not storage.exists():
        return config
    db = Database.open(storage)
    try:
        return overlay.effective(config, SqlStateStore(db).edits()).config
    finally:
        db.close()


@export_app.command("rpz")
def export_rpz(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the zones and "
                                          "engine configurations (created if missing).")],
    config_path: ConfigOption = DEFAULT_CONFIG,
    at: AtOption = None,
    block_ipv4: BlockV4Option = None,
    block_ipv6: BlockV6Option = None,
    primary: Annotated[str | None, typer.Option(
        help="HOST:PORT of 'kidshield serve' transfers ([fleet] listen): engines pull the "
             "zones from there and are notified of changes.")] = None,
    block_host: Annotated[str | None, typer.Option(
        help="Compact zones: blocked names become a CNAME to this name, which your DNS must "
             "resolve to the block page (about half the engine's memory; docs/fleet.md).")
    ] = None,
    zone_dir: Annotated[Path | None, typer.Option(
        help="Where the engines will read the zone files (default: --out).")] = None,
) -> None:
    """Write RPZ zones (one per category and per profile) and configurations for Unbound,
    PowerDNS Recursor, BIND and Knot Resolver that map client networks to profiles."""
    import time

    from kidshield.config import load_config
    from kidshield.fleet.export import policy_for, write_export
    from kidshield.fleet.zones import block_answer

    started = time.perf_counter()
    config = _in_force(load_config(config_path))
    _block_address("--block-ipv4", block_ipv4, 4)
    _block_address("--block-ipv6", block_ipv6, 6)
    host = None
    if block_host is not None:
        from kidshield.policy.domains import normalize_name

        host = normalize_name(block_host)
    policy = policy_for(config, _at(at), block_answer(config, block_ipv4, block_ipv6),
                        block_host=host)
    try:
        export = write_export(policy, out_dir, _hostport(primary), zone_dir)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc
    table = Table("zone", "applies to", "rules", "serial")
    for zone in export.zones:
        table.add_row(zone.origin, ", ".join(zone.profiles) or "everyone", str(zone.rules),
                      str(zone.serial))
    out.print(table)
    until = policy.valid_until
    out.print(f"Wrote {len(export.zones)} zones and the engine configurations to {out_dir} "
              f"in {time.perf_counter() - started:.1f} s.", highlight=False)
    out.print("Valid until " + (until.isoformat(timespec="minutes") if until else
                                "the configuration or the lists change")
              + ": export again then (or let 'kidshield serve' do it, docs/fleet.md).",
              highlight=False)
    for note in policy.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def _unwritable(out_dir: Path, exc: OSError) -> KidshieldError:
    """--out names a file, a folder kidshield may not write or a full disk: say which,
    where it was a traceback."""
    if out_dir.exists() and not out_dir.is_dir():
        return KidshieldError(f"--out {out_dir}: that is a file; name a folder for the export")
    where = exc.filename or out_dir
    return KidshieldError(f"--out {out_dir}: cannot write the export ({where}: "
                          f"{exc.strerror or exc})")


def _block_address(label: str, value: str | None, version: int) -> None:
    import ipaddress

    if value is not None:
        try:
            if ipaddress.ip_address(value).version != version:
                raise ValueError
        except ValueError:
            raise InputError(f"{label} {value!r} is not an IPv{version} address") from None


@export_app.command("unbound")
def export_unbound(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the policy file, "
                                          "the module and unbound.conf (created if missing).")],
    config_path: ConfigOption = DEFAULT_CONFIG,
    at: AtOption = None,
    block_ipv4: BlockV4Option = None,
    block_ipv6: BlockV6Option = None,
    policy_dir: Annotated[Path | None, typer.Option(
        help="Where Unbound will read the files (default: --out).")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep running: export again when valid_until passes and when the "
                        "configuration, the dashboard's edits or a list file change.")] = False,
    interval: Annotated[float, typer.Option(
        min=0.1, help="With --watch: seconds between looks at the inputs.")] = 30.0,
) -> None:
    """Write kidshield's policy for Unbound's Python module (python3-unbound): a mapped
    policy file, the module and an include for unbound.conf. A million listed names load in
    a fraction of a second and tens of megabytes (RPZ: a minute and a gigabyte)."""
    from kidshield.config import load_config

    _block_address("--block-ipv4", block_ipv4, 4)
    _block_address("--block-ipv6", block_ipv6, 6)
    if watch and at is not None:
        raise InputError("--watch exports the policy of each moment: leave out --at")

    def once(config: Config, now: datetime) -> datetime | None:
        return _export_unbound(config, now, out_dir, block_ipv4, block_ipv6, policy_dir)

    if not watch:
        once(_in_force(load_config(config_path)), _at(at))
        return
    _watch(config_path, once, interval)


def _export_unbound(config: Config, now: datetime, out_dir: Path, block_ipv4: str | None,
                    block_ipv6: str | None, policy_dir: Path | None) -> datetime | None:
    """One export, reported; its valid_until."""
    import time

    from kidshield.fleet.export import policy_for
    from kidshield.fleet.unbound_export import (
        CONFIG_FILE,
        SYSTEMD_FILE,
        resolve_safe_hosts,
        safe_targets,
        write_unbound_export,
    )
    from kidshield.fleet.zones import block_answer

    started = time.perf_counter()
    policy = policy_for(config, now, block_answer(config, block_ipv4, block_ipv6))
    hosts, unresolved = resolve_safe_hosts(config.dns.upstreams, safe_targets(policy),
                                           config.dns.upstream_timeout)
    policy.notes.extend(unresolved)
    try:
        export = write_unbound_export(policy, out_dir, hosts, policy_dir)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc
    table = Table("zone", "applies to", "rules")
    for zone in policy.zones:
        table.add_row(zone.label, ", ".join(zone.profiles) or "everyone",
                      "every name" if zone.everything else str(len(zone)))
    out.print(table)
    out.print(f"Wrote {export.rules:,} rules ({export.bytes / 1e6:.1f} MB) for Unbound's "
              f"Python module to {out_dir} in {time.perf_counter() - started:.1f} s: include "
              f"{out_dir / CONFIG_FILE} in unbound.conf and install {SYSTEMD_FILE} "
              "(docs/fleet.md).", highlight=False)
    until = policy.valid_until
    out.print("Valid until " + (until.isoformat(timespec="minutes") if until else
                                "the configuration or the lists change")
              + ": export again then; the module re-reads the file by itself.",
              highlight=False)
    for note in policy.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    return until


def _inputs(config: Config) -> tuple[str, tuple[tuple[str, int | None], ...]]:
    """What an export depends on besides the clock: the configuration in force (file and
    dashboard edits) and the modification times of the list files it reads."""
    from kidshield.lists.loader import effective_lists
    from kidshield.lists.sources import list_path

    stamps: list[tuple[str, int | None]] = []
    for lst in effective_lists(config):
        path = list_path(config, lst)
        try:
            stamps.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            stamps.append((str(path), None))
    return config.model_dump_json(), tuple(stamps)


def _watch(config_path: Path, once: Callable[[Config, datetime], datetime | None],
           interval: float) -> None:
    """Export now, then again whenever the inputs change or valid_until passes. A broken
    configuration or a failed export is reported once and the last export stays in place."""
    import time

    from kidshield.config import load_config

    done: object = None  # the inputs of the last export
    until: datetime | None = None
    failed = ""
    while True:
        now = datetime.now(UTC)
        try:
            config = _in_force(load_config(config_path))
            inputs = _inputs(config)
            if inputs != done or (until is not None and now >= until):
                until = once(config, now)
                done = inputs
            failed = ""
        except (KidshieldError, OSError) as exc:
            if str(exc) != failed:
                err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
                err.print("Keeping the last export; trying again when the inputs change.",
                          highlight=False)
            failed = str(exc)
        wait = interval
        if until is not None:
            wait = min(wait, max(0.1, (until - datetime.now(UTC)).total_seconds() + 0.1))
        time.sleep(wait)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
