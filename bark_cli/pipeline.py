"""The pipeline: batches of segments through semantic -> coarse -> fine -> codec, on one `Synthesizer`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .stages.codec import decode
from .stages.coarse import generate_coarse
from .stages.fine import generate_fine
from .runtime.loading import Networks, load_networks
from .options import GenerationOptions, RuntimeOptions
from .progress import NullProgress, Progress
from .stages.sampling import make_generators
from .stages.semantic import generate_semantic
from .text.normalize import text_token_ids
from .voices.voice import Voice

SEED_MODULUS = 2**63  # per-segment seeds wrap around within torch's seed range


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


class Synthesizer:
    """The loaded networks, tokenizer, device, dtype and offload policy: created once, passed explicitly."""

    def __init__(self, networks: Networks):
        self.networks = networks

    @classmethod
    def load(cls, options: RuntimeOptions) -> Synthesizer:
        return cls(load_networks(options))

    def token_ids(self, text: str) -> np.ndarray:
        return text_token_ids(self.networks.tokenizer, text)

    def generate(
        self, segments: list[Segment], options: GenerationOptions, progress: Progress = NullProgress()
    ) -> list[SegmentResult]:
        """Run all ``segments`` through every stage as one batch; results in the same order."""
        nets = self.networks
        ids = [self.token_ids(s.text) for s in segments]
        voices = [s.voice for s in segments]
        generators = make_generators([s.seed for s in segments], nets.device)
        with nets.on_device(nets.semantic):
            semantic = generate_semantic(nets.semantic, ids, voices, options.semantic, generators, progress)
        with nets.on_device(nets.coarse):
            coarse = generate_coarse(nets.coarse, semantic, voices, options.coarse, generators, progress)
        with nets.on_device(nets.fine):
            fine = generate_fine(nets.fine, coarse, voices, options.fine, generators, progress)
        with nets.on_device(nets.codec):
            progress.start("codec", len(fine), "segments")
            audio = []
            for codes in fine:
                audio.append(decode(nets.codec, codes))
                progress.advance("codec")
            progress.finish("codec")
        return [SegmentResult(a, s, f) for a, s, f in zip(audio, semantic, fine)]


def segment_seed(seed: int, index: int) -> int:
    return (seed + index) % SEED_MODULUS


def voice_from(semantic: np.ndarray, fine: np.ndarray) -> Voice | None:
    """A segment's own output (semantic tokens, 8 codebooks) as a voice prompt; None for no speech."""
    if semantic.size == 0 or fine.shape[1] == 0:
        return None
    return Voice("(first segment)", semantic, fine[:2], fine)


def render(
    synthesizer: Synthesizer,
    texts: list[str],
    voice: Voice | None,
    options: GenerationOptions,
    seed: int,
    batch_size: int,
    progress: Progress = NullProgress(),
    in_order: bool = False,
) -> Iterator[tuple[int, SegmentResult]]:
    """Yield (index, result) for all ``texts`` in text order, each as soon as it and all before it are done.

    Segment i uses seed + i. With no ``voice``, the first segment runs alone and its output becomes the
    voice of the others, so one text keeps one speaker while the rest stay independent and batchable.
    Batches go longest first (rows of similar length idle less), or in text order with ``in_order``
    (for streaming: the first audio comes sooner).
    """
    progress.start("segments", len(texts), "segments")
    todo = list(range(len(texts)))
    done: dict[int, SegmentResult] = {}
    next_index = 0
    if voice is None and len(texts) > 1:
        [first] = synthesizer.generate([Segment(texts[0], None, seed)], options, progress)
        progress.advance("segments")
        voice = voice_from(first.semantic, first.fine)
        yield 0, first
        todo, next_index = todo[1:], 1
    if not in_order:
        lengths = {i: len(synthesizer.token_ids(texts[i])) for i in todo}
        todo.sort(key=lambda i: -lengths[i])
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        segments = [Segment(texts[i], voice, segment_seed(seed, i)) for i in batch]
        done.update(zip(batch, synthesizer.generate(segments, options, progress)))
        progress.advance("segments", len(batch))
        while next_index in done:
            yield next_index, done.pop(next_index)
            next_index += 1
    progress.finish("segments")
