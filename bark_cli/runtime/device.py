"""Which device the networks run on, and in which precision."""

from __future__ import annotations

import torch

from ..errors import DeviceError


def resolve_device(name: str) -> torch.device:
    """The device ``--device`` names ("auto": CUDA, then MPS, then the CPU); DeviceError where it is missing."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda: no CUDA GPU is available to this torch build; use --device cpu")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("--device mps: Apple's Metal backend is not available here; use --device cpu")
    return device


def half_dtype(device: torch.device) -> torch.dtype:
    """fp16 on accelerators; bf16 on the CPU, where fp16 matmuls are slow and bf16 runs on AVX512/AMX."""
    return torch.bfloat16 if device.type == "cpu" else torch.float16


def network_dtype(device: torch.device, half: bool) -> torch.dtype:
    """The dtype of the three GPTs (--half or not); EnCodec always runs in float32."""
    return half_dtype(device) if half else torch.float32
