"""Stage 4: 8 codebooks -> waveform, with the EnCodec 24 kHz decoder that ships inside the Bark checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from ..constants import SAMPLES_PER_FRAME


@torch.no_grad()
def decode(codec, codes: np.ndarray) -> np.ndarray:
    """Float32 mono audio (N * 320,) in [-1, 1]-ish for codes (8, N).

    Rows are decoded one at a time: EnCodec's LSTM would carry padding of a shorter row into its audio.
    """
    if codes.shape[1] == 0:
        return np.zeros(0, dtype=np.float32)
    device = next(codec.parameters()).device
    indices = torch.from_numpy(codes).long().to(device)[:, None, :]  # (n_q, 1, N)
    embeddings = codec.quantizer.decode(indices)  # (1, D, N)
    audio = codec.decoder(embeddings)  # (1, 1, N * 320)
    audio = audio[0, 0].float().cpu().numpy()
    if audio.shape[0] != codes.shape[1] * SAMPLES_PER_FRAME:
        raise RuntimeError(f"codec returned {audio.shape[0]} samples for {codes.shape[1]} frames")
    return audio
