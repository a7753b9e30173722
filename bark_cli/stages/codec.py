"""Stage 4: 8 codebooks -> waveform, with the EnCodec 24 kHz decoder whose weights ship inside the checkpoint
(runtime/encodec.py)."""

from __future__ import annotations

import numpy as np
import torch

from ..constants import SAMPLES_PER_FRAME
from ..runtime.encodec import Codec


@torch.no_grad()
def decode(codec: Codec, codes: np.ndarray) -> np.ndarray:
    """Float32 mono audio (N * 320,) in [-1, 1]-ish for codes (8, N).

    One row at a time, always: batched, the convolutions' kernels change with the batch's shape and the
    last bits of the audio with them, and a segment decoded from the cache must give the bytes it gave when
    it was generated.
    """
    if codes.shape[1] == 0:
        return np.zeros(0, dtype=np.float32)
    device = next(codec.parameters()).device
    indices = torch.from_numpy(codes).long().to(device)[None]  # (1, n_q, N)
    audio = codec(indices)[0].float().cpu().numpy()  # (N * 320,)
    if audio.shape[0] != codes.shape[1] * SAMPLES_PER_FRAME:
        raise RuntimeError(f"codec returned {audio.shape[0]} samples for {codes.shape[1]} frames")
    return audio

