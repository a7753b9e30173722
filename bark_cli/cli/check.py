"""`bark check`: the quality gate's audio checks on a file rendered earlier; the report goes to stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .inputs import read_text
from .parameters import Quiet, Verbose
from .reporting import printable, reporting_errors


def _describe(report) -> str:
    m = report.measures
    level = "silent" if m["level_dbfs"] is None else f"{m['level_dbfs']:.1f} dBFS"
    parts = [f"{m['seconds']:.2f} s", level, f"{m['active_share']:.0%} active"]
    parts.append(f"longest silence {m['longest_silence']:.2f} s")
    if m["duration_ratio"] is not None:
        parts.append(f"{m['duration_ratio']:.2f}x the text's estimate")
    if m["clipped_share"]:
        parts.append(f"{m['clipped_share']:.3%} clipped")
    verdict = "flagged: " + ", ".join(report.flags) if report.flags else "ok"
    return ", ".join(parts) + f": {verdict}"


def check(
    file: Annotated[
        Path,
        typer.Argument(help="An audio file, or the JSON manifest of bark say --manifest (checks each segment)."),
    ],
    text: Annotated[
        Optional[Path],
        typer.Option("--text", help="The text file the audio was made from: also checks its duration.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Check audio rendered earlier for silence, gaps, clipping and (with its text) a wrong length.

    The exit code is 8 if anything is flagged. The runaway and loop checks need the semantic tokens, which only a render has: they run on every segment of bark say and bark batch.
    """  # one line per paragraph: typer keeps a paragraph's line breaks after the first one
    with reporting_errors(verbose, quiet):
        from .. import api
        from ..errors import QualityFlagged

        content = read_text(None, text) if text is not None else None
        result = api.check(file, content)
        if as_json:
            typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        elif file.suffix.lower() != ".json":  # one audio file: one line
            typer.echo(printable(f"{result.audio}: {_describe(result.spans[0].report)}"))
        else:
            for span in result.spans:
                where = f"segment {span.index + 1} ({span.start:.2f}-{span.end:.2f} s)"
                typer.echo(printable(f"{where}: {_describe(span.report)}"))
        flagged = result.flagged
        if flagged:
            numbers = ", ".join(str(s.index + 1) for s in flagged)
            what = f"segment(s) {numbers} of {len(result.spans)}" if len(result.spans) > 1 else str(result.audio)
            raise QualityFlagged(f"{what} flagged; listen to them")
