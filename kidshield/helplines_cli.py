"""``kidshield helplines``: the helplines a child would be shown, in the order they are shown,
with each entry's id (to correct it in the configuration), source and the date it was checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kidshield.console import out
from kidshield.errors import InputError


def helplines(
    country: Annotated[str | None, typer.Option(
        "--country", help="ISO country code (default: [server] country of the config).")] = None,
    topic: Annotated[str, typer.Option(help="Why they are shown: general, self_harm, "
                                       "sextortion, grooming, bullying.")] = "general",
    age: Annotated[int | None, typer.Option(help="The child's age in years.")] = None,
    config_path: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Include this configuration's own [[helplines]].")] = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="Every entry of every country, in file order.")] = False,
) -> None:
    """Which helplines a child sees, the first one first (as on the block page)."""
    from kidshield.config import load_config, own_helplines
    from kidshield.policy.catalog import default_catalog
    from kidshield.policy.helpline_data import check_country
    from kidshield.policy.helplines import WORLDWIDE, Topic, choose

    lines = default_catalog().helplines
    where = country or ""
    if config_path is not None:
        config = load_config(config_path)
        lines = default_catalog().with_helplines(own_helplines(config)).helplines
        where = where or config.server.country
    try:
        where = check_country(where) if where else WORLDWIDE
        chosen_topic = Topic(topic)
    except ValueError as exc:
        raise InputError(f"--country/--topic: {exc}") from None
    if age is not None and not 0 <= age <= 130:
        raise InputError(f"--age {age}: not a plausible age")
    shown = lines if show_all else choose(lines, where, chosen_topic, age=age)
    table = Table("id", "kind", "name", "phone", "text", "hours", "checked")
    for line in shown:
        table.add_row(line.id, line.kind.value, line.name, line.phone or "", line.text or "",
                      line.hours or "", line.checked or "[red]never[/]")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("helplines")(helplines)
