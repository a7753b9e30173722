"""Loading a Bark checkpoint (hub id or local directory) onto a device: one explicit `Networks` object.

All four networks and the tokenizer come from one checkpoint in the transformers format. Hub ids go through
the normal Hugging Face cache (``HF_HOME``, ``HF_HUB_OFFLINE`` respected); nothing is kept in module state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..constants import COARSE_CODEBOOK_VOCAB
from ..errors import DeviceError, WeightsNotFoundError
from .cpu.linears import can_prepack, prepack_linears, quantize_linears
from .cpu.native import load_native
from .gpt import CausalGPT, FineGPT, from_transformers
from ..options import RuntimeOptions
from .cpu.residency import return_free_memory, to_releasing

log = logging.getLogger("bark_cli")

# Files of a transformers Bark checkpoint that we need (not the speaker_embeddings/ folder).
CHECKPOINT_FILES = ["config.json", "generation_config.json", "*.txt", "tokenizer*", "special_tokens_map.json"]
SAFETENSORS_FILES = ["model*.safetensors", "model.safetensors.index.json"]
PYTORCH_FILES = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]


def fingerprint(path: Path) -> str:
    """Names this exact checkpoint: its config and the name, size and mtime of every weight file."""
    import hashlib

    digest = hashlib.sha256((path / "config.json").read_bytes())
    for weights in sorted(list(path.glob("*.safetensors")) + list(path.glob("*.bin"))):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@dataclass
class Networks:
    semantic: CausalGPT
    coarse: CausalGPT
    fine: FineGPT
    codec: torch.nn.Module  # transformers EncodecModel; always float32 (its LSTMs are cheap and sensitive)
    tokenizer: object  # transformers BertTokenizer
    device: torch.device  # where the networks run
    dtype: torch.dtype  # of the three GPTs
    cpu_offload: bool  # networks wait on the CPU and visit `device` only while their stage runs
    fingerprint: str = ""  # of the checkpoint (see `fingerprint`), for cache keys

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


def resolve_device(name: str) -> torch.device:
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


def checkpoint_dir(model: str, weights: bool = True) -> Path:
    """A local directory holding the checkpoint: ``model`` itself, or its snapshot in the hub cache.

    With ``weights`` False only the configuration and tokenizer files are fetched.
    """
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise WeightsNotFoundError(f"--model {model}: the directory has no config.json of a Bark checkpoint")
        return local
    if local.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise WeightsNotFoundError(f"--model {model}: no such directory (and it is not a Hugging Face model id)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    import os

    why = "HF_HUB_OFFLINE is set" if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") else "the hub cannot be reached"
    hint = (
        f"the weights of {model} are not in the local Hugging Face cache and {why}: "
        f"run `bark models download {model}` where the hub is reachable, "
        "or pass --model DIR with a local copy of the checkpoint"
    )
    try:
        if not weights:
            return Path(snapshot_download(model, allow_patterns=CHECKPOINT_FILES))
        path = Path(snapshot_download(model, allow_patterns=CHECKPOINT_FILES + SAFETENSORS_FILES))
        if not any(path.glob("model*.safetensors")):
            path = Path(snapshot_download(model, allow_patterns=CHECKPOINT_FILES + PYTORCH_FILES))
    except RepositoryNotFoundError as exc:
        raise WeightsNotFoundError(f"--model {model}: no such model on the Hugging Face hub") from exc
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        raise WeightsNotFoundError(hint) from exc
    return path


@dataclass(frozen=True)
class CachedCheckpoint:
    model: str  # hub id
    revision: str  # commit hash of the newest cached snapshot
    size_bytes: int  # on disk, all revisions
    path: Path  # the snapshot directory


def cached_checkpoints() -> list[CachedCheckpoint]:
    """Bark checkpoints in the local Hugging Face cache (``HF_HOME``/``HF_HUB_CACHE`` respected)."""
    import json

    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        cache = scan_cache_dir()
    except CacheNotFound:
        return []
    found = []
    for repo in cache.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        config = newest.snapshot_path / "config.json"
        try:
            is_bark = json.loads(config.read_text(encoding="utf-8")).get("model_type") == "bark"
        except (OSError, ValueError):
            is_bark = "bark" in repo.repo_id.lower()
        if is_bark:
            found.append(CachedCheckpoint(repo.repo_id, newest.commit_hash, repo.size_on_disk, newest.snapshot_path))
    return sorted(found, key=lambda c: c.model)


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
    dtype = half_dtype(device) if options.half else torch.float32
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
    networks = networks_from_bark(bark, tokenizer, device, dtype, options.cpu_offload, fingerprint(path))
    del bark  # in half precision, the float32 GPTs (file pages by now) and the modules holding them
    if options.quantize == "int8":
        # The decode-bound stages; the fine stage is compute-bound (1,024 positions at once).
        networks.semantic = quantize_linears(networks.semantic)
        networks.coarse = quantize_linears(networks.coarse)
    return_free_memory()
    extras = (", cpu offload" if options.cpu_offload else "") + (f", {options.quantize} weights" if options.quantize else "")
    log.info("device %s, dtype %s%s", device, str(dtype).removeprefix("torch."), extras)
    return networks


def networks_from_bark(
    bark, tokenizer, device: torch.device, dtype: torch.dtype, cpu_offload: bool = False, fingerprint: str = ""
) -> Networks:
    """Our networks sharing a transformers ``BarkModel``'s weights, converted to ``dtype`` and placed on
    ``device`` (or on the CPU, to visit the device stage by stage, with ``cpu_offload``)."""
    home = torch.device("cpu") if cpu_offload else device
    # A memory-mapped checkpoint's float32 pages are released as they are converted (see residency.py).
    semantic = to_releasing(from_transformers(bark.semantic), home, dtype)
    coarse = from_transformers(bark.coarse_acoustics)
    coarse.add_head_slices(COARSE_CODEBOOK_VOCAB)
    coarse = to_releasing(coarse, home, dtype)
    fine = to_releasing(from_transformers(bark.fine_acoustics), home, dtype)
    codec = bark.codec_model.eval().requires_grad_(False).to(home)
    if device.type == "cpu" and dtype == torch.bfloat16 and can_prepack():
        # --half on the CPU: decode steps are bound by reading weights; prepacked bf16 reads them once.
        native = load_native()
        semantic, coarse, fine = (prepack_linears(net, native) for net in (semantic, coarse, fine))
    return Networks(semantic, coarse, fine, codec, tokenizer, device, dtype, cpu_offload, fingerprint)
