"""`bark book`: an EPUB, Markdown or text file into an M4B with chapters, or a file per chapter."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..options import BookOptions, ClusterOptions, GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from .parameters import Quiet, Verbose, with_options
from .reporting import printable, progress_display, reporting_errors

BOOK = "Book"


def clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def print_chapters(book, as_json: bool) -> None:
    """--list: a line per chapter on stdout (number, words, estimated length, title)."""
    rows = [{"chapter": c.number, "title": c.title, "words": c.words, "seconds": round(c.seconds, 1)} for c in book.chapters]
    if as_json:
        typer.echo(json.dumps({"title": book.title, "author": book.author, "chapters": rows, "empty": book.skipped}, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(printable(f"{row['chapter']:>4}  {row['words']:>7} words  ~{clock(row['seconds'])}  {row['title']}"))
    if sys.stderr.isatty():
        total = sum(c.seconds for c in book.chapters)
        typer.echo(f"{len(rows)} chapter(s), about {clock(total)} of speech", err=True)
    for title in book.skipped:
        typer.echo(printable(f"bark: chapter {title!r} has no text: left out"), err=True)


def _levels(event: dict) -> str:
    if event["acx"]:
        verdict = "meets ACX" if event["passed"] else "fails ACX: " + ", ".join(
            name for name in ("rms", "peak", "noise_floor") if not event[f"{name}_ok"]
        )
        return f"RMS {event['rms']:.1f} dB, peak {event['peak']:.1f} dB, noise floor {event['noise_floor']:.1f} dB: {verdict}"
    if event["lufs"] is None:
        return "no loudness to measure (too short or silent)"
    verdict = "on target" if event["passed"] else f"off target ({event['target']} LUFS)"
    limited = ", held by the true-peak ceiling" if event["limited"] else ""
    return f"{event['lufs']:.1f} LUFS, true peak {event['true_peak']:.1f} dBTP{limited}: {verdict}"


def _logger(log_format: str, quiet: bool, progress):
    write = getattr(progress, "print", None) or (lambda line: print(line, file=sys.stderr, flush=True))

    def log(event: dict) -> None:
        if quiet and event.get("status") not in ("failed", "locked"):
            return
        if log_format == "json":
            write(json.dumps(event, ensure_ascii=False))
            return
        kind = event["event"]
        if kind == "empty":
            line = f"bark: chapter {event['title']!r} has no text: left out"
        elif kind == "chapter":
            detail = f": {event['error']}" if event.get("error") else ""
            if event.get("seconds") is not None:
                detail = f" ({event['seconds']:.1f} s, {event['segments']} segment(s), {event['generated']} generated)"
            gate = event.get("gate") or {}
            detail += f", {gate['retaken']} retaken" if gate.get("retaken") else ""
            if gate.get("flagged_segments"):
                detail += f", flagged: segment(s) {', '.join(str(i + 1) for i in gate['flagged_segments'])}"
            eta = f", about {clock(event['eta_seconds'])} left" if event.get("eta_seconds") is not None else ""
            line = (
                f"bark: chapter {event['chapter']}/{event['of']} {event['title']}: {event['status']}{detail}"
                f" [{event['done']:.0%} of the book{eta}]"
            )
        elif kind == "levels":
            line = f"bark: chapter {event['chapter']} {event['title']}: {_levels(event)}"
        elif kind == "book":
            line = f"bark: {event['output']}: {event['status']}"
            if event["status"] == "locked":
                line += " by another bark book run; nothing done"
        else:  # the summary
            counts = ", ".join(f"{n} {s}" for s, n in event["counts"].items() if n)
            line = (
                f"bark: {event['title']}: {event['chapters']} chapter(s): {counts}; segments: "
                f"{event['segments_generated']} generated, {event['segments_cached']} from cache, "
                f"{event['segments_retaken']} retaken, {event['segments_flagged']} flagged; "
                f"{clock(event['audio_seconds'])} of audio, {event['compute_seconds']:.1f} s computing"
            )
        write(printable(line))

    return log


@with_options(BookOptions, RuntimeOptions, GenerationOptions, RenderOptions, QualityOptions, OutputOptions, ClusterOptions)
def book(
    path: Annotated[Path, typer.Argument(help="The book: .epub, .md/.markdown, or plain text.", show_default=False)],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="The audiobook (.m4b) with a chapter mark per chapter.", show_default=False)
    ] = None,
    split: Annotated[
        Optional[Path],
        typer.Option("--split", help="Instead: one file per chapter in this directory (--format, default wav).", rich_help_panel=BOOK),
    ] = None,
    list_chapters: Annotated[
        bool, typer.Option("--list", help="Print the chapters, words and estimated lengths; load no network.", rich_help_panel=BOOK)
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --list: print JSON.", rich_help_panel=BOOK)] = False,
    work_dir: Annotated[
        Optional[Path],
        typer.Option("--work-dir", help="Where rendered chapters are kept between runs (default: OUTPUT.work, or DIR/.work).", rich_help_panel=BOOK),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Render and assemble everything again, ignoring the work and cache.", rich_help_panel=BOOK)] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json (one line per event, on stderr).", rich_help_panel=BOOK)] = "text",
    options: dict = None,  # --chapters, --lexicon, --loudness ... and every option of say
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Turn a book into an audiobook: one M4B with chapters (-o), or a file per chapter (--split).

    Re-runs resume: finished chapters are kept, and every segment already generated comes from the cache, so a lexicon change generates only the segments whose text it changed. The exit code is 7 if a chapter failed (nothing is assembled then), 8 under --strict if segments remain flagged by the quality gate, 9 if the book cannot be read.
    """
    with reporting_errors(verbose, quiet):
        from .. import api
        from ..errors import BatchItemsFailed, InvalidOptionError
        from ..schema import build

        if log_format not in ("text", "json"):
            raise InvalidOptionError(f"--log-format must be text or json, got {log_format!r}")
        book_options = build(BookOptions, options)
        if list_chapters:
            from dataclasses import replace

            from ..api.book import read
            from ..book.chapters import select

            content = read(path, book_options)
            print_chapters(replace(content, chapters=select(content.chapters, book_options.chapters)), as_json)
            return
        runtime, generation = build(RuntimeOptions, options), build(GenerationOptions, options)
        render, out = build(RenderOptions, options), build(OutputOptions, options)
        quality, cluster = build(QualityOptions, options), build(ClusterOptions, options)
        with progress_display(quiet) as progress:
            log = _logger(log_format, quiet, progress)
            summary = api.book(
                path, output, split=split, work_dir=work_dir, force=force, options=book_options, generation=generation,
                runtime=runtime, render=render, quality=quality, out=out, log=log, progress=progress, cluster=cluster,
            )  # fmt: skip
            if not quiet and not summary.locked:
                log({
                    "event": "summary", "title": summary.title, "chapters": len(summary.chapters), "counts": summary.counts(),
                    "segments_generated": summary.segments_generated, "segments_cached": summary.segments_cached,
                    "segments_retaken": summary.segments_retaken, "segments_flagged": summary.segments_flagged,
                    "audio_seconds": summary.audio_seconds, "compute_seconds": summary.compute_seconds,
                    "assembled": summary.assembled, "output": summary.output,
                })  # fmt: skip
        if summary.failed:
            raise BatchItemsFailed(f"{summary.failed} of {len(summary.chapters)} chapter(s) not rendered; nothing assembled")
        if quality.strict and summary.flagged:
            from ..errors import QualityFlagged

            chapters = ", ".join(str(n) for n in summary.flagged)
            raise QualityFlagged(f"--strict: chapter(s) {chapters} have segments that still fail a quality check")
