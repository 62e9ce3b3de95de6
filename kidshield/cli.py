"""Command line: parse arguments, call the application, print with rich. No logic lives here."""

from __future__ import annotations

import typer

from kidshield import __version__

app = typer.Typer(
    name="kidshield",
    help="Self-hostable child online protection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Self-hostable child online protection."""


@app.command()
def version() -> None:
    """Print the kidshield version."""
    typer.echo(__version__)


from kidshield.safety.text.cli import register as _register_text  # noqa: E402

_register_text(app)


def main() -> None:
    app()
