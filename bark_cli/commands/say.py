"""`bark say`: one text to one audio file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (
    DEFAULTS,
    CpuOffload,
    Device,
    FineTemp,
    Half,
    MaxSeconds,
    MinEosP,
    Model,
    Quiet,
    Seed,
    TextTemp,
    TopK,
    TopP,
    Verbose,
    WaveformTemp,
    progress_display,
    reporting_errors,
    setup_logging,
    show,
)


def say(
    text: Annotated[str, typer.Argument(help="The text to speak. Bark cues like \\[laughs] and ♪ are kept.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Audio file to write: .wav (16-bit), .flac or .ogg.")
    ],
    voice: Annotated[
        Optional[str],
        typer.Option(
            "--voice",
            help="A voice: shipped preset (v2/en_speaker_6), saved voice name, or .npz file.",
        ),
    ] = None,
    save_voice: Annotated[
        Optional[Path],
        typer.Option("--save-voice", help="Also save this generation's prompt as a voice .npz, to reuse exactly."),
    ] = None,
    model: Model = DEFAULTS["model"],
    device: Device = "auto",
    half: Half = False,
    cpu_offload: CpuOffload = False,
    text_temp: TextTemp = DEFAULTS["text_temp"],
    waveform_temp: WaveformTemp = DEFAULTS["waveform_temp"],
    fine_temp: FineTemp = DEFAULTS["fine_temp"],
    top_k: TopK = None,
    top_p: TopP = None,
    min_eos_p: MinEosP = DEFAULTS["min_eos_p"],
    max_seconds: MaxSeconds = None,
    seed: Seed = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Speak TEXT into an audio file (24 kHz mono)."""
    setup_logging(verbose, quiet)
    with reporting_errors():
        from ..api import say as say_api
        from ..options import GenerationOptions, RuntimeOptions

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
        with progress_display(quiet) as progress:
            result = say_api(
                text,
                output,
                voice=voice,
                save_voice=save_voice,
                generation=generation,
                runtime=runtime,
                progress=progress,
            )
        if show(quiet):
            typer.echo(
                f"{result.audio_seconds:.2f} s of audio in {result.compute_seconds:.2f} s "
                f"(real-time factor {result.real_time_factor:.2f}) -> {result.output}",
                err=True,
            )
