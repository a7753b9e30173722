"""Levelling chapters: to an integrated loudness under a true-peak ceiling (--loudness), or to the ACX
audiobook limits (--acx); and the measurements that say whether a chapter meets them.

Each chapter is brought to the target on its own, so chapters match one another and the whole book
measures the target too. The gain is never raised past the ceiling: a chapter that would clip is left
quieter, and its report says so (bark applies no limiter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import SAMPLE_RATE
from ..quality.checks import level_dbfs
from .extras import require

TRUE_PEAK_OVERSAMPLING = 4  # ITU-R BS.1770-4 annex 2: 4x oversampling at 48 kHz and below
MIN_LOUDNESS_SECONDS = 0.4  # one gating block: shorter audio has no integrated loudness
SILENCE_DB = -120.0  # what digital silence measures as (instead of -inf)

# ACX's audio submission requirements.
ACX_RMS_LOW, ACX_RMS_HIGH = -23.0, -18.0  # dBFS, whole chapter
ACX_RMS_TARGET = -20.0
ACX_PEAK = -3.0  # dBFS, sample peak
ACX_PEAK_TARGET = -3.5  # leaves room for the MP3 encoder's overshoot
ACX_NOISE_FLOOR = -60.0  # dBFS: RMS of the quietest half second
ACX_NOISE_WINDOW_SECONDS = 0.5
ACX_SAMPLE_RATE = 44_100
ACX_BIT_RATE = 192_000  # constant bit rate MP3


def _db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else SILENCE_DB


def integrated_loudness(audio: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770, pyloudnorm); SILENCE_DB for silence or too short audio."""
    pyloudnorm = require("pyloudnorm")
    if len(audio) < MIN_LOUDNESS_SECONDS * rate:
        return SILENCE_DB
    loudness = float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))
    return loudness if math.isfinite(loudness) else SILENCE_DB


def true_peak(audio: np.ndarray) -> float:
    """True peak in dBTP: the sample peak of the audio oversampled 4x (BS.1770's approximation)."""
    from scipy.signal import resample_poly

    if len(audio) == 0:
        return SILENCE_DB
    return _db(float(np.max(np.abs(resample_poly(audio.astype(np.float64), TRUE_PEAK_OVERSAMPLING, 1)))))


def rms(audio: np.ndarray) -> float:
    level = level_dbfs(audio)  # the quality gate's measure; -inf for silence, which reports show as SILENCE_DB
    return level if math.isfinite(level) else SILENCE_DB


def peak(audio: np.ndarray) -> float:
    return _db(float(np.max(np.abs(audio)))) if len(audio) else SILENCE_DB


def noise_floor(audio: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """RMS of the quietest half-second window (stepped by a quarter second), as ACX's checks measure it."""
    window = int(ACX_NOISE_WINDOW_SECONDS * rate)
    if len(audio) <= window:
        return rms(audio)
    squares = np.concatenate([[0.0], np.cumsum(np.square(audio, dtype=np.float64))])
    starts = np.arange(0, len(audio) - window + 1, window // 2)
    means = (squares[starts + window] - squares[starts]) / window
    return _db(float(np.sqrt(max(means.min(), 0.0))))


@dataclass(frozen=True)
class Levelled:
    gain_db: float  # applied to the chapter
    limited: bool  # the ceiling held the gain below what the target needed
    measured: dict  # the chapter's levels after the gain (report keys)
    passed: bool  # meets the target or limits


def gain(audio: np.ndarray, db: float) -> np.ndarray:
    return (audio * np.float32(10 ** (db / 20))).astype(np.float32)


def to_loudness(audio: np.ndarray, target: float, ceiling: float, tolerance: float = 0.5) -> tuple[np.ndarray, Levelled]:
    """``audio`` at ``target`` LUFS, unless that would put its true peak over ``ceiling`` dBTP."""
    loudness = integrated_loudness(audio)
    if loudness <= SILENCE_DB:
        return audio, Levelled(0.0, False, {"lufs": None, "true_peak": round(true_peak(audio), 2)}, False)
    wanted = target - loudness
    headroom = ceiling - true_peak(audio)
    applied = min(wanted, headroom)
    out = gain(audio, applied)
    measured = {"lufs": round(loudness + applied, 2), "true_peak": round(true_peak(out), 2)}
    return out, Levelled(round(applied, 2), bool(applied < wanted), measured, bool(abs(measured["lufs"] - target) <= tolerance))


def acx_check(audio: np.ndarray) -> dict:
    """The ACX measurements of ``audio`` and whether each meets its limit."""
    levels = {"rms": rms(audio), "peak": peak(audio), "noise_floor": noise_floor(audio)}
    levels = {k: round(v, 2) for k, v in levels.items()}
    return {
        **levels,
        "rms_ok": bool(ACX_RMS_LOW <= levels["rms"] <= ACX_RMS_HIGH),
        "peak_ok": bool(levels["peak"] <= ACX_PEAK),
        "noise_floor_ok": bool(levels["noise_floor"] <= ACX_NOISE_FLOOR),
    }


def to_acx(audio: np.ndarray) -> tuple[np.ndarray, Levelled]:
    """``audio`` at ACX_RMS_TARGET RMS, its sample peak held at ACX_PEAK_TARGET; the ACX report after."""
    if rms(audio) <= SILENCE_DB:
        return audio, Levelled(0.0, False, acx_check(audio), False)
    wanted = ACX_RMS_TARGET - rms(audio)
    applied = min(wanted, ACX_PEAK_TARGET - peak(audio))
    out = gain(audio, applied)
    report = acx_check(out)
    passed = report["rms_ok"] and report["peak_ok"] and report["noise_floor_ok"]
    return out, Levelled(round(applied, 2), bool(applied < wanted), report, passed)
