"""Stage 3: coarse codes -> all 8 codebooks, with the non-causal fine GPT over 1,024-frame windows.

Reference: suno-ai/bark 0.1.5 ``generate_fine``, batched. Each row is prefixed with up to 512 frames of
the voice's fine prompt and padded to at least one window; windows step by 512 frames, and within a window
codebooks 2..7 are predicted one after another for the frames not yet filled. Every window is exactly
1,024 frames, so the n-th windows of all rows form one batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..constants import CODEBOOK_SIZE, FINE_HISTORY, FINE_PAD_CODE, FINE_WINDOW, N_COARSE_CODEBOOKS, N_FINE_CODEBOOKS
from ..runtime.gpt import FineGPT
from ..options import FineOptions
from ..progress import NullProgress, Progress
from .sampling import draw, probabilities, uniforms
from ..voices.voice import Voice

STAGE = "fine"


class _Row:
    def __init__(self, coarse: np.ndarray, voice: Voice | None):
        self.n_frames = coarse.shape[1]
        codes = np.full((N_FINE_CODEBOOKS, self.n_frames), FINE_PAD_CODE, dtype=np.int64)
        codes[:N_COARSE_CODEBOOKS] = coarse
        history = np.empty((N_FINE_CODEBOOKS, 0), dtype=np.int64) if voice is None else voice.fine_prompt
        history = history[:, -FINE_HISTORY:]
        self.n_history = history.shape[1]
        codes = np.concatenate([history, codes], axis=1)
        # The model is non-causal over a whole window: pad short inputs to one window.
        self.n_padding = max(0, FINE_WINDOW - codes.shape[1])
        self.codes = np.pad(codes, ((0, 0), (0, self.n_padding)), constant_values=FINE_PAD_CODE)  # (8, L)
        overflow = self.n_frames - (FINE_WINDOW - self.n_history)
        self.n_windows = max(0, math.ceil(overflow / FINE_HISTORY)) + 1

    def window(self, n: int) -> tuple[int, int]:
        """Start of window n and of the part of it to fill, both in frames of ``codes``."""
        length = self.codes.shape[1]
        start = min(n * FINE_HISTORY, length - FINE_WINDOW)
        fill = min(self.n_history + n * FINE_HISTORY, length - FINE_HISTORY)
        return start, fill

    def result(self) -> np.ndarray:
        return self.codes[:, self.n_history : self.n_history + self.n_frames]


@torch.no_grad()
def generate_fine(
    net: FineGPT,
    coarse: list[np.ndarray],
    voices: list[Voice | None],
    options: FineOptions,
    generators: list[torch.Generator],
    progress: Progress = NullProgress(),
) -> list[np.ndarray]:
    """All codes (8, N_i) int64 for each row's coarse codes (2, N_i)."""
    device = net.position_embeds_layer.weight.device
    rows = [_Row(c, v) for c, v in zip(coarse, voices)]
    todo = [i for i, row in enumerate(rows) if row.n_frames > 0]
    progress.start(STAGE, sum(rows[i].n_windows for i in todo), "windows")
    for n in range(max((rows[i].n_windows for i in todo), default=0)):
        batch_rows = [i for i in todo if n < rows[i].n_windows]
        spans = [rows[i].window(n) for i in batch_rows]
        window = np.stack([rows[i].codes[:, s : s + FINE_WINDOW].T for i, (s, _) in zip(batch_rows, spans)])
        window = torch.from_numpy(window).to(device)  # (b, 1024, 8)
        row_generators = [generators[i] for i in batch_rows]
        for codebook in range(N_COARSE_CODEBOOKS, N_FINE_CODEBOOKS):
            logits = net(window, codebook)[:, :, :CODEBOOK_SIZE]  # (b, 1024, 1024)
            probs = probabilities(logits, options.temperature)
            for k, ((start, fill), generator) in enumerate(zip(spans, row_generators)):
                rel = fill - start
                uniform = None if options.temperature == 0 else uniforms([generator], FINE_WINDOW - rel, device)
                window[k, rel:, codebook] = draw(probs[k : k + 1, rel:], options.temperature, uniform)[0]
        window = window.cpu().numpy()
        for k, (i, (start, fill)) in enumerate(zip(batch_rows, spans)):
            rel = fill - start
            rows[i].codes[N_COARSE_CODEBOOKS:, fill : fill + FINE_WINDOW - rel] = window[k, rel:, N_COARSE_CODEBOOKS:].T
        progress.advance(STAGE, len(batch_rows))
    progress.finish(STAGE)
    return [row.result() for row in rows]
