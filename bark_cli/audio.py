"""Audio out: formats by extension, joining segments with pauses, and atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .constants import SAMPLE_RATE
from .errors import OutputError
from .files import atomic_open, check_writable

# Extension -> (libsndfile format, subtype). 16-bit PCM unless the format is lossy.
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}
FADE_SECONDS = 0.01  # at each join: removes the click of a cut mid-wave
TRIM_THRESHOLD = 0.01  # |amplitude| below this counts as silence when trimming (-40 dBFS)
TRIM_KEEP_SECONDS = 0.05  # of near-silence kept at each trimmed end, so words are not clipped


def output_format(path: Path) -> tuple[str, str]:
    """The (format, subtype) for ``path``'s extension; an error before any generation when unknown."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise OutputError(f"cannot write {path}: unknown audio extension {suffix or '(none)'!r}; use one of {known}")
    return FORMATS[suffix]


def check_output(path: Path) -> None:
    output_format(path)
    check_writable(path)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono float ``audio`` (N,) to ``path`` atomically."""
    import soundfile

    file_format, subtype = output_format(path)
    with atomic_open(path) as stream:
        soundfile.write(stream, np.clip(audio, -1.0, 1.0), sample_rate, format=file_format, subtype=subtype)


def trim_silence(audio: np.ndarray) -> np.ndarray:
    """``audio`` without its leading and trailing near-silence (keeping a little of it)."""
    loud = np.flatnonzero(np.abs(audio) >= TRIM_THRESHOLD)
    if len(loud) == 0:
        return audio[:0]
    keep = int(TRIM_KEEP_SECONDS * SAMPLE_RATE)
    return audio[max(0, loud[0] - keep) : loud[-1] + 1 + keep]


def fade(audio: np.ndarray) -> np.ndarray:
    """Short linear fade-in and fade-out, so joined segments do not click."""
    n = min(int(FADE_SECONDS * SAMPLE_RATE), len(audio) // 2)
    if n == 0:
        return audio
    audio = audio.copy()
    ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
    audio[:n] *= ramp
    audio[-n:] *= ramp[::-1]
    return audio


def join(parts: list[np.ndarray], pauses: list[float]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Concatenate ``parts`` with ``pauses[i]`` seconds of silence after part i (the last is ignored).

    Returns the audio and each part's (start, end) sample offsets in it.
    """
    pieces, spans, position = [], [], 0
    for i, part in enumerate(parts):
        part = fade(part.astype(np.float32)) if len(parts) > 1 else part.astype(np.float32)
        spans.append((position, position + len(part)))
        pieces.append(part)
        position += len(part)
        if i < len(parts) - 1:
            gap = np.zeros(int(round(pauses[i] * SAMPLE_RATE)), dtype=np.float32)
            pieces.append(gap)
            position += len(gap)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return audio, spans
