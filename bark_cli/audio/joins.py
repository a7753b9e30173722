"""Joining segments into one recording: trims, fades and pauses, with each segment's exact sample span.

`Joiner` works one segment at a time so audio can stream out as it is made.
"""

from __future__ import annotations

import numpy as np

from ..constants import SAMPLE_RATE
from .effects import apply_effects, scaled_silence

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
    """Turns ``n_parts`` segments, given in order, into chunks of the joined audio: each part trimmed
    (``trim``), faded when there are several, and followed by ``sentence_silence`` seconds of silence, or
    ``paragraph_silence`` where a paragraph ends (none after the last part). ``rate`` and ``gain``
    (--rate, --volume) apply to each part before its span is taken, and the pauses are divided by
    ``rate``: the spans (subtitles, manifest) are those of the audio as written."""

    def __init__(
        self, n_parts: int, sentence_silence: float, paragraph_silence: float, trim: bool = False,
        rate: float = 1.0, gain: float = 1.0,
    ):  # fmt: skip
        self.n_parts = n_parts
        self.sentence_silence = scaled_silence(sentence_silence, rate)
        self.paragraph_silence = scaled_silence(paragraph_silence, rate)
        self.trim, self.rate, self.gain = trim, rate, gain
        self.position = 0  # samples emitted so far
        self.spans: list[tuple[int, int]] = []  # each part's (start, end) in the joined audio

    def add(self, part: np.ndarray, paragraph_end: bool = False) -> list[np.ndarray]:
        """The chunks to emit for the next part: the part and the pause after it."""
        part = part.astype(np.float32)
        if self.trim:
            part = trim_silence(part)
        part = apply_effects(part, self.rate, self.gain)
        if self.n_parts > 1:
            part = fade(part)
        self.spans.append((self.position, self.position + len(part)))
        chunks = [part]
        if len(self.spans) < self.n_parts:
            pause = self.paragraph_silence if paragraph_end else self.sentence_silence
            chunks.append(np.zeros(int(round(pause * SAMPLE_RATE)), dtype=np.float32))
        self.position += sum(len(c) for c in chunks)
        return chunks
