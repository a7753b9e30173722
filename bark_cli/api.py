"""The library's front door: one function per CLI command, taking validated options."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .constants import SAMPLE_RATE
from .errors import InputTextError
from .options import GenerationOptions, RenderOptions, RuntimeOptions
from .progress import NullProgress, Progress
from .segmenter import TextSegment, split_text

log = logging.getLogger("bark_cli")


@dataclass(frozen=True)
class SayResult:
    output: Path
    audio_seconds: float  # length of the written audio
    compute_seconds: float  # generation time, model loading excluded
    seed: int
    segments: int

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio (below 1: faster than real time)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("inf")


def _language(voice: str | Path | None) -> str | None:
    from .voice_library import voice_language

    return voice_language(str(voice)) if voice is not None else None


def _check_text(text: str) -> None:
    from .text import normalize

    if not normalize(text):
        raise InputTextError("the text is empty: give some words to speak")


def plan(
    text: str, model: str, render: RenderOptions = RenderOptions(), voice: str | Path | None = None
) -> list[TextSegment]:
    """The segments ``say`` would render, using only the checkpoint's tokenizer (no network is loaded)."""
    from .models import load_tokenizer
    from .text import count_tokens

    _check_text(text)
    tokenizer = load_tokenizer(model)
    return split_text(text, lambda t: count_tokens(tokenizer, t), render.segment_seconds, _language(voice))


def say(
    text: str,
    output: Path,
    *,
    voice: str | Path | None = None,
    save_voice: Path | None = None,
    subtitles: Path | None = None,
    manifest: Path | None = None,
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    render: RenderOptions = RenderOptions(),
    progress: Progress = NullProgress(),
) -> SayResult:
    """Speak ``text`` (any length) into the audio file ``output`` (format from its extension)."""
    from .audio import check_output, join, trim_silence, write_audio
    from .files import check_writable
    from .pipeline import Synthesizer
    from .pipeline import render as render_segments
    from .subtitles import Cue, build_manifest, check_subtitles, write_manifest, write_subtitles
    from .text import count_tokens
    from .voice_library import check_voice_output, resolve_voice, save_voice as write_voice
    from .voices import Voice

    # Everything a user can get wrong is checked before the (slow) model load.
    _check_text(text)
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
    texts = [s.text for s in segments]
    results = render_segments(synthesizer, texts, loaded_voice, generation, seed, render.batch_size, progress)
    compute = time.perf_counter() - started

    parts = [trim_silence(r.audio) if render.trim_silence else r.audio for r in results]
    pauses = [render.paragraph_silence if s.paragraph_end else render.sentence_silence for s in segments]
    audio, spans = join(parts, pauses)
    write_audio(output, audio)
    if subtitles is not None:
        write_subtitles(subtitles, [Cue(a, b, s.text) for (a, b), s in zip(spans, segments)])
    if manifest is not None:
        write_manifest(manifest, build_manifest(output, runtime.model, seed, voice, segments, spans))
    if save_voice is not None:
        # The first segment's own prompt: conditioning on it continues this exact speaker.
        first = results[0]
        write_voice(Voice(str(save_voice), first.semantic, first.fine[:2], first.fine), save_voice)
    return SayResult(output, len(audio) / SAMPLE_RATE, compute, seed, len(segments))
