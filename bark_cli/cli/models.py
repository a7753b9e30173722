"""`bark models`: the downloadable Bark checkpoints and those in the local Hugging Face cache, and fetching
one ahead of time."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .reporting import reporting_errors

app = typer.Typer(
    help="List Bark checkpoints (cached or not), or download one for offline use.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _list(as_json: bool) -> None:
    with reporting_errors():
        from ..runtime.hub import model_rows

        rows = model_rows()
        if as_json:
            data = [
                {"model": r.model, "cached": r.cached is not None, "size_bytes": r.size_bytes,
                 "revision": r.cached and r.cached.revision, "path": r.cached and str(r.cached.path), "about": r.about}
                for r in rows
            ]  # fmt: skip
            typer.echo(json.dumps(data, indent=2))
            return
        for r in rows:
            size = f"{r.size_bytes / 1e9:6.2f} GB" if r.cached else f"~{r.size_bytes / 1e9:5.1f} GB"
            state = f"cached {r.cached.revision[:12]}" if r.cached else "not cached"
            typer.echo(f"{r.model:<28} {size}  {state:<19}  {r.about}".rstrip())


Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.callback(invoke_without_command=True)
def models(ctx: typer.Context, as_json: Json = False) -> None:
    """Bark checkpoints: suno/bark-small and suno/bark (size, cached or not) and any other in the cache."""
    if ctx.invoked_subcommand is None:  # `bark models` is `bark models list`
        _list(as_json)


@app.command("list")
def list_(as_json: Json = False) -> None:
    """The downloadable checkpoints with their sizes, marked cached or not, and any other cached one."""
    _list(as_json)


@app.command()
def download(
    model: Annotated[str, typer.Argument(help="Hub id, e.g. suno/bark-small or suno/bark.")],
) -> None:
    """Fetch a checkpoint into the Hugging Face cache now, for machines that render offline later."""
    with reporting_errors():
        from ..runtime.hub import checkpoint_dir

        typer.echo(str(checkpoint_dir(model)))
