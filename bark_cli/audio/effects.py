"""Speaking rate and volume: FFmpeg's ``atempo`` and ``volume`` filters, through PyAV.

Bark has no rate control of its own, so the rate is post-processing: ``atempo`` changes the speed and
keeps the pitch (WSOLA). Each segment is filtered on its own, before it is joined (audio/joins.py), so
every segment's span in the joined audio, and with it the subtitles and the manifest, follows the new
timing; the pauses between segments are divided by the rate as well, so the whole recording is 1/rate
as long.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import InvalidOptionError

ATEMPO_LOW, ATEMPO_HIGH = 0.5, 2.0  # the tempo one atempo filter keeps best; beyond, filters are chained
VOLUME_PATTERN = r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*([dD][bB])?\s*"
ATEMPO_PAD = SAMPLE_RATE // 5  # samples of silence after a segment: more than atempo's window holds back
MAX_GAIN_DB = 40.0  # louder than this only clips; quieter than -MAX_GAIN_DB is as good as silence


def volume_gain(volume: str | None) -> float:
    """The amplitude factor of a --volume value: a factor ("0.5", "2") or decibels ("-3dB", "+6 dB")."""
    if volume is None:
        return 1.0
    match = re.fullmatch(VOLUME_PATTERN, volume)
    if match is None:
        raise InvalidOptionError(f"--volume must be a factor (0.5) or decibels (-3dB), got {volume!r}")
    text = volume.strip()
    if match.group(3):
        db = float(text[: -2].strip())
        if abs(db) > MAX_GAIN_DB:
            raise InvalidOptionError(f"--volume must be within ±{MAX_GAIN_DB:g} dB, got {volume!r}")
        return 10 ** (db / 20)
    gain = float(text)
    low, high = 10 ** (-MAX_GAIN_DB / 20), 10 ** (MAX_GAIN_DB / 20)
    if not low <= gain <= high:
        hint = "; for decibels write -3dB" if gain <= 0 else ""
        raise InvalidOptionError(f"--volume factor must be in [{low:g}, {high:g}], got {volume!r}{hint}")
    return gain


def atempo_steps(rate: float) -> list[float]:
    """``rate`` as a chain of atempo factors, each within [0.5, 2] (their product is ``rate``)."""
    steps = []
    while rate > ATEMPO_HIGH:
        steps.append(ATEMPO_HIGH)
        rate /= ATEMPO_HIGH
    while rate < ATEMPO_LOW:
        steps.append(ATEMPO_LOW)
        rate /= ATEMPO_LOW
    return steps + [rate]


def apply_effects(audio: np.ndarray, rate: float = 1.0, gain: float = 1.0) -> np.ndarray:
    """Mono float ``audio`` (N,) played ``rate`` times as fast (pitch kept) and ``gain`` times as loud:
    round(N / rate) samples."""
    if (rate == 1.0 and gain == 1.0) or len(audio) == 0:
        return audio
    import av

    graph = av.filter.Graph()
    chain = [graph.add_abuffer(format="flt", sample_rate=SAMPLE_RATE, layout="mono", time_base=Fraction(1, SAMPLE_RATE))]
    if rate != 1.0:
        chain += [graph.add("atempo", f"{step:.6f}") for step in atempo_steps(rate)]
    if gain != 1.0:
        chain.append(graph.add("volume", f"volume={gain:.6f}:precision=float"))
    chain.append(graph.add("abuffersink"))
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()

    # atempo holds back and smears its last window (a short segment came out 3% long, or empty): feed it
    # silence after the audio, then cut the result at exactly len / rate samples.
    target = round(len(audio) / rate)
    padded = np.concatenate([audio.astype(np.float32), np.zeros(ATEMPO_PAD, dtype=np.float32)])
    frame = av.AudioFrame.from_ndarray(padded[None, :], format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, 0, Fraction(1, SAMPLE_RATE)
    graph.push(frame)
    graph.push(None)  # end of stream: atempo flushes what it holds
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))  # (1, n) packed mono -> (n,)
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    result = np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
    return np.pad(result[:target], (0, max(0, target - len(result))))


def scaled_silence(seconds: float, rate: float) -> float:
    """A pause of ``seconds`` at speaking rate ``rate``."""
    return seconds / rate if math.isfinite(rate) and rate > 0 else seconds
