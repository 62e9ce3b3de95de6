"""``kidshield media ...``: hash images, manage banks, scan folders. Thin: parse, call, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kidshield.errors import KidshieldError
from kidshield.safety.media.banks import BankService
from kidshield.safety.media.formats import MAX_SOURCE, guess_format, parse_format
from kidshield.safety.media.hashing import DEFAULT_MIN_QUALITY, hash_image

DbOption = Annotated[
    Path, typer.Option("--db", help="kidshield database file (SQLite) or database URL")
]
DEFAULT_DB = Path("kidshield.db")
MaxSideOption = Annotated[
    int | None,
    typer.Option(
        "--max-side",
        help="shrink images larger than this many pixels per side before hashing (faster, "
        "a few bits less exact; default: full resolution)",
    ),
]

media_app = typer.Typer(help="Image hash banks (PDQ): hash, bank, scan.", no_args_is_help=True)
bank_app = typer.Typer(help="Create, import, export and list hash banks.", no_args_is_help=True)
media_app.add_typer(bank_app, name="bank")

err = Console(stderr=True, soft_wrap=True)


# Opens the bank service on a database file or URL (True: load the indexes now); the
# command-line entry (kidshield/cli.py) gives it, so this package never touches storage itself.
BankOpener = Callable[[Path, bool], BankService]
_opener: list[BankOpener] = []


def register(app: typer.Typer, open_banks: BankOpener) -> None:
    _opener[:] = [open_banks]
    app.add_typer(media_app, name="media")


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    raise typer.Exit(2)


def _service(db: Path, *, preload: bool = False) -> BankService:
    return _opener[0](db, preload)


@media_app.command("hash")
def hash_command(
    images: Annotated[list[Path], typer.Argument(help="image files", exists=False)],
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="also print the 7 rotations/flips")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    max_side: MaxSideOption = None,
) -> None:
    """Print the PDQ hash and quality of each image (nothing is stored)."""
    failed = False
    for path in images:
        try:
            hashes = hash_image(path.read_bytes(), dihedral=dihedral, max_side=max_side)
        except (OSError, KidshieldError) as exc:
            err.print(f"{path}: {exc}", highlight=False, markup=False)
            failed = True
            continue
        if as_json:
            row: dict[str, Any] = {
                "path": str(path),
                "hash": hashes.original.hex,
                "quality": hashes.original.quality,
            }
            if dihedral:
                row["variants"] = {v.variant: v.hex for v in hashes.variants}
            typer.echo(json.dumps(row))
            continue
        typer.echo(f"{hashes.original.hex}  {hashes.original.quality:3d}  {path}")
        for v in hashes.variants:
            typer.echo(f"{v.hex}  {v.quality:3d}  {path} ({v.variant})")
    if failed:
        raise typer.Exit(1)


@media_app.command("lookup")
def lookup_command(
    hashes: Annotated[list[str], typer.Argument(help="PDQ hashes (64 hex characters)")],
    quality: Annotated[int | None, typer.Option(help="quality reported by the hasher")] = None,
    caller: Annotated[str, typer.Option(help="name recorded with each match")] = "cli",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Look hashes up in the enabled banks; one JSON result per line. Exit 1 if any matched."""
    try:
        service = _service(db, preload=True)
        results = [service.lookup(h, quality=quality, caller=caller) for h in hashes]
    except KidshieldError as exc:
        _fail(exc)
    for result in results:
        typer.echo(json.dumps(result.to_dict()))
    if any(r.matched for r in results):
        raise typer.Exit(1)


@bank_app.command("create")
def bank_create(
    name: str,
    kind: Annotated[str, typer.Option(help="match or negative")] = "match",
    threshold: Annotated[int, typer.Option(help="max Hamming distance for a match")] = 31,
    description: Annotated[str, typer.Option(help="free text")] = "",
    created_by: Annotated[str, typer.Option("--by", help="who creates the bank")] = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Create a bank."""
    try:
        bank = _service(db).create_bank(
            name, kind=kind, threshold=threshold, description=description, created_by=created_by
        )
    except KidshieldError as exc:
        _fail(exc)
    typer.echo(f"created {bank.kind} bank {bank.name!r} (threshold {bank.threshold})")


@bank_app.command("list")
def bank_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """List banks with their kind, threshold, state and size."""
    try:
        banks = _service(db).banks()
    except KidshieldError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in banks], indent=2))
        return
    table = Table("name", "kind", "threshold", "enabled", "hashes", "description")
    for b in banks:
        table.add_row(
            b.bank.name,
            b.bank.kind,
            str(b.bank.threshold),
            "yes" if b.bank.enabled else "no",
            str(b.hashes),
            b.bank.description,
        )
    Console().print(table)


@bank_app.command("enable")
def bank_enable(name: str, db: DbOption = DEFAULT_DB) -> None:
    """Match against this bank again."""
    try:
        _service(db).set_enabled(name, True)
    except KidshieldError as exc:
        _fail(exc)
    typer.echo(f"bank {name!r} enabled")


@bank_app.command("disable")
def bank_disable(name: str, db: DbOption = DEFAULT_DB) -> None:
    """Stop matching against this bank (its hashes are kept)."""
    try:
        _service(db).set_enabled(name, False)
    except KidshieldError as exc:
        _fail(exc)
    typer.echo(f"bank {name!r} disabled")


@bank_app.command("import")
def bank_import(
    name: str,
    file: Annotated[Path, typer.Argument(help="hash list; '-' reads standard input")],
    fmt: Annotated[str, typer.Option("--format", help="hex, csv, te or auto")] = "auto",
    source: Annotated[str, typer.Option(help="source for rows that name none")] = "",
    added_by: Annotated[str, typer.Option("--by", help="who adds the hashes")] = "",
    strict: Annotated[
        bool, typer.Option("--strict", help="import nothing when any row is rejected")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Import hashes; rejected and duplicate rows are reported by line. Exit 0: every row
    was imported (or was a duplicate); 1: rows were rejected (the others were imported, or
    with --strict none); 2: the file or bank could not be used."""
    try:
        if str(file) == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = file.read_text(encoding="utf-8-sig").splitlines()
        chosen = (
            guess_format(file.name, "\n".join(lines[:5])) if fmt == "auto" else parse_format(fmt)
        )
        report = _service(db).import_list(
            name,
            lines,
            chosen,
            # a file's name is only our default: cut to the limit rather than refuse the list
            source=source or ("stdin" if str(file) == "-" else file.name[:MAX_SOURCE]),
            added_by=added_by,
            strict=strict,
        )
    except (OSError, UnicodeDecodeError) as exc:
        _fail(exc)
    except KidshieldError as exc:
        _fail(exc)
    for problem in report.problems:
        err.print(
            f"{file}:{problem.line}: {problem.kind}: {problem.message}",
            highlight=False,
            markup=False,
        )
    rejected = len(report.malformed)
    if strict and rejected:
        err.print(f"nothing imported into {name!r}: {rejected} rows rejected (--strict)",
                  highlight=False, markup=False)
        raise typer.Exit(1)
    typer.echo(
        f"imported {report.added} hashes into {name!r} ({chosen.value}); "
        f"{len(report.duplicates)} duplicate, {rejected} rejected"
    )
    if rejected:
        raise typer.Exit(1)


@bank_app.command("export")
def bank_export(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="hex, csv or te")] = "csv",
    output: Annotated[Path, typer.Option("--output", "-o", help="file; '-' = stdout")] = Path("-"),
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export a bank's hashes (with metadata for csv)."""
    try:
        lines = _service(db).export(name, parse_format(fmt))
        if str(output) == "-":
            for line in lines:
                sys.stdout.write(line)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                fh.writelines(lines)
    except (OSError, KidshieldError) as exc:
        _fail(exc)


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path


@media_app.command("scan")
def scan(
    folder: Annotated[Path, typer.Argument(help="folder to scan recursively")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file; '-' = stdout")] = Path(
        "-"
    ),
    dihedral: Annotated[bool, typer.Option(help="also match rotations/flips")] = False,
    min_quality: Annotated[int, typer.Option(help="skip hashes below this quality")] = (
        DEFAULT_MIN_QUALITY
    ),
    caller: Annotated[str, typer.Option(help="name recorded with each match")] = "cli-scan",
    max_side: MaxSideOption = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Hash every file under FOLDER and match it against the enabled banks (JSONL output)."""
    if not folder.is_dir():
        _fail(FileNotFoundError(f"{folder} is not a folder"))
    try:
        service = _service(db, preload=True)
    except KidshieldError as exc:
        _fail(exc)
    service.min_quality = min_quality
    files = list(_walk(folder))
    try:
        out = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8")
    except OSError as exc:
        _fail(exc)
    matched = 0
    try:
        with Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("scan", total=len(files))
            for path in files:
                row: dict[str, Any] = {"path": str(path)}
                try:
                    result = service.match_image(
                        path.read_bytes(), dihedral=dihedral, caller=caller, max_side=max_side
                    )
                    row.update(result.to_dict())
                    matched += result.matched
                except (OSError, KidshieldError) as exc:
                    row["error"] = str(exc)
                out.write(json.dumps(row) + "\n")
                progress.advance(task)
    finally:
        if out is not sys.stdout:
            out.close()
    err.print(f"scanned {len(files)} files, {matched} matched", highlight=False)
