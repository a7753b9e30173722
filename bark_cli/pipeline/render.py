"""`Pipeline`: renders recordings with one checkpoint and runtime, through the segment cache and the gate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..batch.cache import SegmentCache, content_key, voice_digest
from ..options import GenerationOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..schema import key_values
from ..text.normalize import count_tokens
from ..text.segmenter import TextSegment, split_text
from ..voices.voice import Voice
from .segments import Recording, RenderStats, SegmentResult
from .synthesizer import Synthesizer


class Pipeline:
    """Renders recordings with one checkpoint and runtime; the networks load on the first segment that needs
    them (`bark batch` with everything cached, or `bark split`, load the tokenizer only)."""

    def __init__(
        self,
        runtime: RuntimeOptions,
        cache: SegmentCache | None = None,
        progress: Progress = NullProgress(),
        reuse: bool = True,
        synthesizer: Synthesizer | None = None,
        retakes: int = 0,
    ):
        """``cache``: where segment codes are kept (None: nowhere); ``reuse`` False generates every segment
        again and refreshes the cache (bark batch --force); ``synthesizer``: networks already loaded
        with ``runtime`` (else they load when first needed); ``retakes``: the quality gate's retakes per
        segment (0: no checks)."""
        self.runtime, self.cache, self.progress, self.reuse = runtime, cache, progress, reuse
        self.retakes = retakes
        self.stats = RenderStats()
        self._synthesizer = synthesizer
        self._tokenizer = None
        self._runtime_key: dict | None = None

    @property
    def synthesizer(self) -> Synthesizer:
        if self._synthesizer is None:
            self._synthesizer = Synthesizer.load(self.runtime)
        return self._synthesizer

    @property
    def loaded(self) -> bool:
        """Whether the networks have been loaded (a run with everything cached may never need them)."""
        return self._synthesizer is not None

    @property
    def tokenizer(self):
        if self._synthesizer is not None:
            return self._synthesizer.tokenizer
        if self._tokenizer is None:
            from ..runtime.loading import load_tokenizer

            self._tokenizer = load_tokenizer(self.runtime.model)
        return self._tokenizer

    def plan(self, text: str, segment_seconds: float, language: str | None = None) -> list[TextSegment]:
        """``text`` split into segments that each fit one generation (text/segmenter.py)."""
        return split_text(text, lambda t: count_tokens(self.tokenizer, t), segment_seconds, language)

    @property
    def runtime_key(self) -> dict:
        """The runtime options that decide the codes, resolved: the checkpoint's fingerprint for its name,
        the device type for "auto"."""
        if self._runtime_key is None:
            from ..runtime.device import resolve_device
            from ..runtime.hub import checkpoint_dir, fingerprint

            resolved = replace(
                self.runtime,
                model=fingerprint(checkpoint_dir(self.runtime.model)) + ":" + self.runtime.model,
                device=resolve_device(self.runtime.device).type,
            )
            self._runtime_key = key_values(resolved)
        return self._runtime_key

    def segment_key(self, voice: Voice | None, text: str, options: GenerationOptions, seed: int) -> str:
        """The cache key of one segment's codes (batch/cache.py)."""
        return content_key(
            {**self.runtime_key, **key_values(options), "voice": voice_digest(voice), "text": text, "seed": seed}
        )

    def render(
        self, recordings: list[Recording], batch_size: int, in_order: bool = False, windows: list[int] | None = None
    ) -> Iterator[tuple[int, int, SegmentResult]]:
        """Yield (recording index, segment index, result) for every segment, each recording's segments in
        order, each as soon as it and the ones before it are done (pipeline/rounds.py). Voice-less
        recordings get their voice (``recording.voice``) from their first segment here. ``windows``: each
        recording's window (default: one for all); windows render at once, as if one after the other."""
        from .rounds import Rounds

        self.progress.start("segments", sum(len(r.texts) for r in recordings), "segments")
        rounds = Rounds(self, recordings, windows or [0] * len(recordings), batch_size, in_order)
        yield from rounds.results()
        self.progress.finish("segments")

    def decode(self, fine: np.ndarray) -> np.ndarray:
        """Audio for cached codes (8, N), timed as compute."""
        started = time.perf_counter()
        audio = self.synthesizer.decode(fine)
        self.stats.compute_seconds += time.perf_counter() - started
        return audio
