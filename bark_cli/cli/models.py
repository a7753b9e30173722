"""`bark models`: the Bark checkpoints in the local Hugging Face cache, and fetching one ahead of time."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .reporting import reporting_errors

app = typer.Typer(
    help="List cached Bark checkpoints, or download one for offline use.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def models(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List the Bark checkpoints in the local Hugging Face cache: id, size, revision."""
    if ctx.invoked_subcommand is not None:
        return
    with reporting_errors():
        from ..runtime.hub import cached_checkpoints

        found = cached_checkpoints()
        if as_json:
            rows = [
                {"model": c.model, "revision": c.revision, "size_bytes": c.size_bytes, "path": str(c.path)} for c in found
            ]
            typer.echo(json.dumps(rows, indent=2))
            return
        if not found:
            typer.echo("no Bark checkpoints in the Hugging Face cache; `bark models download suno/bark-small`", err=True)
        for c in found:
            typer.echo(f"{c.model:<28} {c.size_bytes / 1e9:6.2f} GB  {c.revision[:12]}")


@app.command()
def download(
    model: Annotated[str, typer.Argument(help="Hub id, e.g. suno/bark-small or suno/bark.")],
) -> None:
    """Fetch a checkpoint into the Hugging Face cache now, for machines that render offline later."""
    with reporting_errors():
        from ..runtime.hub import checkpoint_dir

        typer.echo(str(checkpoint_dir(model)))
