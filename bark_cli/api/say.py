"""The library's front door: one function per CLI command, taking validated options."""

from __future__ import annotations

import logging
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..constants import SAMPLE_RATE
from ..errors import InputTextError, InvalidOptionError
from ..options import GenerationOptions, RenderOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..text.segmenter import TextSegment, split_text

log = logging.getLogger("bark_cli")


@dataclass(frozen=True)
class SayResult:
    output: Path  # Path("-") for stdout
    audio_seconds: float  # length of the written audio
    compute_seconds: float  # generation time, model loading excluded
    seed: int
    segments: int

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio (below 1: faster than real time)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("inf")


def _language(voice: str | Path | None) -> str | None:
    from ..voices.library import voice_language

    return voice_language(str(voice)) if voice is not None else None


def _check_text(text: str) -> None:
    from ..text.normalize import normalize

    if not normalize(text):
        raise InputTextError("the text is empty: give some words to speak")


def plan(
    text: str, model: str, render: RenderOptions = RenderOptions(), voice: str | Path | None = None
) -> list[TextSegment]:
    """The segments ``say`` would render, using only the checkpoint's tokenizer (no network is loaded)."""
    from ..runtime.loading import load_tokenizer
    from ..text.normalize import count_tokens

    _check_text(text)
    tokenizer = load_tokenizer(model)
    return split_text(text, lambda t: count_tokens(tokenizer, t), render.segment_seconds, _language(voice))


def say(
    text: str,
    output: Path | None,
    *,
    raw: bool = False,
    format: str | None = None,
    float32: bool = False,
    voice: str | Path | None = None,
    save_voice: Path | None = None,
    subtitles: Path | None = None,
    manifest: Path | None = None,
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    render: RenderOptions = RenderOptions(),
    progress: Progress = NullProgress(),
    stdout: BinaryIO | None = None,
) -> SayResult:
    """Speak ``text`` (any length) into ``output`` (a file, or Path("-") for a WAV on stdout), or stream
    raw 16-bit PCM to stdout segment by segment with ``raw``."""
    from ..audio.formats import STDOUT, audio_format, check_output, make_tags, pcm16, send, write_audio
    from ..files import check_writable
    from ..audio.joins import Joiner, trim_silence
    from ..pipeline import Synthesizer
    from ..pipeline import render as render_segments
    from ..audio.subtitles import Cue, build_manifest, check_subtitles, write_manifest, write_subtitles
    from ..text.normalize import count_tokens
    from ..voices.library import check_voice_output, resolve_voice, save_voice as write_voice
    from ..voices.voice import Voice

    stdout = stdout if stdout is not None else sys.stdout.buffer
    # Everything a user can get wrong is checked before the (slow) model load.
    _check_text(text)
    if raw and output is not None:
        raise InvalidOptionError("--raw streams PCM to stdout: leave out -o")
    if not raw and output is None:
        raise InvalidOptionError("no output: give -o FILE (.wav, .flac, .ogg, .mp3), -o - for a WAV on stdout, or --raw")
    fmt = None
    if not raw:
        fmt = audio_format(output, format, float32)
        check_output(output)
    if subtitles is not None:
        check_subtitles(subtitles)
    if manifest is not None:
        check_writable(manifest)
    if save_voice is not None:
        check_voice_output(save_voice)
    loaded_voice = resolve_voice(voice) if voice is not None else None
    seed = generation.seed if generation.seed is not None else secrets.randbelow(2**31)
    log.info("seed %d", seed)

    synthesizer = Synthesizer.load(runtime)
    tokenizer = synthesizer.networks.tokenizer
    segments = split_text(text, lambda t: count_tokens(tokenizer, t), render.segment_seconds, _language(voice))
    log.info("%d segment(s)", len(segments))
    started = time.perf_counter()
    joiner = Joiner(len(segments))
    chunks, first = [], None
    results = render_segments(
        synthesizer, [s.text for s in segments], loaded_voice, generation, seed, render.batch_size, progress, raw
    )
    for i, result in results:
        first = first or result
        pause = render.paragraph_silence if segments[i].paragraph_end else render.sentence_silence
        for chunk in joiner.add(trim_silence(result.audio) if render.trim_silence else result.audio, pause):
            if raw:
                send(stdout, pcm16(chunk))
            else:
                chunks.append(chunk)
    compute = time.perf_counter() - started

    if not raw:
        import numpy as np

        write_audio(output, np.concatenate(chunks), fmt, make_tags(text, runtime.model), stdout)
    if subtitles is not None:
        write_subtitles(subtitles, [Cue(a, b, s.text) for (a, b), s in zip(joiner.spans, segments)])
    if manifest is not None:
        destination = output if output is not None else STDOUT
        write_manifest(manifest, build_manifest(destination, runtime.model, seed, voice, segments, joiner.spans))
    if save_voice is not None:
        # The first segment's own prompt: conditioning on it continues this exact speaker.
        write_voice(Voice(str(save_voice), first.semantic, first.fine[:2], first.fine), save_voice)
    return SayResult(output or STDOUT, joiner.position / SAMPLE_RATE, compute, seed, len(segments))
