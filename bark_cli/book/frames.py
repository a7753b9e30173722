"""Feeding float audio to a PyAV encoder in the fixed-size frames it wants, across chapter boundaries."""

from __future__ import annotations

import numpy as np


class FrameWriter:
    """Encodes mono float32 audio given in pieces of any length, ``frame_size`` samples per frame (the
    last one shorter), and muxes the packets into ``container``."""

    def __init__(self, container, stream, rate: int):
        self.container, self.stream, self.rate = container, stream, rate
        self.frame_size = stream.codec_context.frame_size or 1024
        self.carry = np.zeros(0, np.float32)  # samples given but not yet encoded (less than a frame)
        self.encoded = 0  # samples encoded so far: the next frame's time stamp

    def _encode(self, samples: np.ndarray | None) -> None:
        import av

        frame = None
        if samples is not None:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None, :]), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = self.rate, self.encoded
            self.encoded += len(samples)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def write(self, audio: np.ndarray) -> None:
        data = np.concatenate([self.carry, np.clip(audio, -1.0, 1.0).astype(np.float32)])
        whole = len(data) // self.frame_size * self.frame_size
        self.carry = data[whole:]
        for start in range(0, whole, self.frame_size):
            self._encode(data[start : start + self.frame_size])

    def close(self) -> None:
        """Encode what is left and flush the encoder."""
        if len(self.carry):
            rest, self.carry = self.carry, np.zeros(0, np.float32)
            self._encode(rest)
        self._encode(None)
