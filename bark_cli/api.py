"""The library's front door: one function per CLI command, taking validated options."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .constants import SAMPLE_RATE
from .errors import InputTextError
from .options import GenerationOptions, RuntimeOptions
from .progress import NullProgress, Progress

log = logging.getLogger("bark_cli")


@dataclass(frozen=True)
class SayResult:
    output: Path
    audio_seconds: float  # length of the written audio
    compute_seconds: float  # generation time, model loading excluded
    seed: int

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio (below 1: faster than real time)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("inf")


def say(
    text: str,
    output: Path,
    *,
    voice: str | Path | None = None,
    save_voice: Path | None = None,
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    progress: Progress = NullProgress(),
) -> SayResult:
    """Speak ``text`` into the audio file ``output`` (format from its extension)."""
    from .audio import check_output, write_audio
    from .pipeline import Segment, Synthesizer
    from .text import normalize
    from .voice_library import check_voice_output, resolve_voice, save_voice as write_voice
    from .voices import Voice

    # Everything a user can get wrong is checked before the (slow) model load.
    if not normalize(text):
        raise InputTextError("the text is empty: give some words to speak")
    check_output(output)
    if save_voice is not None:
        check_voice_output(save_voice)
    loaded_voice = resolve_voice(voice) if voice is not None else None
    seed = generation.seed if generation.seed is not None else secrets.randbelow(2**31)
    log.info("seed %d", seed)

    synthesizer = Synthesizer.load(runtime)
    started = time.perf_counter()
    [result] = synthesizer.generate([Segment(text, loaded_voice, seed)], generation, progress)
    compute = time.perf_counter() - started
    write_audio(output, result.audio)
    if save_voice is not None:
        # The generation's own prompt: conditioning on it continues this exact speaker.
        write_voice(Voice(str(save_voice), result.semantic, result.fine[:2], result.fine), save_voice)
    return SayResult(output, len(result.audio) / SAMPLE_RATE, compute, seed)

