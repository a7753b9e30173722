"""The `bark` command: assembles the command groups. Nothing heavy is imported here (no torch), so
``--help`` and shell completion stay instant; commands import the library when they run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import __version__
from .commands import say, split, voices

app = typer.Typer(
    name="bark",
    help="Text to speech with Suno's Bark, from the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bark-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Text to speech with Suno's Bark, from the terminal."""


app.command("say")(say.say)
app.command("split")(split.split)
app.add_typer(voices.app, name="voices")


def main() -> None:
    app()
