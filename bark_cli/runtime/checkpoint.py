"""A Bark checkpoint in the transformers format, read without transformers: its config and its weights.

The weights come memory-mapped (safetensors, single file or shards; or `pytorch_model*.bin`), so a tensor's
pages are read only when used and can be handed back after a conversion (cpu/residency.py). Names are
transformers' (``semantic.*``, ``coarse_acoustics.*``, ``fine_acoustics.*``, ``codec_model.*``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import WeightsNotFoundError, out_of_memory

# BarkModel's sub-models: the attribute (the prefix of its weights) and the key of its config.
SEMANTIC, COARSE, FINE, CODEC = "semantic", "coarse_acoustics", "fine_acoustics", "codec_model"
CONFIG_KEYS = {SEMANTIC: "semantic_config", COARSE: "coarse_acoustics_config", FINE: "fine_acoustics_config", CODEC: "codec_config"}


def read_config(path: Path) -> dict:
    """config.json of a Bark checkpoint; WeightsNotFoundError when it is missing, broken or not Bark's."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WeightsNotFoundError(f"{path}/config.json cannot be read as a Bark config ({exc})") from exc
    if not isinstance(config, dict) or config.get("model_type") != "bark":
        raise WeightsNotFoundError(f"{path} is not a Bark checkpoint (its config.json has no model_type \"bark\")")
    return config


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the checkpoint by name, memory-mapped where the format allows."""
    try:
        shards = _safetensors_files(path)
        if shards:
            from safetensors import safe_open

            weights = {}
            for shard in shards:
                with safe_open(str(shard), framework="pt", device="cpu") as f:
                    weights.update({name: f.get_tensor(name) for name in f.keys()})
            return weights
        bins = sorted(path.glob("pytorch_model*.bin"))
        if bins:
            weights = {}
            for shard in bins:
                weights.update(torch.load(shard, map_location="cpu", mmap=True, weights_only=True))
            return weights
    except Exception as exc:  # a truncated or foreign file: every reader raises its own kind
        oom = out_of_memory(exc)
        if oom is not None:  # the file is fine; this machine cannot map it now
            raise oom from exc
        raise WeightsNotFoundError(f"the weights in {path} cannot be read ({type(exc).__name__}: {exc})") from exc
    raise WeightsNotFoundError(f"{path} holds no weights (model.safetensors or pytorch_model.bin)")


def _safetensors_files(path: Path) -> list[Path]:
    index = path / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [path / name for name in names]
    return sorted(path.glob("model*.safetensors"))


def sub_state(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The weights of one sub-model, their names without its prefix."""
    start = prefix + "."
    return {name[len(start) :]: tensor for name, tensor in weights.items() if name.startswith(start)}
