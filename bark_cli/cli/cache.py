"""`bark cache`: the segment cache that makes `bark batch` resumable."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .reporting import reporting_errors

app = typer.Typer(
    help="Inspect or clear the cache of rendered segments (and of compiled kernels).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Where the cache is, how many segments it holds, and its size."""
    with reporting_errors():
        from ..batch.cache import SegmentCache

        found = SegmentCache().info()
        if as_json:
            typer.echo(json.dumps({"path": str(found.path), "entries": found.entries, "size_bytes": found.size_bytes}))
        else:
            typer.echo(f"{found.path}\n{found.entries} segment(s), {found.size_bytes / 1e6:.1f} MB")


@app.command()
def clear() -> None:
    """Delete every cached segment and the compiled --half kernels (outputs already written are not touched)."""
    with reporting_errors():
        from ..batch.cache import SegmentCache
        from ..runtime.cpu.native import clear_kernels

        cleared = SegmentCache().clear()
        kernels = clear_kernels()
        typer.echo(
            f"removed {cleared.entries} segment(s), {cleared.size_bytes / 1e6:.1f} MB, and {kernels} compiled kernel(s)",
            err=True,
        )
