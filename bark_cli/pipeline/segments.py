"""What the pipeline renders and hands back: recordings, segments, their seeds and results (no torch here)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from ..options import GenerationOptions
from ..quality.checks import Report
from ..quality.takes import SEED_MODULUS
from ..voices.voice import FIRST_SEGMENT_VOICE, Voice


def segment_seeds(seed: int, texts: list[str]) -> list[int]:
    """Each segment's seed, by the seeds rule (pipeline/__init__.py)."""
    seen: dict[str, int] = {}
    seeds = []
    for text in texts:
        n = seen.get(text, 0)
        seen[text] = n + 1
        seeds.append((seed + zlib.crc32(text.encode("utf-8")) + n) % SEED_MODULUS)
    return seeds


@dataclass(frozen=True)
class Segment:
    """One generation's worth of text (<= 256 tokens), its voice and its own seed."""

    text: str
    voice: Voice | None = None
    seed: int = 0


@dataclass(frozen=True)
class SegmentResult:
    audio: np.ndarray  # (N * 320,) float32 at 24 kHz
    semantic: np.ndarray  # (T,) semantic tokens
    fine: np.ndarray  # (8, N) codes; fine[:2] are the coarse codes
    cached: bool = False  # the codes came from the segment cache
    seed: int | None = None  # the seed of the take kept (quality/takes.py)
    take: int = 0  # the number of the take kept (0: the first)
    takes: int = 1  # takes made of this segment
    report: Report | None = None  # the quality gate's checks of the take kept (None: gate off)


def voice_from(semantic: np.ndarray, fine: np.ndarray) -> Voice | None:
    """A segment's own output (semantic tokens, 8 codebooks) as a voice prompt; None for no speech."""
    if semantic.size == 0 or fine.shape[1] == 0:
        return None
    return Voice(FIRST_SEGMENT_VOICE, semantic, fine[:2], fine)


@dataclass
class Recording:
    """One text to render: its segments' texts, its voice (None: its first segment's), options, base seed."""

    texts: list[str]
    voice: Voice | None
    options: GenerationOptions
    seed: int
    seeds: list[int] = field(init=False)  # each segment's (the seeds rule)

    def __post_init__(self) -> None:
        self.seeds = segment_seeds(self.seed, self.texts)


@dataclass
class RenderStats:
    generated: int = 0  # takes generated through the stages (retakes included)
    cached: int = 0  # segments whose kept take came from the cache
    retaken: int = 0  # segments that needed more than one take
    flagged: int = 0  # segments whose kept take still fails a check
    compute_seconds: float = 0.0  # generating and decoding
