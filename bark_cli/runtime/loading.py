"""Loading a Bark checkpoint (hub id or local directory, see hub.py) onto a device: one explicit `Networks`.

All four networks and the tokenizer come from one checkpoint in the transformers format (checkpoint.py
reads it), into our own modules: no transformers import on the way, which costs about 2 s of every
process. Nothing is kept in module state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import torch

from ..constants import COARSE_CODEBOOK_VOCAB
from ..errors import DeviceError, WeightsNotFoundError, out_of_memory
from ..options import RuntimeOptions
from .cpu.linears import can_prepack, prepack_linears, quantize_linears
from .cpu.native import load_native
from .cpu.residency import return_free_memory, to_releasing
from .device import network_dtype, resolve_device
from .checkpoint import CODEC, COARSE, CONFIG_KEYS, FINE, SEMANTIC, read_config, read_weights, sub_state
from .encodec import Codec, build_codec
from .gpt import CausalGPT, FineGPT, GPTConfig, build_gpt
from .hub import checkpoint_dir
from .tokenizer import Tokenizer, load_tokenizer_from

log = logging.getLogger("bark_cli")


@dataclass
class Networks:
    semantic: CausalGPT
    coarse: CausalGPT
    fine: FineGPT
    codec: Codec  # EnCodec's decoder; always float32 (its LSTMs are cheap and sensitive)
    tokenizer: Tokenizer
    device: torch.device  # where the networks run
    cpu_offload: bool  # networks wait on the CPU and visit `device` only while their stage runs

    @contextlib.contextmanager
    def on_device(self, net: torch.nn.Module):
        """Run a stage with ``net`` on the device (moving it there and back when offloading)."""
        if not self.cpu_offload:
            yield net
            return
        net.to(self.device)
        try:
            yield net
        finally:
            net.to("cpu")
            if self.device.type == "cuda":
                torch.cuda.empty_cache()


def load_tokenizer(model: str) -> Tokenizer:
    """The checkpoint's tokenizer alone (for planning segments without loading any network)."""
    path = checkpoint_dir(model, weights=False)
    try:
        return load_tokenizer_from(path)
    except WeightsNotFoundError as exc:
        raise WeightsNotFoundError(f"--model {model}: {exc}") from exc


def load_networks(options: RuntimeOptions) -> Networks:
    """Load every network of the checkpoint named by ``options.model`` onto ``options.device``."""
    from .threads import set_threads

    set_threads(options.threads)  # before any work, so that loading runs with them too
    device = resolve_device(options.device)
    dtype = network_dtype(device, options.half)
    if options.quantize and device.type != "cpu":
        raise DeviceError(f"--quantize {options.quantize} runs on the CPU only; use --half on {device.type}")
    started = time.perf_counter()
    path = checkpoint_dir(options.model)
    try:
        config, weights, tokenizer = read_config(path), read_weights(path), load_tokenizer_from(path)
    except WeightsNotFoundError as exc:  # the readers know the file, the user knows the flag
        raise WeightsNotFoundError(f"--model {options.model}: {exc}") from exc
    try:
        networks = networks_from_state(config, weights, tokenizer, device, dtype, options.cpu_offload, options.quantize)
    except (KeyError, RuntimeError, ValueError) as exc:  # missing or misshapen weights
        oom = out_of_memory(exc)
        if oom is not None:  # torch's CUDA out-of-memory error is a RuntimeError too
            raise oom from exc
        raise WeightsNotFoundError(f"--model {options.model}: not a loadable Bark checkpoint ({exc})") from exc
    del weights  # in half precision, the float32 tensors (file pages by now)
    return_free_memory()
    extras = (", cpu offload" if options.cpu_offload else "") + (f", {options.quantize} weights" if options.quantize else "")
    log.info("loaded %s in %.2f s: device %s, dtype %s%s", path, time.perf_counter() - started, device,
             str(dtype).removeprefix("torch."), extras)  # fmt: skip
    return networks


def networks_from_bark(bark, tokenizer, device: torch.device, dtype: torch.dtype, cpu_offload: bool = False, quantize=None) -> Networks:
    """Our networks sharing the weights of a transformers ``BarkModel`` in memory (tests, the benchmark)."""
    return networks_from_state(bark.config.to_dict(), bark.state_dict(), tokenizer, device, dtype, cpu_offload, quantize)


def networks_from_state(
    config: dict,
    weights: dict[str, torch.Tensor],
    tokenizer,
    device: torch.device,
    dtype: torch.dtype,
    cpu_offload: bool = False,
    quantize: str | None = None,
) -> Networks:
    """Our networks from a checkpoint's config and weights (transformers' names), converted to ``dtype`` and
    placed on ``device`` (or on the CPU, to visit the device stage by stage, with ``cpu_offload``).

    ``quantize="int8"`` gives the semantic and coarse networks int8 weights (the decode-bound stages; the
    fine stage is compute-bound: 1,024 positions at once).
    """
    home = torch.device("cpu") if cpu_offload else device

    def gpt(name: str):
        return build_gpt(GPTConfig.from_dict(config.get(CONFIG_KEYS[name], {}), fine=name == FINE), sub_state(weights, name))

    # A memory-mapped checkpoint's float32 pages are released as they are converted (see residency.py).
    semantic = to_releasing(gpt(SEMANTIC), home, dtype)
    coarse = gpt(COARSE)
    coarse.add_head_slices(COARSE_CODEBOOK_VOCAB)
    coarse = to_releasing(coarse, home, dtype)
    fine = to_releasing(gpt(FINE), home, dtype)
    codec = build_codec(config.get(CONFIG_KEYS[CODEC], {}), sub_state(weights, CODEC)).to(home)
    if quantize == "int8":
        # Before any packing: quantize_linears replaces plain nn.Linear modules only.
        semantic, coarse = quantize_linears(semantic), quantize_linears(coarse)
    if device.type == "cpu" and dtype == torch.bfloat16 and can_prepack():
        # --half on the CPU: decode steps are bound by reading weights; prepacked bf16 reads them once.
        native = load_native()
        if quantize != "int8":
            semantic, coarse = prepack_linears(semantic, native), prepack_linears(coarse, native)
        fine = prepack_linears(fine, native)
    return Networks(semantic, coarse, fine, codec, tokenizer, device, cpu_offload)
