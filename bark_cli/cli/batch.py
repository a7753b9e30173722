"""`bark batch`: render many texts into a directory, resumably, from a terminal or from cron."""

from __future__ import annotations

import json
import signal
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
    SegmentSeconds,
    SentenceSilence,
    TextTemp,
    TopK,
    TopP,
    TrimSilence,
    Verbose,
    VoiceName,
    WaveformTemp,
    options_from,
    progress_display,
    reporting_errors,
    setup_logging,
)

BATCH = "Batch"


def _terminate(signum, frame):  # cron and systemd stop jobs with SIGTERM: clean up like Ctrl-C
    raise KeyboardInterrupt


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
                f"segments: {event['segments_generated']} generated, {event['segments_cached']} from cache; "
                f"{event['audio_seconds']:.1f} s of audio in {event['compute_seconds']:.1f} s "
                f"(real-time factor {event['real_time_factor']:.2f})"
            )
            return
        detail = f": {event['error']}" if "error" in event else ""
        if "seconds" in event:
            detail = f" ({event['seconds']:.1f} s, {event['segments']} segment(s), {event['generated']} generated)"
        write(f"bark: item {event['item']} {event['source']} -> {event['output']} {event['status']}{detail}")

    return log


def batch(
    inputs: Annotated[list[str], typer.Argument(help="Text files (a line per item, or --by file), .jsonl files, or - for stdin.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", "-d", help="Directory for the outputs.", rich_help_panel=BATCH)],
    by: Annotated[
        Optional[str],
        typer.Option("--by", help="line (default), file (one item per file) or jsonl (default for .jsonl).", rich_help_panel=BATCH),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Render everything again, ignoring outputs and cache.", rich_help_panel=BATCH)] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json (one line per item, on stderr).", rich_help_panel=BATCH)] = "text",
    subtitles: Annotated[
        Optional[str], typer.Option("--subtitles", help="Also write srt or vtt subtitles beside each output.", rich_help_panel=BATCH)
    ] = None,
    manifest: Annotated[
        Optional[Path], typer.Option("--manifest", help="Manifest file (default: OUT_DIR/manifest.jsonl).", rich_help_panel=BATCH)
    ] = None,
    format: Annotated[str, typer.Option("--format", help="wav, flac, ogg or mp3.", rich_help_panel=BATCH)] = "wav",
    float32: Annotated[bool, typer.Option("--float", help="32-bit float WAV.", rich_help_panel=BATCH)] = False,
    voice: VoiceName = None,
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
    seed: Annotated[
        Optional[int],
        typer.Option("--seed", help="Base seed of every item without its own (default 0).", rich_help_panel="Generation"),
    ] = None,
    segment_seconds: SegmentSeconds = DEFAULTS["segment_seconds"],
    sentence_silence: SentenceSilence = DEFAULTS["sentence_silence"],
    paragraph_silence: ParagraphSilence = DEFAULTS["paragraph_silence"],
    trim_silence: TrimSilence = False,
    batch_size: BatchSize = DEFAULTS["batch_size"],
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Render every item of INPUTS into --out-dir. Re-runs render only what is missing or changed.

    Each item's segment seeds come from --seed (or the item's own "seed", default 0) and the segment's
    text, so an edited sentence re-renders alone. The exit code is 7 if any item failed.
    """
    setup_logging(verbose, quiet)
    signal.signal(signal.SIGTERM, _terminate)
    with reporting_errors():
        from ..audio.formats import audio_format
        from ..api.batch import BatchRunner
        from ..batch.inputs import BY_CHOICES, InputError, read_items
        from ..errors import BatchItemsFailed, InputTextError, InvalidOptionError
        from ..options import GenerationOptions, RenderOptions, RuntimeOptions

        if by is not None and by not in BY_CHOICES:
            raise InvalidOptionError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
        if log_format not in ("text", "json"):
            raise InvalidOptionError(f"--log-format must be text or json, got {log_format!r}")
        if subtitles is not None and subtitles not in ("srt", "vtt"):
            raise InvalidOptionError(f"--subtitles must be srt or vtt, got {subtitles!r}")
        params = locals()
        fmt = audio_format(Path("-"), format, float32)
        generation = options_from(GenerationOptions, params)
        render = options_from(RenderOptions, params)
        runtime = options_from(RuntimeOptions, params)
        try:
            items = read_items(inputs, by, fmt.name)
        except InputError as exc:
            raise InputTextError(str(exc)) from exc
        out_dir.mkdir(parents=True, exist_ok=True)
        with progress_display(quiet) as progress:
            log = _logger(log_format, quiet, progress)
            runner = BatchRunner(
                out_dir, fmt, generation, runtime, render, voice=voice, force=force, subtitles=subtitles,
                manifest=manifest, log=log, progress=progress,
            )  # fmt: skip
            summary = runner.run(items)
            if not quiet:
                log({"event": "summary", "items": len(items), **vars(summary), "real_time_factor": summary.real_time_factor})
        if summary.failed:
            raise BatchItemsFailed(f"{summary.failed} of {len(items)} item(s) failed; see the log lines above")
