"""`say`: one text, any length, into one audio file, a WAV on stdout, or raw PCM streamed per segment."""

from __future__ import annotations

import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..constants import SAMPLE_RATE
from ..errors import InputTextError, InvalidOptionError
from ..options import GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..text.segmenter import TextSegment

if TYPE_CHECKING:
    from ..audio.playback import Sink
    from ..serve.client import Connection

log = logging.getLogger("bark_cli")
PLAYED = Path("(played)")  # the output of a recording that was only played: in the summary and manifest


@dataclass(frozen=True)
class SayResult:
    output: Path  # Path("-") for stdout, PLAYED when it was only played
    audio_seconds: float  # length of the written audio
    compute_seconds: float  # generating and decoding, model loading excluded
    seed: int  # the base seed (--seed, or the random one drawn)
    segments: int
    cached: int  # segments whose codes came from the segment cache
    retaken: int = 0  # segments the quality gate had generated again
    flagged: tuple[int, ...] = ()  # segments (0-based) whose kept take still fails a check

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio (below 1: faster than real time)."""
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("inf")


def language_of(voice: str | None) -> str | None:
    """The language a voice name implies (a preset's), for the sentence rules; None when unknown."""
    from ..voices.library import voice_language

    return voice_language(voice) if voice is not None else None


def check_text(text: str) -> None:
    from ..text.normalize import normalize

    if not normalize(text):
        raise InputTextError("the text is empty: give some words to speak")


def plan(text: str, model: str, segment_seconds: float, voice: str | None = None) -> list[TextSegment]:
    """The segments ``say`` would render, using only the checkpoint's tokenizer (no network is loaded)."""
    from ..pipeline import Pipeline

    check_text(text)
    return Pipeline(RuntimeOptions(model=model)).plan(text, segment_seconds, language_of(voice))


def say(
    text: str,
    output: Path | None,
    *,
    raw: bool = False,
    play: bool = False,
    player: Sink | None = None,
    save_voice: Path | None = None,
    subtitles: Path | None = None,
    manifest: Path | None = None,
    source: Path | None = None,
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    render: RenderOptions = RenderOptions(),
    quality: QualityOptions = QualityOptions(),
    out: OutputOptions = OutputOptions(),
    progress: Progress = NullProgress(),
    stdout: BinaryIO | None = None,
    server: Connection | None = None,
) -> SayResult:
    """Speak ``text`` (any length) into ``output`` (a file, or Path("-") for a WAV on stdout), stream raw
    16-bit PCM to stdout segment by segment with ``raw``, and/or ``play`` it segment by segment on the
    default output device (or on ``player``). ``source``: the file the text was read from, which no
    output may overwrite. ``server``: a running `bark serve` that renders the segments (serve/client.py);
    everything else happens here, as without it."""
    from ..audio.formats import STDOUT, audio_format, check_output, make_tags, pcm16, send, write_audio
    from ..audio.joins import Joiner
    from ..audio.subtitles import build_manifest, check_subtitles, write_manifest, write_subtitles
    from ..files import check_distinct, check_writable
    from ..pipeline import Recording
    from ..quality.takes import gate_entry
    from ..voices.library import check_voice_output, resolve_voice, save_voice as write_voice
    from ..voices.voice import Voice

    stdout = stdout if stdout is not None else sys.stdout.buffer
    # Everything a user can get wrong is checked before the (slow) model load.
    check_text(text)
    if raw and output is not None:
        raise InvalidOptionError("--raw streams PCM to stdout: leave out -o")
    if not raw and not play and output is None:
        raise InvalidOptionError(
            "no output: give -o FILE (.wav, .flac, .ogg, .mp3), -o - for a WAV on stdout, --raw, or --play"
        )
    fmt = None
    if output is not None:
        fmt = audio_format(output, out.format, out.float32)
        check_output(output)
    if subtitles is not None:
        check_subtitles(subtitles)
    if manifest is not None:
        check_writable(manifest)
    if save_voice is not None:
        check_voice_output(save_voice)
    check_distinct({
        "the input text (--file)": source, "the output (-o)": output, "the subtitles (--subtitles)": subtitles,
        "the manifest (--manifest)": manifest, "the saved voice (--save-voice)": save_voice,
    })  # fmt: skip
    voice = resolve_voice(generation.voice) if generation.voice is not None else None
    if play and player is None:
        from ..audio.playback import open_player

        player = open_player()  # no device is said now, not after the model load
    seed = generation.seed if generation.seed is not None else secrets.randbelow(2**31)
    log.info("seed %d", seed)

    if server is not None:
        pipeline = server.pipeline(render.no_cache, progress, quality.retakes)
    else:
        from ..batch.cache import SegmentCache
        from ..pipeline import Pipeline

        pipeline = Pipeline(runtime, None if render.no_cache else SegmentCache(), progress, retakes=quality.retakes)
    segments = pipeline.plan(text, render.segment_seconds, language_of(generation.voice))
    log.info("%d segment(s)", len(segments))
    recording = Recording([s.text for s in segments], voice, generation, seed)
    r = render
    joiner = Joiner(len(segments), r.sentence_silence, r.paragraph_silence, r.trim_silence, r.rate, r.gain)
    # Streams take each chunk as soon as it is made, in text order (the pipeline then renders in order).
    streams = ([lambda chunk: send(stdout, pcm16(chunk))] if raw else []) + ([player.write] if play else [])
    chunks, first, kept = [], None, []
    try:
        for _, i, result in pipeline.render([recording], render.batch_size, in_order=bool(streams)):
            first = first or result
            kept.append(result)
            log_flagged(i, segments[i].text, result)
            for chunk in joiner.add(result.audio, segments[i].paragraph_end):
                for stream in streams:
                    stream(chunk)
                if output is not None:
                    chunks.append(chunk)
        if play:
            player.close()  # returns once the last segment has been heard
    except BaseException:
        if play:
            player.abort()
        raise
    if pipeline.stats.cached:
        log.info("%d of %d segment(s) from the cache", pipeline.stats.cached, len(segments))
    peak = pipeline.loaded and pipeline.synthesizer.peak_gpu_mib()
    if peak:
        log.info("peak GPU memory %.0f MiB%s", peak, " (--cpu-offload)" if runtime.cpu_offload else "")

    if output is not None:
        import numpy as np

        write_audio(output, np.concatenate(chunks), fmt, make_tags(text, runtime.model), stdout)
    if subtitles is not None:
        write_subtitles(subtitles, joiner.spans, [s.text for s in segments])
    destination = output if output is not None else STDOUT if raw else PLAYED
    if manifest is not None:
        seeds, checks = [k.seed for k in kept], [gate_entry(k.take, k.takes, k.report) for k in kept]
        data = build_manifest(destination, runtime.model, generation.voice, segments, joiner.spans, seeds, checks)
        write_manifest(manifest, data)
    if save_voice is not None:
        # The first segment's own prompt: conditioning on it continues this exact speaker.
        write_voice(Voice(str(save_voice), first.semantic, first.fine[:2], first.fine), save_voice)
    stats = pipeline.stats
    flagged = tuple(i for i, k in enumerate(kept) if k.report is not None and not k.report.passed)
    return SayResult(
        destination, joiner.position / SAMPLE_RATE, stats.compute_seconds, seed, len(segments), stats.cached,
        stats.retaken, flagged,
    )  # fmt: skip


def log_flagged(index: int, text: str, result, where: str = "") -> None:
    """A warning for a segment (0-based ``index``) whose kept take still fails a quality check; ``where``
    leads the line ("item 3: ")."""
    report = result.report
    if report is None or report.passed:
        return
    shown = text if len(text) <= 60 else text[:57] + "..."
    log.warning(
        "warning: %ssegment %d flagged (%s) after %d take(s): %r",
        where, index + 1, ", ".join(report.flags), result.takes, shown,
    )  # fmt: skip
