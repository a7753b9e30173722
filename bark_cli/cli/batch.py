"""`bark batch`: render many texts into a directory, resumably, from a terminal or from cron."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..batch.inputs import BY_CHOICES
from ..options import ClusterOptions, GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from .parameters import Quiet, Verbose, completing, with_options
from .reporting import printable, progress_display, reporting_errors

BATCH = "Batch"
LOG_FORMATS = ("text", "json")
SUBTITLES = ("srt", "vtt")


def _logger(log_format: str, quiet: bool, progress):
    write = getattr(progress, "print", None) or (lambda line: print(line, file=sys.stderr, flush=True))

    def log(event: dict) -> None:
        if quiet and event.get("status") != "failed":
            return
        if log_format == "json":
            write(json.dumps(event, ensure_ascii=False))
            return
        if event["event"] == "summary":
            write(
                f"bark: {event['items']} items: {event['rendered']} rendered, {event['cached']} from cache, "
                f"{event['skipped']} skipped, {event['locked']} locked by another run, {event['failed']} failed; "
                f"segments: {event['segments_generated']} generated, {event['segments_cached']} from cache, "
                f"{event['segments_retaken']} retaken, {event['segments_flagged']} flagged; "
                f"{event['audio_seconds']:.1f} s of audio in {event['compute_seconds']:.1f} s "
                f"(real-time factor {event['real_time_factor']:.2f})"
            )
            return
        detail = f": {event['error']}" if "error" in event else ""
        if "seconds" in event:
            detail = f" ({event['seconds']:.1f} s, {event['segments']} segment(s), {event['generated']} generated"
            detail += f", {event['retaken']} retaken" if event.get("retaken") else ""
            flagged = event.get("flagged_segments")
            detail += f", flagged: segment(s) {', '.join(str(i + 1) for i in flagged)})" if flagged else ")"
        # Names and errors hold the user's text: one line each, whatever they contain.
        write(printable(f"bark: item {event['item']} {event['source']} -> {event['output']} {event['status']}{detail}"))

    return log


@with_options(RuntimeOptions, GenerationOptions, RenderOptions, QualityOptions, OutputOptions, ClusterOptions)
def batch(
    inputs: Annotated[list[str], typer.Argument(help="Text files (a line per item, or --by file), .jsonl files, or - for stdin.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", "-d", help="Directory for the outputs.", rich_help_panel=BATCH)],
    by: Annotated[
        Optional[str],
        typer.Option(
            "--by", help="line (default), file (one item per file) or jsonl (default for .jsonl).",
            rich_help_panel=BATCH, metavar="|".join(BY_CHOICES), autocompletion=completing(BY_CHOICES),
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Render everything again, ignoring outputs and cache.", rich_help_panel=BATCH)] = False,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format", help="text or json (one line per item, on stderr).", rich_help_panel=BATCH,
            metavar="text|json", autocompletion=completing(LOG_FORMATS),
        ),
    ] = "text",
    subtitles: Annotated[
        Optional[str],
        typer.Option(
            "--subtitles", help="Also write srt or vtt subtitles beside each output.", rich_help_panel=BATCH,
            metavar="srt|vtt", autocompletion=completing(SUBTITLES),
        ),
    ] = None,
    manifest: Annotated[
        Optional[Path], typer.Option("--manifest", help="Manifest file (default: OUT_DIR/manifest.jsonl).", rich_help_panel=BATCH)
    ] = None,
    options: dict = None,  # every option of options.py, in its place in --help
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Render every item of INPUTS into --out-dir. Re-runs render only what is missing or changed.

    Each item's segment seeds come from --seed (or the item's own "seed", default 0) and the segment's text, so an edited sentence re-renders alone. The exit code is 7 if any item failed, and 8 under --strict if any item has segments that still fail a quality check.
    """  # one line per paragraph: typer keeps a paragraph's line breaks after the first one
    with reporting_errors(verbose, quiet):
        from .. import api
        from ..errors import BatchItemsFailed, InvalidOptionError
        from ..schema import build

        if by is not None and by not in BY_CHOICES:
            raise InvalidOptionError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
        if log_format not in LOG_FORMATS:
            raise InvalidOptionError(f"--log-format must be text or json, got {log_format!r}")
        if subtitles is not None and subtitles not in SUBTITLES:
            raise InvalidOptionError(f"--subtitles must be srt or vtt, got {subtitles!r}")
        runtime, generation = build(RuntimeOptions, options), build(GenerationOptions, options)
        render, out = build(RenderOptions, options), build(OutputOptions, options)
        quality, cluster = build(QualityOptions, options), build(ClusterOptions, options)
        with progress_display(quiet) as progress:
            log = _logger(log_format, quiet, progress)
            summary = api.batch(
                inputs, out_dir, by=by, force=force, subtitles=subtitles, manifest=manifest, generation=generation,
                runtime=runtime, render=render, quality=quality, out=out, log=log, progress=progress, cluster=cluster,
            )  # fmt: skip
            if not quiet:
                log({"event": "summary", **vars(summary), "real_time_factor": summary.real_time_factor})
        if summary.failed:
            raise BatchItemsFailed(f"{summary.failed} of {summary.items} item(s) failed; see the log lines above")
        if quality.strict and summary.flagged:
            from ..errors import QualityFlagged

            raise QualityFlagged(
                f"--strict: {summary.flagged} item(s) have segments that still fail a quality check; "
                f"see flagged_segments in {manifest or out_dir / 'manifest.jsonl'}"
            )
