"""What every command shares: option declarations, logging setup, progress, and error reporting."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Annotated, Optional

import typer

from ..constants import DEFAULT_FINE_TEMP, DEFAULT_MIN_EOS_P, DEFAULT_MODEL, DEFAULT_TEXT_TEMP, DEFAULT_WAVEFORM_TEMP
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, BarkError

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
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also show load times, device, dtype and seed.")]

DEFAULTS = {
    "model": DEFAULT_MODEL,
    "text_temp": DEFAULT_TEXT_TEMP,
    "waveform_temp": DEFAULT_WAVEFORM_TEMP,
    "fine_temp": DEFAULT_FINE_TEMP,
    "min_eos_p": DEFAULT_MIN_EOS_P,
}


def setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bark: %(message)s"))
    logger = logging.getLogger("bark_cli")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def reporting_errors():
    """Turn errors into one line on stderr and the exit code of the table in errors.py.

    With BARK_DEBUG set, every error propagates with its traceback (and the cause it was raised from).
    """
    debug = bool(os.environ.get("BARK_DEBUG"))
    try:
        yield
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
