"""How a stage's decode steps run: one row at a time leaving as it finishes, or static shapes replayed as a
CUDA graph.

- ``dynamic`` (the CPU's path): the KV cache holds only the filled positions and finished rows leave the
  batch at once, so no step computes anything it does not need. Each step is a fresh set of kernels.
- ``static``: a step is one function of buffers that never move (`StaticCache`, logits, the tokens and
  draws of the whole generation): sample every row's next token from the current logits, feed the tokens to
  the network, keep the next logits. Nothing in it reads back to the host, and rows that finish are masked
  (their extra tokens are dropped afterwards) until the batch is compacted. On the CPU this runs eagerly:
  the same code as the graph, tested against the dynamic path and transformers.
- ``graph``: the static step captured once as a torch.cuda.CUDAGraph and replayed for every token. A
  batch-1 bark-small step is some 150 small kernels; launched one by one from Python they cost about 4.5 ms
  on an H200, replayed as a graph a fraction of that.

The same draws feed all three paths (stages/sampling.py `uniforms`), so a seed gives the same tokens
whichever runs, up to float rounding.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import torch

log = logging.getLogger("bark_cli")

DECODE_MODES = ("dynamic", "static", "graph")
CHECK_EVERY = 16  # static steps between looks at which rows have finished (each look waits for the device)


def default_mode(device: torch.device) -> str:
    """The path a device runs best: CUDA graphs on CUDA; elsewhere rows leaving as they finish."""
    return "graph" if device.type == "cuda" else "dynamic"


@contextlib.contextmanager
def attention_kernels(device: torch.device):
    """Choose SDPA's kernels on purpose on CUDA: flash and memory-efficient attention (and the math
    fallback), never cuDNN's, which plans anew for every new KV length: 0.9 ms of CPU per call for 6 us of
    GPU work in fp16 on an H200 (ten times slower than fp32 in all)."""
    if device.type != "cuda":
        yield
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
        yield


class StepRunner:
    """Runs a static ``step`` (a function of buffers that do not move): eagerly, or as a CUDA graph.

    ``state`` lists the buffers a step changes besides the KV cache's unused positions (logits, fill
    levels, counters): the warm-up step that capture needs is undone on them. ``pool`` shares graph memory
    between runners that never run at the same time.
    """

    def __init__(self, step: Callable[[], None], graph: bool, state: list[torch.Tensor], pool=None):
        self.step = step
        self.graph = None
        if not graph:
            return
        saved = [t.clone() for t in state]
        try:
            # Warm up outside the capture, on a side stream as torch asks: lazy set-up (cuBLAS workspaces,
            # kernel selection) must not happen while recording.
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                step()
            torch.cuda.current_stream().wait_stream(stream)
            for tensor, value in zip(state, saved):
                tensor.copy_(value)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph, pool=pool):
                step()
        except RuntimeError as exc:  # a GPU or driver that cannot capture: slower, but the same tokens
            log.warning("CUDA graph capture failed (%s); decode steps run one by one", str(exc).splitlines()[0])
            for tensor, value in zip(state, saved):
                tensor.copy_(value)
            self.graph = None

    @property
    def pool(self):
        return self.graph.pool() if self.graph is not None else None

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.step()
