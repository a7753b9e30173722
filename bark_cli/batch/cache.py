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
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import CODEBOOK_SIZE, MAX_SEMANTIC_STEPS, MAX_VOICE_FRAMES, N_FINE_CODEBOOKS, SEMANTIC_VOCAB_SIZE
from ..errors import OutputError
from ..files import atomic_open
from ..npz import ArrayFileError, read_npz
from ..voices.voice import Voice

log = logging.getLogger("bark_cli")
# The most values an entry's arrays may declare (one generation's codes: far less), checked before reading.
ENTRY_LIMITS = {"semantic": MAX_SEMANTIC_STEPS, "fine": N_FINE_CODEBOOKS * MAX_VOICE_FRAMES}


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


def _valid(semantic: np.ndarray, fine: np.ndarray) -> bool:
    """Whether cached arrays are codes the stages could have made (shapes, integer dtypes, ranges)."""
    if semantic.ndim != 1 or fine.ndim != 2 or fine.shape[0] != N_FINE_CODEBOOKS:
        return False
    if not (np.issubdtype(semantic.dtype, np.integer) and np.issubdtype(fine.dtype, np.integer)):
        return False
    in_range = semantic.size == 0 or (semantic.min() >= 0 and semantic.max() < SEMANTIC_VOCAB_SIZE)
    return in_range and (fine.size == 0 or (fine.min() >= 0 and fine.max() < CODEBOOK_SIZE))


class SegmentCache:
    """Entries are only ever an optimisation: a missing, damaged or unwritable one means the segment is
    generated (again), never that a run fails."""

    def __init__(self, root: Path | None = None):
        self.root = root or cache_dir()
        self._write_failed = False

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> CachedCodes | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            arrays = read_npz(path, ENTRY_LIMITS)
            semantic, fine = arrays["semantic"], arrays["fine"]
            if not _valid(semantic, fine):
                raise ArrayFileError("codes of the wrong shape or out of range")
        except (OSError, ArrayFileError, KeyError) as exc:
            log.warning("warning: damaged segment cache entry %s (%s): generating it again", path, exc)
            return None
        return CachedCodes(semantic.astype(np.int64), fine.astype(np.int64))

    def put(self, key: str, semantic: np.ndarray, fine: np.ndarray) -> None:
        path = self._path(key)
        try:
            if path.parent.exists() and not path.parent.is_dir():  # damage: a file where a folder goes
                path.parent.unlink()
            if path.is_dir():  # damage: a folder where an entry goes
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path) as stream:
                np.savez(stream, semantic=semantic.astype(np.int16), fine=fine.astype(np.int16))
        except (OSError, OutputError) as exc:
            if not self._write_failed:
                log.warning("warning: cannot write the segment cache (%s): going on without it", exc)
            self._write_failed = True

    def info(self) -> CacheInfo:
        files = list(self.root.rglob("*.npz")) if self.root.is_dir() else []
        return CacheInfo(self.root, len(files), sum(f.stat().st_size for f in files))

    def clear(self) -> CacheInfo:
        info = self.info()
        if self.root.is_dir():
            shutil.rmtree(self.root)
        return info
