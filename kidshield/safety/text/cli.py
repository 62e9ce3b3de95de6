"""CLI: ``kidshield scan FILE.jsonl`` and ``kidshield eval text FILE``. Thin: parse, call, print."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kidshield.errors import KidshieldError
from kidshield.safety.text.evaluate import (
    NONE_LABEL,
    EvalReport,
    evaluate,
    parse_mapping,
    read_corpus,
)
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.scan import Scanner

eval_app = typer.Typer(help="Measure the safety engines on labelled corpora.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def scan(
    file: Path = typer.Argument(..., help="JSONL: one object per line with a 'text' field."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write results here (JSONL)."),
    redact: bool = typer.Option(
        False, "--redact", help="Include the redacted text when personal information is found."
    ),
    text_field: str = typer.Option("text", "--text-field", help="Name of the text field."),
    language: str | None = typer.Option(None, "--language", help="Language (default: en)."),
    conversations: bool = typer.Option(
        False,
        "--conversations",
        help="Lines are messages of conversations (fields: conversation, sender id, text, "
        "at, recipient, sender_age); results add each conversation's risk so far.",
    ),
) -> None:
    """Assess every message of a JSONL file and write one JSON result per line.

    Results never contain the original text; with --redact they hold a redacted copy when
    personal information was found. Optional fields per line: id, sender, recipient (age band
    or age), language.
    """
    if not file.is_file():
        raise _fail(f"{file}: file not found")
    console = Console(stderr=True)
    total = _count_lines(file)
    levels: Counter[str] = Counter()
    risks: Counter[str] = Counter()
    signposted: Counter[str] = Counter()  # helplines shown without a finding
    errors = 0
    scanner = Scanner(
        text_field=text_field, redact=redact, language=language, conversations=conversations
    )
    sink: TextIO = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    try:
        with (
            file.open("rb") as handle,
            Progress(
                TextColumn("scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=out is None,
            ) as progress,
        ):
            task = progress.add_task("scan", total=total)
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:  # per line: one line in another encoding must not end the scan
                    # a BOM (Windows Notepad) starts the first line
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                    result = scanner.line(text, number)
                except UnicodeDecodeError:
                    result = {"line": number, "error": "not UTF-8 text"}
                if "error" in result:
                    errors += 1
                else:
                    levels[result["level"]] += 1
                    risks.update(f["risk"] for f in result["findings"])
                    signposted.update(s["risk"] for s in result.get("signposts", ()))
                sink.write(json.dumps(result, ensure_ascii=False) + "\n")
                progress.advance(task)
    finally:
        if out is not None:
            sink.close()
    table = Table(title=f"{file.name}: {sum(levels.values())} messages, {errors} errors")
    table.add_column("level")
    table.add_column("messages", justify="right")
    for level in RiskLevel:
        table.add_row(level.label, str(levels.get(level.label, 0)))
    for risk in Risk:
        table.add_row(f"  {risk.value}", str(risks.get(risk.value, 0)))
    for risk in Risk:
        if signposted.get(risk.value):
            table.add_row(f"helplines without a finding: {risk.value}",
                          str(signposted[risk.value]))
    console.print(table)
    if errors:
        console.print(f"[yellow]{errors} line(s) could not be assessed; see 'error' in results")


@eval_app.command("text")
def eval_text(
    file: Path | None = typer.Argument(None, help="Labelled corpus (CSV, TSV or JSONL)."),
    text_col: str = typer.Option("text", "--text-col", help="Column (field) with the message."),
    label_col: str = typer.Option("label", "--label-col", help="Column (field) with the label."),
    mapping: list[str] = typer.Option(
        [], "--map", help="Translate a corpus label: LABEL=RISK (RISK may be 'none'). Repeatable."
    ),
    fmt: str | None = typer.Option(None, "--format", help="csv, tsv or jsonl (default: by name)."),
    min_level: str = typer.Option("low", "--min-level", help="Level that counts as flagged."),
    sender: str | None = typer.Option(None, "--sender", help="Age band of all senders."),
    recipient: str | None = typer.Option(None, "--recipient", help="Age band of all readers."),
    segments: str = typer.Option(
        "auto",
        "--segments",
        help="Score 'userN: message' chat segments as conversations: auto (detect), on, off.",
    ),
    loso: bool = typer.Option(
        False, "--loso", help="Leave-one-source-out over training data (--data); needs [train]."
    ),
    data: list[Path] = typer.Option([], "--data", help="Training data folder (with --loso)."),
    source: list[str] = typer.Option([], "--source", help="With --loso: only these sources."),
    whole_engine: bool = typer.Option(
        True,
        "--engine/--model-only",
        help="With --loso: also measure the whole engine (cues, rules, conversation model) "
        "with the model trained without the source, as 'eval text' runs it on that source.",
    ),
    halves: bool = typer.Option(
        False,
        "--halves",
        help="With --loso: also measure the whole engine on the DEV and TEST halves of each "
        "source (a stable hash of the text; see docs/safety.md).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Precision, recall, F1, F0.5, ROC-AUC and PR-AUC per risk, the benign rows flagged, and a
    confusion table, on a labelled corpus; or, with --loso, per training source."""
    if loso:
        _loso(data, source, as_json, whole_engine, halves)
        return
    if file is None:
        raise _fail("give a corpus file, or --loso --data DIR")
    try:
        level = RiskLevel.parse(min_level)
        examples = read_corpus(file, text_col, label_col, parse_mapping(mapping), fmt)
        report = evaluate(
            examples, min_level=level, sender=sender, recipient=recipient, segments=segments
        )
    except (KidshieldError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    print_report(report, Console())


def _loso(
    data: list[Path],
    only: list[str],
    as_json: bool,
    whole_engine: bool,
    halves: bool = False,
) -> None:
    if not data:
        raise _fail("--loso needs --data DIR (the training data folders)")
    from kidshield.safety.text.loso import leave_one_source_out
    from kidshield.safety.text.train import train_settings

    console = Console(stderr=True)
    try:
        results = leave_one_source_out(
            data,
            train_settings(),
            progress=console.log,
            only=only,
            whole_engine=whole_engine,
            halves=halves,
        )
    except KidshieldError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    print_loso(results, Console())


def print_loso(results: dict[str, dict[str, Any]], console: Console) -> None:
    table = Table(title="leave one source out: trained on the others, measured on this one")
    for name in (
        "source",
        "risk",
        "view",
        "support",
        "precision",
        "recall",
        "F1",
        "benign flagged",
        "ROC-AUC",
        "PR-AUC",
    ):
        table.add_column(name, justify="left" if name in ("source", "risk", "view") else "right")
    for source, result in results.items():
        engines = {"engine": result.get("engine", {})}
        for half, report in result.get("engine_halves", {}).items():
            engines[f"engine, {half} half"] = report
        for risk, row in result["risks"].items():
            views = [("model", row, row["benign_fpr"])]
            for name, report in engines.items():
                mine = {r["risk"]: r for r in report.get("risks", [])}.get(risk)
                if mine is not None:
                    benign = max(1, int(report.get("benign", 0)))
                    views.append((name, mine, mine["benign_flagged"] / benign))
            for view, figures, benign_rate in views:
                if not figures["support"] and not figures["fp"]:
                    continue
                table.add_row(
                    source,
                    risk,
                    view,
                    str(figures["support"]),
                    f"{figures['precision']:.3f}" if figures["support"] else "",
                    f"{figures['recall']:.3f}" if figures["support"] else "",
                    f"{figures['f1']:.3f}" if figures["support"] else "",
                    f"{benign_rate:.2%}",
                    "" if figures["roc_auc"] is None else f"{figures['roc_auc']:.3f}",
                    "" if figures["pr_auc"] is None else f"{figures['pr_auc']:.3f}",
                )
        for view, conv in result.get("conversations", {}).items():
            if not isinstance(conv, dict):
                continue
            table.add_row(
                source,
                "grooming",
                f"conversations, {view.replace('_', ' ')}",
                str(conv["support"]),
                f"{conv['precision']:.3f}" if conv["support"] else "",
                f"{conv['recall']:.3f}" if conv["support"] else "",
                f"{conv['f1']:.3f}" if conv["support"] else "",
                f"{conv['benign_fpr']:.2%}",
                "",
                "",
            )
    console.print(table)


train_app = typer.Typer(help="Train the learned safety models.", no_args_is_help=True)


@train_app.command("text")
def train_text(
    data: list[Path] = typer.Option(..., "--data", help="Training data folder. Repeatable."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model to."),
    include_share_alike: bool = typer.Option(
        False,
        "--include-share-alike",
        help="Also train on share-alike sources (left out of the shipped model by default).",
    ),
) -> None:
    """Train the message and conversation models (needs the [train] extra)."""
    from kidshield.safety.text.train import train, train_settings

    console = Console(stderr=True)
    try:
        settings = train_settings(include_share_alike=include_share_alike)
        test = train(data, out, settings, console.log)
    except KidshieldError as exc:
        raise _fail(str(exc)) from None
    where = test.pop("whereabouts", None)
    if where is not None:
        console.log(f"whereabouts head (inner leave-one-writer-out, DEV halves): {where}")
    table = Table(title=f"{out}: figures on the held-out test split")
    for name in (
        "risk",
        "support",
        "precision",
        "recall",
        "F1",
        "benign flagged",
        "ROC-AUC",
        "PR-AUC",
    ):
        table.add_column(name, justify="left" if name == "risk" else "right")
    for risk, row in test.items():
        table.add_row(
            risk,
            str(row.get("support", "")),
            f"{row.get('precision', 0):.3f}",
            f"{row.get('recall', 0):.3f}",
            f"{row.get('f1', 0):.3f}",
            f"{row.get('benign_fpr', 0):.2%}",
            "" if row.get("roc_auc") is None else f"{row['roc_auc']:.3f}",
            "" if row.get("pr_auc") is None else f"{row['pr_auc']:.3f}",
        )
    Console().print(table)


def print_report(report: EvalReport, console: Console) -> None:
    table = Table(title=f"kidshield text safety: {report.total} messages")
    for name in ("risk", "support", "tp", "fp", "fn", "precision", "recall", "F1", "F0.5"):
        table.add_column(name, justify="left" if name == "risk" else "right")
    ranking = Table(title="from the scores (threshold-free), and benign rows flagged per risk")
    for name in ("risk", "ROC-AUC", "PR-AUC", "benign flagged"):
        ranking.add_column(name, justify="left" if name == "risk" else "right")
    for scores in report.risks:
        row = scores.to_dict()
        table.add_row(
            scores.risk.value,
            *(str(row[k]) for k in ("support", "tp", "fp", "fn")),
            *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1", "f0.5")),
        )
        ranking.add_row(
            scores.risk.value,
            *("" if row[k] is None else f"{row[k]:.3f}" for k in ("roc_auc", "pr_auc")),
            str(row["benign_flagged"]),
        )
    console.print(table)
    console.print(ranking)
    if report.benign:
        console.print(
            f"benign messages flagged: {report.flagged_benign}/{report.benign} "
            f"({report.false_positive_rate:.1%})"
        )
    if report.segments:
        console.print(f"chat segments scored as conversations: {report.segments}")
    if report.truncated:
        console.print(
            f"[yellow]{report.truncated} text(s) longer than the engine's limit were cut to it"
        )
    labels = report.labels
    confusion = Table(title="confusion (rows: gold, columns: predicted strongest risk)")
    confusion.add_column("gold \\ predicted", no_wrap=True)
    for label in labels:
        confusion.add_column(_SHORT.get(label, label), justify="right")
    for gold in labels:
        counts = [report.confusion.get((gold, pred), 0) for pred in labels]
        if any(counts):
            confusion.add_row(gold, *(str(n) for n in counts))
    console.print(confusion)


_SHORT = {
    "grooming": "groom",
    "personal_info": "pii",
    "sexual_content": "sexual",
    "sextortion": "sextort",
    "bullying": "bully",
    "self_harm": "selfharm",
    NONE_LABEL: "none",
}


def _eval_group(app: typer.Typer) -> typer.Typer | None:
    for group in app.registered_groups:
        if group.name == "eval" and group.typer_instance is not None:
            return group.typer_instance
    return None


def register(app: typer.Typer) -> None:
    """Add ``scan``, ``train text`` and ``eval text`` to the main CLI (reusing an existing
    ``eval`` group)."""
    app.command("scan")(scan)
    app.add_typer(train_app, name="train")
    existing = _eval_group(app)
    if existing is None:
        app.add_typer(eval_app, name="eval")
    else:
        existing.command("text")(eval_text)
