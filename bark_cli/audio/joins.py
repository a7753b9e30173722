"""Joining segments into one recording: trims, fades and pauses, with each segment's exact sample span.

`Joiner` works one segment at a time so audio can stream out as it is made; `join` is the whole-list form.
"""

from __future__ import annotations

import numpy as np

from ..constants import SAMPLE_RATE

FADE_SECONDS = 0.01  # at each join: removes the click of a cut mid-wave
TRIM_THRESHOLD = 0.01  # |amplitude| below this counts as silence when trimming (-40 dBFS)
TRIM_KEEP_SECONDS = 0.05  # of near-silence kept at each trimmed end, so words are not clipped


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


class Joiner:
    """Turns ``n_parts`` segments, given in order, into chunks of the joined audio."""

    def __init__(self, n_parts: int):
        self.n_parts = n_parts
        self.position = 0  # samples emitted so far
        self.spans: list[tuple[int, int]] = []  # each part's (start, end) in the joined audio

    def add(self, part: np.ndarray, pause_after: float) -> list[np.ndarray]:
        """The chunks to emit for the next part: the part (faded when there are several) and the pause
        after it (none after the last part)."""
        part = part.astype(np.float32)
        if self.n_parts > 1:
            part = fade(part)
        self.spans.append((self.position, self.position + len(part)))
        chunks = [part]
        if len(self.spans) < self.n_parts:
            chunks.append(np.zeros(int(round(pause_after * SAMPLE_RATE)), dtype=np.float32))
        self.position += sum(len(c) for c in chunks)
        return chunks


def join(parts: list[np.ndarray], pauses: list[float]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Concatenate ``parts`` with ``pauses[i]`` seconds of silence after part i (the last is ignored).

    Returns the audio and each part's (start, end) sample offsets in it.
    """
    joiner = Joiner(len(parts))
    chunks = [c for part, pause in zip(parts, pauses) for c in joiner.add(part, pause)]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return audio, joiner.spans
