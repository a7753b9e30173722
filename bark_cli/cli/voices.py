"""`bark voices`: list, inspect, import and remove voices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .parameters import complete_saved_voice, complete_voice
from .reporting import reporting_errors

app = typer.Typer(
    help="List, inspect, import and remove voices (alone: list them).",
    context_settings={"help_option_names": ["-h", "--help"]},
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _print_table(voices) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    for column, justify in (("name", "left"), ("language", "left"), ("source", "left"), ("seconds", "right")):
        table.add_column(column, justify=justify)
    for v in voices:
        table.add_row(Text(v.name), v.language or "-", v.source, f"{v.seconds:.2f}")  # a name is never markup
    Console(highlight=False, soft_wrap=True).print(table)


Lang = Annotated[Optional[str], typer.Option("--lang", help="Only voices of this language (en, de, zh, ...).")]


@app.callback(invoke_without_command=True)
def voices(ctx: typer.Context, lang: Lang = None, as_json: Json = False) -> None:
    """List, inspect, import and remove voices; alone, `bark voices` lists them (as `bark voices list`)."""
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        list_(lang, as_json)


@app.command("list")
def list_(lang: Lang = None, as_json: Json = False) -> None:
    """List saved voices and shipped presets: name, language, source, prompt length in seconds."""
    with reporting_errors():
        from ..voices.library import list_voices

        voices = list_voices(lang)
        if as_json:
            typer.echo(json.dumps([v.as_dict() for v in voices], indent=2))
        else:
            _print_table(voices)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Voice name or file.", autocompletion=complete_voice)], as_json: Json = False
) -> None:
    """Show one voice."""
    with reporting_errors():
        from ..voices.library import find_voice_info

        info = find_voice_info(name)
        if as_json:
            typer.echo(json.dumps(info.as_dict(), indent=2))
        else:
            _print_table([info])
            typer.echo(f"path: {info.path}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A Bark voice .npz (or transformers' *_semantic_prompt.npy).")],
    name: Annotated[str, typer.Option("--name", help="Name to save it under (letters, digits, . _ -).")],
    force: Annotated[bool, typer.Option("--force", help="Replace a saved voice of the same name.")] = False,
) -> None:
    """Validate a voice file and keep it as one of your voices (usable as --voice NAME)."""
    with reporting_errors():
        from ..voices.library import import_voice

        typer.echo(str(import_voice(file, name, force)))


@app.command()
def remove(name: Annotated[str, typer.Argument(help="Name of a saved voice.", autocompletion=complete_saved_voice)]) -> None:
    """Remove one of your saved voices."""
    with reporting_errors():
        from ..voices.library import remove_voice

        remove_voice(name)
