"""`bark say`: one text (argument, file or stdin; any length) to one audio file, stdout, or a PCM stream."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (
    DEFAULTS,
    BatchSize,
    CpuOffload,
    Device,
    FineTemp,
    Half,
    MaxSeconds,
    MinEosP,
    Model,
    ParagraphSilence,
    Quantize,
    Quiet,
    Seed,
    SegmentSeconds,
    SentenceSilence,
    TextFile,
    TextTemp,
    TopK,
    TopP,
    TrimSilence,
    Verbose,
    VoiceName,
    WaveformTemp,
    options_from,
    progress_display,
    read_text,
    reporting_errors,
    setup_logging,
    show,
)
from .split import print_segments

OUTPUT = "Output"


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
    format: Annotated[
        Optional[str],
        typer.Option("--format", help="wav, flac, ogg or mp3, for stdout and unknown extensions (a known extension wins; stdout: wav).", rich_help_panel=OUTPUT),
    ] = None,
    float32: Annotated[
        bool, typer.Option("--float", help="32-bit float WAV instead of 16-bit.", rich_help_panel=OUTPUT)
    ] = False,
    file: TextFile = None,
    voice: VoiceName = None,
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
    model: Model = DEFAULTS["model"],
    device: Device = "auto",
    half: Half = False,
    cpu_offload: CpuOffload = False,
    quantize: Quantize = None,
    text_temp: TextTemp = DEFAULTS["text_temp"],
    waveform_temp: WaveformTemp = DEFAULTS["waveform_temp"],
    fine_temp: FineTemp = DEFAULTS["fine_temp"],
    top_k: TopK = None,
    top_p: TopP = None,
    min_eos_p: MinEosP = DEFAULTS["min_eos_p"],
    max_seconds: MaxSeconds = None,
    seed: Seed = None,
    segment_seconds: SegmentSeconds = DEFAULTS["segment_seconds"],
    sentence_silence: SentenceSilence = DEFAULTS["sentence_silence"],
    paragraph_silence: ParagraphSilence = DEFAULTS["paragraph_silence"],
    trim_silence: TrimSilence = False,
    batch_size: BatchSize = DEFAULTS["batch_size"],
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Speak TEXT (or --file, or stdin) into audio, 24 kHz mono. Long text is split into segments."""
    setup_logging(verbose, quiet)
    with reporting_errors():
        from .. import api
        from ..errors import OutputError
        from ..options import GenerationOptions, RenderOptions, RuntimeOptions

        to_stdout = raw or str(output) == "-"
        if to_stdout and not dry_run and sys.stdout.isatty():
            raise OutputError(
                "refusing to write binary audio to a terminal: pipe it (| aplay -r 24000 -f S16_LE -c 1) "
                "or redirect it (> out.wav), or use -o FILE"
            )
        params = locals()
        render = options_from(RenderOptions, params)
        content = read_text(text, file)
        if dry_run:
            print_segments(api.plan(content, model, render, voice), as_json=False)
            return
        generation = options_from(GenerationOptions, params)
        runtime = options_from(RuntimeOptions, params)
        with progress_display(quiet) as progress:
            result = api.say(
                content,
                output,
                raw=raw,
                format=format,
                float32=float32,
                voice=voice,
                save_voice=save_voice,
                subtitles=subtitles,
                manifest=manifest,
                generation=generation,
                runtime=runtime,
                render=render,
                progress=progress,
            )
        if show(quiet):
            typer.echo(
                f"{result.audio_seconds:.2f} s of audio ({result.segments} segment(s)) in "
                f"{result.compute_seconds:.2f} s (real-time factor {result.real_time_factor:.2f}) -> {result.output}",
                err=True,
            )
