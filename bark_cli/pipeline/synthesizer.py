"""The loaded networks, running one batch of segments through semantic -> coarse -> fine -> codec."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..options import GenerationOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..runtime.threads import single_thread
from ..text.normalize import text_token_ids
from .segments import Segment, SegmentResult

if TYPE_CHECKING:
    from ..runtime.loading import Networks

# torch and the stages are imported where the networks are used, not here: a `bark say` that a running
# `bark serve` renders (serve/client.py) builds its Recording with this package and never loads torch.


class Synthesizer:
    """The loaded networks: runs one batch of segments through every stage. ``decoding`` is how the semantic
    and coarse decode steps run (runtime/decode.py; default: the best path for the device)."""

    def __init__(self, networks: Networks, decoding: str | None = None):
        from ..runtime.decode import DECODE_MODES, default_mode

        self.networks = networks
        self.decoding = decoding or default_mode(networks.device)
        if self.decoding not in DECODE_MODES or (self.decoding == "graph" and networks.device.type != "cuda"):
            raise ValueError(f"decoding {self.decoding!r} on {networks.device.type}")

    @classmethod
    def load(cls, options: RuntimeOptions) -> Synthesizer:
        from ..runtime.loading import load_networks

        return cls(load_networks(options))

    @property
    def tokenizer(self):
        return self.networks.tokenizer

    def token_ids(self, text: str) -> np.ndarray:
        return text_token_ids(self.networks.tokenizer, text)

    def generate(
        self, segments: list[Segment], options: GenerationOptions, progress: Progress = NullProgress()
    ) -> list[SegmentResult]:
        """Run all ``segments`` through every stage as one batch; results in the same order."""
        from ..runtime.decode import attention_kernels
        from ..stages.coarse import generate_coarse
        from ..stages.fine import generate_fine
        from ..stages.sampling import make_generators
        from ..stages.semantic import generate_semantic

        nets = self.networks
        ids = [self.token_ids(s.text) for s in segments]
        voices = [s.voice for s in segments]
        generators = make_generators([s.seed for s in segments], nets.device)
        mode = self.decoding
        with attention_kernels(nets.device):
            with nets.on_device(nets.semantic):
                semantic = generate_semantic(nets.semantic, ids, voices, options.semantic, generators, progress, mode)
            with nets.on_device(nets.coarse):
                coarse = generate_coarse(nets.coarse, semantic, voices, options.coarse, generators, progress, mode)
            with nets.on_device(nets.fine):
                fine = generate_fine(nets.fine, coarse, voices, options.fine, generators, progress)
        progress.start("codec", len(fine), "segments")
        audio = []
        for codes in fine:
            audio.append(self.decode(codes))
            progress.advance("codec")
        progress.finish("codec")
        return [SegmentResult(a, s, f) for a, s, f in zip(audio, semantic, fine)]

    windows = 1  # windows rendered at once by `bark batch` (pipeline/rounds.py): here one after the other

    def generate_many(
        self, batches: list[tuple[list[Segment], GenerationOptions]], progress: Progress = NullProgress()
    ) -> Iterator[list[SegmentResult]]:
        """Each batch's results, in order. Here each batch runs when its results are asked for; on a Ray
        cluster (cluster/workers.py) all are sent at once, to run while the caller waits for the first."""
        return (self.generate(segments, options, progress) for segments, options in batches)

    def peak_gpu_mib(self) -> float | None:
        """The most GPU memory held at once so far (MiB), on CUDA; None elsewhere."""
        device = self.networks.device
        if device.type != "cuda":
            return None
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20

    def decode(self, fine: np.ndarray) -> np.ndarray:
        from ..stages.codec import decode

        threads = single_thread() if self.networks.device.type == "cpu" else contextlib.nullcontext()
        with self.networks.on_device(self.networks.codec), threads:  # same bytes whatever --threads is
            return decode(self.networks.codec, fine)
