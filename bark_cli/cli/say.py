"""`bark say`: one text (argument, file or stdin; any length) to one audio file, stdout, or a PCM stream."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..options import GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from .inputs import read_text
from .parameters import Quiet, TextFile, Verbose, with_options
from .reporting import progress_display, reporting_errors, show
from .split import print_segments
from .streams import stdout_closed

OUTPUT = "Output"


@with_options(RuntimeOptions, GenerationOptions, RenderOptions, QualityOptions, OutputOptions)
def say(
    text: Annotated[
        Optional[str],
        typer.Argument(
            help="The text to speak; - or a pipe reads standard input. Bark cues like \\[laughs] and ♪ are kept.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", help="Audio file (.wav .flac .ogg .mp3), or - for a WAV on stdout.",
            show_default=False, rich_help_panel=OUTPUT,
        ),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="Stream 16-bit LE mono PCM at 24 kHz to stdout, segment by segment.", rich_help_panel=OUTPUT),
    ] = False,
    play: Annotated[
        bool,
        typer.Option(
            "--play", help="Play on the default output device, segment by segment (the default with no -o or --raw "
            "on a terminal); with -o, also write the file.", rich_help_panel=OUTPUT,
        ),
    ] = False,
    options: dict = None,  # every option of options.py, here in --help
    file: TextFile = None,
    save_voice: Annotated[
        Optional[Path],
        typer.Option("--save-voice", help="Also save the first segment's prompt as a voice .npz, to reuse exactly.", rich_help_panel=OUTPUT),
    ] = None,
    subtitles: Annotated[
        Optional[Path],
        typer.Option("--subtitles", help="Write one subtitle cue per segment (.srt or .vtt).", rich_help_panel=OUTPUT),
    ] = None,
    manifest: Annotated[
        Optional[Path],
        typer.Option("--manifest", help="Write each segment's text, start, end, seed, voice (JSON).", rich_help_panel=OUTPUT),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the segments that would be rendered; load no network.")
    ] = False,
    no_server: Annotated[
        bool,
        typer.Option(
            "--no-server", help="Render in this process even when a `bark serve` with the same runtime options is running."
        ),
    ] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Speak TEXT (or --file, or stdin): play it, or write audio, 24 kHz mono. Long text is split into segments."""
    with reporting_errors(verbose, quiet):
        from .. import api
        from ..errors import OutputError
        from ..schema import build

        # Nowhere else to put the audio, and someone at a terminal: speak it, as `say` and espeak-ng do.
        play = play or (output is None and not raw and sys.stdout.isatty())
        to_stdout = raw or str(output) == "-"
        if to_stdout and not dry_run and stdout_closed():  # known now, not after minutes of generation
            raise OutputError("cannot write to standard output: it is closed")
        if to_stdout and not dry_run and sys.stdout.isatty():
            raise OutputError(
                "refusing to write binary audio to a terminal: pipe it (| aplay -r 24000 -f S16_LE -c 1) "
                "or redirect it (> out.wav), or use -o FILE"
            )
        runtime, generation = build(RuntimeOptions, options), build(GenerationOptions, options)
        render, out = build(RenderOptions, options), build(OutputOptions, options)
        quality = build(QualityOptions, options)
        content = read_text(text, file)
        if dry_run:
            print_segments(api.plan(content, runtime.model, render.segment_seconds, generation.voice), as_json=False)
            return
        from ..serve.client import connected

        with connected(runtime, no_server) as server, progress_display(quiet) as progress:
            result = api.say(
                content, output, raw=raw, play=play, save_voice=save_voice, subtitles=subtitles, manifest=manifest,
                source=file, generation=generation, runtime=runtime, render=render, quality=quality, out=out,
                progress=progress, server=server,
            )  # fmt: skip
        if show(quiet):
            cached = f", {result.cached} from cache" if result.cached else ""
            gate = f", {result.retaken} retaken" if result.retaken else ""
            gate += f", {len(result.flagged)} flagged" if result.flagged else ""
            typer.echo(
                f"{result.audio_seconds:.2f} s of audio ({result.segments} segment(s){cached}{gate}) in "
                f"{result.compute_seconds:.2f} s (real-time factor {result.real_time_factor:.2f}) -> {result.output}",
                err=True,
            )
        if quality.strict and result.flagged:
            from ..errors import QualityFlagged

            numbers = ", ".join(str(i + 1) for i in result.flagged)
            raise QualityFlagged(f"--strict: segment(s) {numbers} still fail a quality check; listen to them")
