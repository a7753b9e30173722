"""Loading a Bark checkpoint (hub id or local directory, see hub.py) onto a device: one explicit `Networks`.

All four networks and the tokenizer come from one checkpoint in the transformers format; nothing is kept
in module state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import torch

from ..constants import COARSE_CODEBOOK_VOCAB
from ..errors import DeviceError, WeightsNotFoundError
from ..options import RuntimeOptions
from .cpu.linears import can_prepack, prepack_linears, quantize_linears
from .cpu.native import load_native
from .cpu.residency import return_free_memory, to_releasing
from .device import network_dtype, resolve_device
from .gpt import CausalGPT, FineGPT, from_transformers
from .hub import checkpoint_dir

log = logging.getLogger("bark_cli")


@dataclass
class Networks:
    semantic: CausalGPT
    coarse: CausalGPT
    fine: FineGPT
    codec: torch.nn.Module  # transformers EncodecModel; always float32 (its LSTMs are cheap and sensitive)
    tokenizer: object  # transformers BertTokenizer
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


def _quiet_transformers() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load_tokenizer(model: str):
    """The checkpoint's BERT tokenizer alone (for planning segments without loading any network)."""
    path = checkpoint_dir(model, weights=False)
    _quiet_transformers()
    from transformers import BertTokenizer

    try:
        return BertTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise WeightsNotFoundError(f"--model {model}: no BERT tokenizer in the checkpoint ({exc})") from exc


def load_networks(options: RuntimeOptions) -> Networks:
    """Load every network of the checkpoint named by ``options.model`` onto ``options.device``."""
    device = resolve_device(options.device)
    dtype = network_dtype(device, options.half)
    if options.quantize and device.type != "cpu":
        raise DeviceError(f"--quantize {options.quantize} runs on the CPU only; use --half on {device.type}")
    started = time.perf_counter()
    path = checkpoint_dir(options.model)

    _quiet_transformers()
    from transformers import BarkModel, BertTokenizer

    try:
        bark = BarkModel.from_pretrained(path, dtype=torch.float32)
        tokenizer = BertTokenizer.from_pretrained(path)
    except (OSError, ValueError, KeyError) as exc:
        raise WeightsNotFoundError(f"--model {options.model}: not a loadable Bark checkpoint ({exc})") from exc
    log.info("loaded %s in %.2f s", path, time.perf_counter() - started)
    networks = networks_from_bark(bark, tokenizer, device, dtype, options.cpu_offload, options.quantize)
    del bark  # in half precision, the float32 GPTs (file pages by now) and the modules holding them
    return_free_memory()
    extras = (", cpu offload" if options.cpu_offload else "") + (f", {options.quantize} weights" if options.quantize else "")
    log.info("device %s, dtype %s%s", device, str(dtype).removeprefix("torch."), extras)
    return networks


def networks_from_bark(
    bark,
    tokenizer,
    device: torch.device,
    dtype: torch.dtype,
    cpu_offload: bool = False,
    quantize: str | None = None,
) -> Networks:
    """Our networks sharing a transformers ``BarkModel``'s weights, converted to ``dtype`` and placed on
    ``device`` (or on the CPU, to visit the device stage by stage, with ``cpu_offload``).

    ``quantize="int8"`` gives the semantic and coarse networks int8 weights (the decode-bound stages; the
    fine stage is compute-bound: 1,024 positions at once).
    """
    home = torch.device("cpu") if cpu_offload else device
    # A memory-mapped checkpoint's float32 pages are released as they are converted (see residency.py).
    semantic = to_releasing(from_transformers(bark.semantic), home, dtype)
    coarse = from_transformers(bark.coarse_acoustics)
    coarse.add_head_slices(COARSE_CODEBOOK_VOCAB)
    coarse = to_releasing(coarse, home, dtype)
    fine = to_releasing(from_transformers(bark.fine_acoustics), home, dtype)
    codec = bark.codec_model.eval().requires_grad_(False).to(home)
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
