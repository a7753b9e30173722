"""Model-free checks of one segment: did Bark end, say roughly the text's length, make sound, loop, clip?

Bark fails in known ways (it never emits end of speech and babbles to the token cap; it goes silent or
near-silent; it loops a syllable; it clips). Each check reads what a generation already holds (its semantic
tokens, its audio, its text's estimated length) and compares one measure to a threshold named below. A
check cannot hear a wrong word spoken fluently: that needs speech recognition.

`measure` computes every measure; `judge` turns measures into the names of the checks that failed and a
score (0 when all pass; higher is worse), which takes.py uses to keep the best take.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..constants import SAMPLE_RATE, SEMANTIC_RATE_HZ
from ..text.normalize import estimate_seconds

# runaway: no end of speech within the cap, while the text's estimate is under this share of the cap. A text
# estimated near the cap may honestly need all of it; one estimated at half of it has run away.
RUNAWAY_SHARE = 0.5
# duration: audio seconds against the text's estimate (or the cap, if shorter). The band is wide on purpose:
# the estimate is a letters-per-second average, and voices, punctuation and cues ([laughs], "...") move real
# speech well away from it. What it is for is a skipped half (under 0.4x) or an invented tail (over 2.5x).
DURATION_BAND = (0.4, 2.5)
# Shorter texts ("Yes.") vary too much for the lower bound to mean anything; above, they are held to this.
MIN_ESTIMATE_SECONDS = 1.0
# silence: a whole segment quieter than this RMS level is near-inaudible at normal listening volume.
SILENCE_FLOOR_DBFS = -40.0
FRAME_SECONDS = 0.02  # the level is measured in 20 ms frames, a phoneme's length
DIGITAL_SILENCE = 1e-10  # RMS floor (-200 dBFS): all-zero frames get a level, not -inf
# A frame is active when within this much of the segment's loud frames (95th percentile), and above the
# absolute floor below: a threshold relative to the voice follows quiet and loud voices alike, and pauses
# and breaths fall well below it.
ACTIVE_RANGE_DB = 35.0
ACTIVE_FLOOR_DBFS = -60.0
MIN_ACTIVE_SHARE = 0.3  # a sentence read aloud is mostly voiced; under 30% active is mostly silence
# Any silence in a segment, its ends included (a padded tail is a known failure): longer than a dramatic
# pause ("...", about 1 s) and than the pauses bark puts between segments (at most 0.75 s by default).
MAX_SILENCE_SECONDS = 2.0
# loop: the share of the segment's n-grams of semantic tokens that repeat an earlier one (4 tokens are 80 ms).
# A held vowel or a pause repeats some; a syllable looped for most of a segment repeats most of them.
LOOP_NGRAM = 4
MAX_LOOP_SHARE = 0.5
MIN_LOOP_TOKENS = 50  # one second: shorter sequences hold too few n-grams to judge
# clipping: samples at full scale (|x| >= CLIP_LEVEL), as a share of all samples.
CLIP_LEVEL = 0.999
MAX_CLIPPED_SHARE = 0.001

CHECKS = ("runaway", "duration", "silence", "loop", "clipping")


@dataclass(frozen=True)
class Report:
    """The checks of one segment (or one audio file): each measure, and the checks that failed."""

    measures: dict[str, float | bool | None]
    flags: tuple[str, ...] = ()  # names from CHECKS, in that order
    score: float = 0.0  # 0 when every check passes; each failure adds 1 plus how far past its threshold
    checked: tuple[str, ...] = field(default=CHECKS)  # the checks that had what they need to run

    @property
    def passed(self) -> bool:
        return not self.flags

    def to_json(self) -> dict:
        return {"flags": list(self.flags), "checked": list(self.checked), "score": self.score, "measures": self.measures}

    @classmethod
    def from_json(cls, data: dict) -> Report:
        """The Report that `to_json` wrote (bark serve sends reports this way)."""
        return cls(dict(data["measures"]), tuple(data["flags"]), float(data["score"]), tuple(data["checked"]))


def level_dbfs(audio: np.ndarray) -> float:
    """RMS level of ``audio`` (N,) in dB relative to full scale; -inf for silence or no samples."""
    if audio.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def frame_levels(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """RMS level (dBFS) of each whole FRAME_SECONDS frame of ``audio``: (N // frame,)."""
    size = int(FRAME_SECONDS * sample_rate)
    frames = audio[: len(audio) // size * size].astype(np.float64).reshape(-1, size)  # (F, size)
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    return 20 * np.log10(np.maximum(rms, DIGITAL_SILENCE))


def activity(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(share of active frames, longest run of inactive frames in seconds, ends included) of ``audio``."""
    levels = frame_levels(audio, sample_rate)
    if levels.size == 0:
        return 0.0, 0.0
    threshold = max(ACTIVE_FLOOR_DBFS, float(np.percentile(levels, 95)) - ACTIVE_RANGE_DB)
    active = levels > threshold
    # Runs of inactive frames: the gaps between active frames, with a virtual active frame past each end.
    edges = np.flatnonzero(np.concatenate([[True], active, [True]]))
    longest = int(np.max(np.diff(edges)) - 1)
    return float(active.mean()), longest * FRAME_SECONDS


def loop_share(semantic: np.ndarray) -> float:
    """The share of ``semantic`` (T,)'s LOOP_NGRAM-grams that repeat an earlier one; 0 for short sequences."""
    if len(semantic) < MIN_LOOP_TOKENS:
        return 0.0
    grams = np.lib.stride_tricks.sliding_window_view(np.asarray(semantic, dtype=np.int64), LOOP_NGRAM)  # (T-3, 4)
    distinct = len(np.unique(grams, axis=0))
    return 1.0 - distinct / len(grams)


def clipped_share(audio: np.ndarray) -> float:
    return float(np.mean(np.abs(audio) >= CLIP_LEVEL)) if audio.size else 0.0


def measure(
    audio: np.ndarray,
    text: str | None = None,
    semantic: np.ndarray | None = None,
    max_tokens: int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> dict[str, float | bool | None]:
    """Every measure the checks read, of one segment's ``audio`` (N,) float; those that need the ``text``,
    the ``semantic`` tokens (T,) or the semantic token cap ``max_tokens`` are None without them."""
    seconds = len(audio) / sample_rate
    active, longest = activity(audio, sample_rate)
    level = level_dbfs(audio)  # -inf for silence or no samples
    measures: dict[str, float | bool | None] = {
        "seconds": round(seconds, 3),
        "estimate_seconds": None,
        "expected_seconds": None,  # the estimate, or the cap when shorter
        "duration_ratio": None,  # seconds / max(expected, MIN_ESTIMATE_SECONDS)
        "ended": None,
        "level_dbfs": round(float(level), 2) if np.isfinite(level) else None,
        "active_share": round(active, 4),
        "longest_silence": round(longest, 3),
        "loop_share": None,
        "clipped_share": round(clipped_share(audio), 6),
    }
    cap = None if max_tokens is None else max_tokens / SEMANTIC_RATE_HZ
    if text is not None:
        estimate = estimate_seconds(text)
        measures["estimate_seconds"] = round(estimate, 3)
        expected = estimate if cap is None else min(estimate, cap)
        measures["expected_seconds"] = round(expected, 3)
        measures["duration_ratio"] = round(seconds / max(expected, MIN_ESTIMATE_SECONDS), 4)
    if semantic is not None:
        measures["loop_share"] = round(loop_share(semantic), 4)
        if max_tokens is not None:
            measures["ended"] = bool(len(semantic) < max_tokens)
    if cap is not None:
        measures["cap_seconds"] = round(cap, 3)
    return measures


def judge(measures: dict[str, float | bool | None]) -> Report:
    """The Report of ``measures`` (from `measure`): which checks fail, and the score."""
    excess: dict[str, float] = {}  # check -> how far past its threshold, as a share of the threshold
    checked = []
    m = measures
    if m["ended"] is not None and m["estimate_seconds"] is not None and m.get("cap_seconds"):
        checked.append("runaway")
        if not m["ended"] and m["estimate_seconds"] < RUNAWAY_SHARE * m["cap_seconds"]:
            excess["runaway"] = 1.0 - m["estimate_seconds"] / m["cap_seconds"]
    if m["estimate_seconds"] is not None:
        checked.append("duration")
        ratio = m["duration_ratio"]
        low, high = DURATION_BAND
        if ratio < low and m["expected_seconds"] >= MIN_ESTIMATE_SECONDS:
            excess["duration"] = (low - ratio) / low
        elif ratio > high:
            excess["duration"] = (ratio - high) / high
    checked.append("silence")
    level = m["level_dbfs"]
    if level is None or level < SILENCE_FLOOR_DBFS:
        excess["silence"] = 1.0 if level is None else (SILENCE_FLOOR_DBFS - level) / abs(SILENCE_FLOOR_DBFS)
    elif m["active_share"] < MIN_ACTIVE_SHARE:
        excess["silence"] = (MIN_ACTIVE_SHARE - m["active_share"]) / MIN_ACTIVE_SHARE
    elif m["longest_silence"] > MAX_SILENCE_SECONDS:
        excess["silence"] = (m["longest_silence"] - MAX_SILENCE_SECONDS) / MAX_SILENCE_SECONDS
    if m["loop_share"] is not None:
        checked.append("loop")
        if m["loop_share"] > MAX_LOOP_SHARE:
            excess["loop"] = (m["loop_share"] - MAX_LOOP_SHARE) / MAX_LOOP_SHARE
    checked.append("clipping")
    if m["clipped_share"] > MAX_CLIPPED_SHARE:
        excess["clipping"] = min(m["clipped_share"] / MAX_CLIPPED_SHARE, 10.0) - 1.0
    flags = tuple(name for name in CHECKS if name in excess)
    score = sum(1.0 + value for value in excess.values())
    return Report(dict(measures), flags, round(score, 6), tuple(c for c in CHECKS if c in checked))


def check(
    audio: np.ndarray,
    text: str | None = None,
    semantic: np.ndarray | None = None,
    max_tokens: int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> Report:
    """Every check that the given inputs allow, of one segment or file (see `measure`)."""
    return judge(measure(audio, text, semantic, max_tokens, sample_rate))
