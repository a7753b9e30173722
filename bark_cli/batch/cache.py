"""A content-addressed cache of segment codes, so re-runs only render what is missing or changed.

The key of a segment (built by pipeline.Pipeline.segment_key) hashes everything that decides its codes:
the checkpoint (its fingerprint), the runtime options declared with ``key`` in options.py (device type,
precision, quantization), the voice's arrays, the segment text, the generation options declared with
``key``, and the segment's seed. The value is its semantic tokens and its 8 codebooks; audio is decoded
again from them (EnCodec is cheap).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_open
from ..voices.voice import Voice


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("bark-cli")) / "segments"


def voice_digest(voice: Voice | None) -> str:
    if voice is None:
        return "none"
    digest = hashlib.sha256()
    for array in (voice.semantic_prompt, voice.coarse_prompt, voice.fine_prompt):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        digest.update(str(array.shape).encode())
    return digest.hexdigest()


def content_key(fields: dict) -> str:
    """Hex key of ``fields`` (JSON-serialisable): the same fields, in any order, give the same key."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class CachedCodes:
    semantic: np.ndarray  # (T,)
    fine: np.ndarray  # (8, N)


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int


class SegmentCache:
    def __init__(self, root: Path | None = None):
        self.root = root or cache_dir()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> CachedCodes | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                return CachedCodes(data["semantic"].astype(np.int64), data["fine"].astype(np.int64))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
            return None  # missing or damaged: render it again

    def put(self, key: str, semantic: np.ndarray, fine: np.ndarray) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as stream:
            np.savez(stream, semantic=semantic.astype(np.int16), fine=fine.astype(np.int16))

    def info(self) -> CacheInfo:
        files = list(self.root.rglob("*.npz")) if self.root.is_dir() else []
        return CacheInfo(self.root, len(files), sum(f.stat().st_size for f in files))

    def clear(self) -> CacheInfo:
        info = self.info()
        if self.root.is_dir():
            shutil.rmtree(self.root)
        return info
