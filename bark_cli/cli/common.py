"""What every command shares: option declarations, logging setup, progress, and error reporting."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..constants import DEFAULT_FINE_TEMP, DEFAULT_MIN_EOS_P, DEFAULT_MODEL, DEFAULT_TEXT_TEMP, DEFAULT_WAVEFORM_TEMP
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, BarkError, InputTextError, OutputClosedError
from ..options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PARAGRAPH_SILENCE,
    DEFAULT_SEGMENT_SECONDS,
    DEFAULT_SENTENCE_SILENCE,
)

GENERATION = "Generation"
RUNTIME = "Model and device"

Model = Annotated[
    str,
    typer.Option(
        "--model",
        help="Hugging Face model id (suno/bark-small, suno/bark) or a local checkpoint directory.",
        rich_help_panel=RUNTIME,
    ),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=RUNTIME)]
Half = Annotated[
    bool, typer.Option("--half", help="Half precision: fp16 on CUDA, bf16 on CPU.", rich_help_panel=RUNTIME)
]
CpuOffload = Annotated[
    bool,
    typer.Option(
        "--cpu-offload",
        help="Keep only the running stage's network on the GPU (less GPU memory, a little slower).",
        rich_help_panel=RUNTIME,
    ),
]
Quantize = Annotated[
    Optional[str],
    typer.Option(
        "--quantize",
        help="int8: int8 weights for the semantic and coarse stages on the CPU (half the memory of --half; slower than --half where its native kernel runs).",
        rich_help_panel=RUNTIME,
    ),
]
TextTemp = Annotated[
    float, typer.Option("--text-temp", help="Semantic stage temperature (0: greedy).", rich_help_panel=GENERATION)
]
WaveformTemp = Annotated[
    float, typer.Option("--waveform-temp", help="Coarse stage temperature (0: greedy).", rich_help_panel=GENERATION)
]
FineTemp = Annotated[
    float, typer.Option("--fine-temp", help="Fine stage temperature (0: greedy).", rich_help_panel=GENERATION)
]
TopK = Annotated[
    Optional[int],
    typer.Option(
        "--top-k", help="Sample from the k likeliest tokens only (semantic, coarse).", rich_help_panel=GENERATION
    ),
]
TopP = Annotated[
    Optional[float],
    typer.Option("--top-p", help="Nucleus sampling mass in (0, 1] (semantic, coarse).", rich_help_panel=GENERATION),
]
MinEosP = Annotated[
    float, typer.Option("--min-eos-p", help="End speech once its probability reaches this.", rich_help_panel=GENERATION)
]
MaxSeconds = Annotated[
    Optional[float],
    typer.Option("--max-seconds", help="Longest audio per generation, up to 15.39 s.", rich_help_panel=GENERATION),
]
Seed = Annotated[
    Optional[int],
    typer.Option(
        "--seed", help="Seed for reproducible output (default: random, shown with -v).", rich_help_panel=GENERATION
    ),
]
LONG = "Long text"
SegmentSeconds = Annotated[
    float,
    typer.Option("--segment-seconds", help="Target speech per segment (estimated), up to 15.39 s.", rich_help_panel=LONG),
]
SentenceSilence = Annotated[
    float, typer.Option("--sentence-silence", help="Seconds of silence between segments.", rich_help_panel=LONG)
]
ParagraphSilence = Annotated[
    float, typer.Option("--paragraph-silence", help="Seconds of silence at a blank line.", rich_help_panel=LONG)
]
TrimSilence = Annotated[
    bool,
    typer.Option("--trim-silence", help="Trim each segment's leading/trailing near-silence.", rich_help_panel=LONG),
]
BatchSize = Annotated[
    int, typer.Option("--batch-size", help="Segments generated together (longest first).", rich_help_panel=LONG)
]
TextFile = Annotated[
    Optional[Path], typer.Option("--file", "-f", help="Read the text from this UTF-8 file.", show_default=False)
]
def complete_voice(incomplete: str) -> list[str]:
    """Voice names for shell completion: saved voices and shipped presets (no torch, no file reads)."""
    from ..voices.library import voice_names

    return [name for name in voice_names() if name.startswith(incomplete)]


VoiceName = Annotated[
    Optional[str],
    typer.Option(
        "--voice",
        help="A voice: shipped preset (v2/en_speaker_6), saved voice name, or .npz file.",
        autocompletion=complete_voice,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also show load times, device, dtype and seed.")]

DEFAULTS = {
    "segment_seconds": DEFAULT_SEGMENT_SECONDS,
    "sentence_silence": DEFAULT_SENTENCE_SILENCE,
    "paragraph_silence": DEFAULT_PARAGRAPH_SILENCE,
    "batch_size": DEFAULT_BATCH_SIZE,
    "model": DEFAULT_MODEL,
    "text_temp": DEFAULT_TEXT_TEMP,
    "waveform_temp": DEFAULT_WAVEFORM_TEMP,
    "fine_temp": DEFAULT_FINE_TEMP,
    "min_eos_p": DEFAULT_MIN_EOS_P,
}


# Built-in defaults of the configurable keys (what `bark config show` reports when nothing is set).
BUILT_IN = {
    **DEFAULTS,
    "voice": None,
    "device": "auto",
    "half": False,
    "cpu_offload": False,
    "quantize": None,
    "top_k": None,
    "top_p": None,
    "trim_silence": False,
    "format": None,
}


def options_from(cls, params: dict):
    """An options dataclass from a command's parameters: flag, parameter and field share one name."""
    from dataclasses import fields

    return cls(**{f.name: params[f.name] for f in fields(cls)})


def setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bark: %(message)s"))
    logger = logging.getLogger("bark_cli")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the final flush at exit cannot fail on a closed pipe."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def reporting_errors():
    """Turn errors into one line on stderr and the exit code of the table in errors.py.

    With BARK_DEBUG set, every error propagates with its traceback (and the cause it was raised from).
    """
    debug = bool(os.environ.get("BARK_DEBUG"))
    try:
        yield
    except (OutputClosedError, BrokenPipeError):
        # The reader left (| head): say nothing, and keep Python from complaining while flushing stdout.
        silence_stdout()
        raise typer.Exit(OutputClosedError.exit_code) from None
    except BarkError as exc:
        if debug:
            raise
        typer.echo(f"bark: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("bark: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        if debug:
            raise
        typer.echo(f"bark: internal error: {type(exc).__name__}: {exc} (BARK_DEBUG=1 shows the traceback)", err=True)
        raise typer.Exit(EXIT_INTERNAL) from None


def progress_display(quiet: bool):
    """A rich progress display on a terminal; nothing when quiet or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        from ..progress import NullProgress

        return contextlib.nullcontext(NullProgress())
    from ..progress import RichProgress

    return RichProgress()


def show(quiet: bool) -> bool:
    """Whether to print human-readable summaries on stderr."""
    return not quiet and sys.stderr.isatty()


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputTextError(f"{source} is not UTF-8 text (invalid byte at offset {exc.start})") from exc


def read_text(text: str | None, file: Path | None) -> str:
    """The text to speak: the TEXT argument, --file, or standard input (TEXT "-", or piped with no TEXT)."""
    if text is not None and file is not None:
        raise InputTextError("give the text either as an argument or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return _decode(sys.stdin.buffer.read(), "standard input")
        try:
            return _decode(file.read_bytes(), str(file))
        except OSError as exc:
            raise InputTextError(f"cannot read {file}: {exc.strerror or exc}") from exc
    if text == "-" or (text is None and not sys.stdin.isatty()):
        content = _decode(sys.stdin.buffer.read(), "standard input")
        if text is None and not content.strip():
            raise InputTextError("no text: give TEXT, --file FILE, or pipe text on standard input")
        return content
    if text is None:
        raise InputTextError("no text: give TEXT, --file FILE, or pipe text on standard input")
    return text
