"""Native CPU kernels for ``--half`` batch-1 decode steps, compiled on first use (kernels/decode_bf16.c).

A batch-1 decode step multiplies one row by every weight of the network, so it runs at the speed the
weights are read. oneDNN's kernel for one row read them at about 21 GB/s on the 2-core AMX machine of
docs/PERFORMANCE.md; ``bark_gemv_bf16`` reads oneDNN's own prepacked buffer at about 30 GB/s, the speed of
``sum()``. ``bark_block_bf16`` runs a whole GPT block for one position in one call: in Python, the
block's 20-odd small ops cost about as much as its weights take to read. Larger batches and prefills stay
with oneDNN (AMX).

The C file ships with the package and is compiled once per machine with the system's C compiler into the
user cache (about half a second). No AVX512-BF16, no compiler, or a failed build: ``load_native`` returns
None and every linear stays with oneDNN, which gives the same results up to rounding.

A damaged library in the cache (a power loss, a full disk, a hand edit) would crash every ``--half`` run
with SIGBUS when loaded, with no message. So the build is written atomically and synced, with its SHA-256
beside it, and a cached library whose digest does not match is built again. `bark cache clear` removes
the cached libraries too (`clear_kernels`).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ...errors import OutputError
from ...files import atomic_open

log = logging.getLogger("bark_cli")

SOURCE = Path(__file__).with_name("kernels") / "decode_bf16.c"
# -fopenmp links libgomp.so.1; torch's CPU build has already loaded a libgomp.so.1, so the kernel's threads
# are torch's (torch.set_num_threads applies to both).
FLAGS = ["-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-fopenmp", "-shared", "-fPIC"]
BLOCK_ROWS = 64  # outputs per block of oneDNN's packed layout (see kernels/decode_bf16.c)
K_MULTIPLE = 32  # the layout pads K to this; the kernel takes unpadded K only
ELF_MAGIC = b"\x7fELF"


class BlockWeights(ctypes.Structure):
    """``bark_block`` of kernels/decode_bf16.c: one block's weight addresses (packed linears) and sizes."""

    _fields_ = [
        (name, ctypes.c_void_p)
        for name in ("ln1_w", "ln1_b", "attn_w", "attn_b", "attn_out_w", "attn_out_b")
        + ("ln2_w", "ln2_b", "mlp_in_w", "mlp_in_b", "mlp_out_w", "mlp_out_b")
    ] + [("n_embd", ctypes.c_int64), ("n_head", ctypes.c_int64), ("eps", ctypes.c_float)]


@dataclass(frozen=True)
class NativeKernels:
    library: ctypes.CDLL

    def block_bf16(self, weights: BlockWeights, x: torch.Tensor, kv: torch.Tensor, start: int, pos: int) -> torch.Tensor:
        """One block for one position: x (1, 1, C) bf16 -> (1, 1, C); its key and value go to kv (2, 1, nh,
        capacity, hs) at ``pos``; cached positions before ``start`` are padding."""
        x = x.clone(memory_format=torch.contiguous_format)  # updated in place by the kernel
        capacity = kv.shape[3]
        scratch = x.new_empty(9 * weights.n_embd)  # the block's intermediate rows (see bark_block_bf16)
        scores = torch.empty(weights.n_head * capacity)  # float32 attention weights, per head
        self.library.bark_block_bf16(
            ctypes.byref(weights), x.data_ptr(), kv.data_ptr(), capacity, start, pos, scratch.data_ptr(), scores.data_ptr()
        )
        return x

    def linear_bf16(self, x: torch.Tensor, packed_ptr: int, bias: torch.Tensor | None, out_features: int, gelu: bool) -> torch.Tensor:
        """(..., K) bf16, one row in all -> (..., N) bf16: the prepacked weight at ``packed_ptr`` times x."""
        x = x.contiguous()
        y = x.new_empty(*x.shape[:-1], out_features)
        bias_ptr = None if bias is None else bias.data_ptr()
        self.library.bark_gemv_bf16(x.data_ptr(), packed_ptr, bias_ptr, y.data_ptr(), out_features, x.shape[-1], int(gelu))
        return y


def kernel_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("bark-cli")) / "kernels"


def _unsupported() -> str | None:
    """Why this machine cannot run the kernel, or None if it can."""
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        return f"no native kernel for {sys.platform}/{platform.machine()}"
    if not getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "the CPU has no AVX512-BF16"
    return None


def _digest_file(library: Path) -> Path:
    return library.with_suffix(".sha256")


def _intact(library: Path) -> bool:
    """Whether ``library`` is, byte for byte, the one that was built (its digest file says which)."""
    try:
        return _digest_file(library).read_text().strip() == hashlib.sha256(library.read_bytes()).hexdigest()
    except OSError:
        return False


def _build(directory: Path, compiler: str) -> Path:
    """The compiled library for this source, compiler and flags, built into ``directory`` if missing or
    damaged (see the module docstring)."""
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join([compiler, *FLAGS]).encode()).hexdigest()[:16]
    target = directory / f"decode_bf16-{key}.so"
    if _intact(target):
        return target
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        built = Path(scratch) / target.name
        subprocess.run([compiler, *FLAGS, str(SOURCE), "-o", str(built)], check=True, capture_output=True, text=True)
        library = built.read_bytes()
    if not library.startswith(ELF_MAGIC):
        raise OSError(f"{compiler} wrote no shared library")
    # Digest first: a crash between the two writes leaves a library that fails the check, never one that
    # passes it damaged. Each is written atomically (a concurrent run never loads a half-written library).
    with atomic_open(_digest_file(target), "w", encoding="ascii") as stream:
        stream.write(hashlib.sha256(library).hexdigest() + "\n")
    with atomic_open(target) as stream:
        stream.write(library)
    log.info("compiled the native bf16 kernels in %.1f s (%s)", time.perf_counter() - started, target)
    return target


def clear_kernels(directory: Path | None = None) -> int:
    """Remove the compiled libraries (rebuilt on the next ``--half`` run); how many there were."""
    directory = directory or kernel_dir()
    count = len(list(directory.glob("*.so"))) if directory.is_dir() else 0
    shutil.rmtree(directory, ignore_errors=True)
    return count


def load_native(directory: Path | None = None) -> NativeKernels | None:
    """The native kernels, compiled into ``directory`` (the user cache) if needed; None where they cannot
    run here, with the reason logged."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    reason = _unsupported() or (None if compiler else "no C compiler (cc; or set CC)")
    if reason is None:
        try:
            path = _build(directory or kernel_dir(), compiler)
            library = ctypes.CDLL(str(path))
        except (OSError, OutputError, subprocess.CalledProcessError) as exc:
            detail = exc.stderr.strip().splitlines()[-1:] if isinstance(exc, subprocess.CalledProcessError) else [str(exc)]
            reason = f"the native kernel did not build or load ({' '.join(detail)})"
    if reason is not None:
        log.info("%s: --half decode steps use oneDNN's kernel", reason)
        return None
    library.bark_gemv_bf16.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64] * 2 + [ctypes.c_int]
    library.bark_gemv_bf16.restype = None
    library.bark_block_bf16.argtypes = [ctypes.POINTER(BlockWeights)] + [ctypes.c_void_p] * 2 + [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 2
    library.bark_block_bf16.restype = None
    log.info("--half decode steps use the native kernels (%s)", path)
    return NativeKernels(library)


def packed_layout_matches(weight: torch.Tensor, packed: torch.Tensor) -> bool:
    """Whether oneDNN packed ``weight`` (N, K) into the layout kernels/decode_bf16.c reads.

    oneDNN picks its layout by CPU and shape, so this compares the first and last blocks of 64 rows
    with that layout built from ``weight`` itself.
    """
    N, K = weight.shape
    blocks = -(-N // BLOCK_ROWS)
    try:
        if K % K_MULTIPLE or torch.ops.mkldnn._nbytes(packed) != blocks * BLOCK_ROWS * K * 2:
            return False
        buffer = (ctypes.c_uint16 * (blocks * BLOCK_ROWS * K)).from_address(torch.ops.mkldnn.data_ptr(packed))
    except (AttributeError, RuntimeError):
        return False
    stored = torch.frombuffer(buffer, dtype=torch.bfloat16).view(blocks, K // K_MULTIPLE, K_MULTIPLE // 2, BLOCK_ROWS, 2)
    for block in {0, blocks - 1}:
        rows = weight[block * BLOCK_ROWS : (block + 1) * BLOCK_ROWS]  # (r, K), r <= 64
        expected = rows.reshape(len(rows), K // K_MULTIPLE, K_MULTIPLE // 2, 2).permute(1, 2, 0, 3)  # (K/32, 16, r, 2)
        if not torch.equal(stored[block, :, :, : len(rows)], expected):
            return False
    return True
