"""Where a checkpoint's files are: a local directory, or a Hugging Face hub id through the normal cache
(``HF_HOME``, ``HF_HUB_OFFLINE`` respected); which Bark checkpoints that cache holds; and a fingerprint
naming one exact checkpoint for cache keys."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import WeightsNotFoundError

# Files of a transformers Bark checkpoint that we need (not the speaker_embeddings/ folder).
CHECKPOINT_FILES = ["config.json", "generation_config.json", "*.txt", "tokenizer*", "special_tokens_map.json"]
SAFETENSORS_FILES = ["model*.safetensors", "model.safetensors.index.json"]
PYTORCH_FILES = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]


def fingerprint(path: Path) -> str:
    """Names this exact checkpoint: its config and the name, size and mtime of every weight file."""
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for weights in sorted(list(path.glob("*.safetensors")) + list(path.glob("*.bin"))):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


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


@dataclass(frozen=True)
class Downloadable:
    model: str  # hub id
    download_bytes: int  # about what `bark models download` fetches (rounded; not checked against the hub offline)
    about: str


# The checkpoints Suno publishes on the hub, for `bark models list`; shown as "~1.7 GB" until cached, then
# their size on disk.
CATALOGUE = (
    Downloadable("suno/bark-small", 1_700_000_000, "the default: fast, a little less natural"),
    Downloadable("suno/bark", 4_500_000_000, "the large model: slower, more natural"),
)


@dataclass(frozen=True)
class ModelRow:
    model: str
    size_bytes: int  # on disk when cached, else about what a download fetches
    cached: CachedCheckpoint | None
    about: str


def model_rows() -> list[ModelRow]:
    """The catalogue, each marked cached or not, then every other Bark checkpoint in the cache."""
    cached = {c.model: c for c in cached_checkpoints()}
    rows = [ModelRow(d.model, cached[d.model].size_bytes if d.model in cached else d.download_bytes,
                     cached.get(d.model), d.about) for d in CATALOGUE]  # fmt: skip
    known = {d.model for d in CATALOGUE}
    rows += [ModelRow(c.model, c.size_bytes, c, "") for c in cached.values() if c.model not in known]
    return rows
