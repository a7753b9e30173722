"""Converting checkpoint weights to another dtype without holding both copies in memory.

transformers memory-maps a safetensors checkpoint: its float32 tensors are pages of the file, read in
when first touched. Converting them to bf16 touches every page, and the mapping stays resident for the
life of the process, so `--half` on bark-small held the 1.6 GB float32 file as well as its 0.8 GB of bf16
copies. Here each tensor is converted a chunk at a time, and the chunk's file pages are handed back to the
kernel (madvise DONTNEED) as soon as it is copied. For a page of a file mapping that was never written
(checkpoint weights are only read) nothing is lost: a later read faults it in again from the file. Pages
that are not file-backed (weights built in memory) are never released.
"""

from __future__ import annotations

import bisect
import ctypes
import logging
import mmap
import sys

import torch

log = logging.getLogger("bark_cli")

MADV_DONTNEED = 4  # Linux <sys/mman.h>
CHUNK_BYTES = 16 << 20  # source bytes converted before their pages are released


def to_releasing(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """``module.to(device, dtype)``, releasing the file pages of every memory-mapped tensor it copies."""
    mappings = file_mappings()
    if not mappings:
        return module.to(device, dtype)
    madvise = ctypes.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

    def release(tensor: torch.Tensor) -> None:
        start = tensor.data_ptr()
        span = _inside(mappings, start, start + tensor.numel() * tensor.element_size())
        if span is not None and madvise(span[0], span[1] - span[0], MADV_DONTNEED) != 0:
            log.debug("madvise: errno %d", ctypes.get_errno())

    def convert(tensor: torch.Tensor) -> torch.Tensor:
        target = dtype if tensor.is_floating_point() else tensor.dtype  # as Module.to: ids keep their dtype
        copies = tensor.dtype != target or tensor.device != device
        rows_in_host_memory = tensor.device.type == "cpu" and tensor.is_contiguous() and tensor.dim() > 0
        if not (copies and rows_in_host_memory and tensor.numel() > 0):
            return tensor.to(device, target)  # no copy, or no host pages to release
        out = torch.empty(tensor.shape, dtype=target, device=device)
        rows = max(1, CHUNK_BYTES // (tensor[0].numel() * tensor.element_size()))  # numel > 0: rows are not empty
        for i in range(0, len(tensor), rows):
            out[i : i + rows].copy_(tensor[i : i + rows])
            release(tensor[i : i + rows])
        return out

    # Module.to is _apply with a converting function; this one converts row chunks and releases them.
    return module._apply(convert)


def return_free_memory() -> None:
    """Give the C heap's free pages back to the kernel (glibc): packing the weights frees their bf16 copies
    in pieces the allocator would otherwise keep (about 75 MiB for bark-small)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


def file_mappings() -> list[tuple[int, int]]:
    """Sorted (start, end) addresses of this process's file-backed mappings (Linux); empty elsewhere."""
    if not sys.platform.startswith("linux"):
        return []
    spans = []
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)  # start-end perms offset dev inode [path]
                if len(fields) == 6 and fields[4] != "0" and fields[5].startswith("/"):
                    start, end = (int(a, 16) for a in fields[0].split("-"))
                    spans.append((start, end))
    except OSError:
        return []
    return sorted(spans)


def _inside(mappings: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The whole pages of [start, end) when the range lies in one file mapping, else None."""
    i = bisect.bisect_right(mappings, (start, float("inf"))) - 1
    if i < 0 or end > mappings[i][1]:
        return None
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = end // mmap.PAGESIZE * mmap.PAGESIZE
    return (first, last) if last > first else None
