"""The `bark` command: parses flags into options, calls one API function, prints.

Nothing heavy is imported here: torch and transformers load only when a command runs, so ``--help`` and
shell completion stay instant.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .constants import DEFAULT_FINE_TEMP, DEFAULT_MIN_EOS_P, DEFAULT_MODEL, DEFAULT_TEXT_TEMP, DEFAULT_WAVEFORM_TEMP
from .errors import EXIT_INTERNAL, EXIT_INTERRUPTED, BarkError

app = typer.Typer(
    name="bark",
    help="Text to speech with Suno's Bark, from the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options shared by commands, declared once.
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
Device = Annotated[
    str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=RUNTIME)
]
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
    float,
    typer.Option("--text-temp", help="Semantic stage temperature (0: greedy).", rich_help_panel=GENERATION),
]
WaveformTemp = Annotated[
    float,
    typer.Option("--waveform-temp", help="Coarse stage temperature (0: greedy).", rich_help_panel=GENERATION),
]
FineTemp = Annotated[
    float, typer.Option("--fine-temp", help="Fine stage temperature (0: greedy).", rich_help_panel=GENERATION)
]
TopK = Annotated[
    Optional[int],
    typer.Option("--top-k", help="Sample from the k likeliest tokens only (semantic, coarse).", rich_help_panel=GENERATION),
]
TopP = Annotated[
    Optional[float],
    typer.Option("--top-p", help="Nucleus sampling mass in (0, 1] (semantic, coarse).", rich_help_panel=GENERATION),
]
MinEosP = Annotated[
    float,
    typer.Option("--min-eos-p", help="End speech once its probability reaches this.", rich_help_panel=GENERATION),
]
MaxSeconds = Annotated[
    Optional[float],
    typer.Option("--max-seconds", help="Longest audio per generation, up to 15.39 s.", rich_help_panel=GENERATION),
]
Seed = Annotated[
    Optional[int],
    typer.Option("--seed", help="Seed for reproducible output (default: random, shown with -v).", rich_help_panel=GENERATION),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also show load times, device, dtype and seed.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bark-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Text to speech with Suno's Bark, from the terminal."""


def _setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bark: %(message)s"))
    logger = logging.getLogger("bark_cli")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def _reporting_errors():
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


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        from .progress import NullProgress

        return contextlib.nullcontext(NullProgress())
    from .progress import RichProgress

    return RichProgress()


@app.command()
def say(
    text: Annotated[str, typer.Argument(help="The text to speak. Bark cues like \\[laughs] and ♪ are kept.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Audio file to write: .wav (16-bit), .flac or .ogg.")
    ],
    voice: Annotated[
        Optional[Path], typer.Option("--voice", help="A Bark voice .npz (semantic, coarse and fine prompts).")
    ] = None,
    model: Model = DEFAULT_MODEL,
    device: Device = "auto",
    half: Half = False,
    cpu_offload: CpuOffload = False,
    text_temp: TextTemp = DEFAULT_TEXT_TEMP,
    waveform_temp: WaveformTemp = DEFAULT_WAVEFORM_TEMP,
    fine_temp: FineTemp = DEFAULT_FINE_TEMP,
    top_k: TopK = None,
    top_p: TopP = None,
    min_eos_p: MinEosP = DEFAULT_MIN_EOS_P,
    max_seconds: MaxSeconds = None,
    seed: Seed = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Speak TEXT into an audio file (24 kHz mono)."""
    _setup_logging(verbose, quiet)
    with _reporting_errors():
        from .api import say as say_api
        from .options import GenerationOptions, RuntimeOptions

        generation = GenerationOptions(
            text_temp=text_temp,
            waveform_temp=waveform_temp,
            fine_temp=fine_temp,
            top_k=top_k,
            top_p=top_p,
            min_eos_p=min_eos_p,
            max_seconds=max_seconds,
            seed=seed,
        )
        runtime = RuntimeOptions(model=model, device=device, half=half, cpu_offload=cpu_offload)
        with _progress(quiet) as progress:
            result = say_api(text, output, voice=voice, generation=generation, runtime=runtime, progress=progress)
        if not quiet and sys.stderr.isatty():
            typer.echo(
                f"{result.audio_seconds:.2f} s of audio in {result.compute_seconds:.2f} s "
                f"(real-time factor {result.real_time_factor:.2f}) -> {result.output}",
                err=True,
            )


def main() -> None:
    app()
