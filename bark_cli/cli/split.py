"""`bark split`: show how a text would be segmented, with token counts and estimated seconds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..options import GenerationOptions, RenderOptions, RuntimeOptions
from .inputs import read_text
from .parameters import TextFile, with_options
from .reporting import reporting_errors


def print_segments(segments, as_json: bool) -> None:
    if as_json:
        rows = [
            {"index": i, "text": s.text, "tokens": s.tokens, "seconds": round(s.seconds, 2), "paragraph_end": s.paragraph_end}
            for i, s in enumerate(segments)
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for i, s in enumerate(segments):
        pause = " ¶" if s.paragraph_end else ""
        typer.echo(f"{i + 1:>4}  {s.tokens:>3} tok  {s.seconds:5.1f} s{pause}  {s.text}")
    if sys.stderr.isatty():
        total = sum(s.seconds for s in segments)
        typer.echo(f"{len(segments)} segment(s), about {total:.0f} s of speech", err=True)


@with_options(RuntimeOptions, GenerationOptions, RenderOptions, only=("model", "voice", "segment_seconds"))
def split(
    path: Annotated[
        Optional[Path], typer.Argument(help="UTF-8 text file to segment.", show_default=False)
    ] = None,
    file: TextFile = None,
    options: dict = None,  # --model, --voice (a preset's language picks sentence rules), --segment-seconds
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Print the segments of a text: tokens, estimated seconds, text. Loads only the tokenizer."""
    with reporting_errors():
        from .. import api
        from ..schema import build

        runtime, generation, render = (build(cls, options) for cls in (RuntimeOptions, GenerationOptions, RenderOptions))
        content = read_text(None, path if path is not None else file)
        print_segments(api.plan(content, runtime.model, render.segment_seconds, generation.voice), as_json)
