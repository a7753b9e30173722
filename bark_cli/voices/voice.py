"""Voice presets: Bark ``.npz`` token prompts that condition all three stages, validated before use."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import (
    CODEBOOK_SIZE,
    MAX_VOICE_FRAMES,
    MAX_VOICE_SECONDS,
    MAX_VOICE_SEMANTIC,
    N_COARSE_CODEBOOKS,
    N_FINE_CODEBOOKS,
    SEMANTIC_VOCAB_SIZE,
)
from ..errors import VoiceError
from ..npz import ArrayFileError, read_npz, read_npy

VOICE_KEYS = ("semantic_prompt", "coarse_prompt", "fine_prompt")
# The most values each array of a voice file may declare: it is refused before anything is allocated.
VOICE_LIMITS = {
    "semantic_prompt": MAX_VOICE_SEMANTIC,
    "coarse_prompt": N_COARSE_CODEBOOKS * MAX_VOICE_FRAMES,
    "fine_prompt": N_FINE_CODEBOOKS * MAX_VOICE_FRAMES,
}
FIRST_SEGMENT_VOICE = "(first segment)"  # the name of a voice taken from a recording's first segment


@dataclass(frozen=True, eq=False)
class Voice:
    name: str
    semantic_prompt: np.ndarray  # (T,) int64 semantic tokens < 10,000
    coarse_prompt: np.ndarray  # (2, T') int64 codes < 1,024
    fine_prompt: np.ndarray  # (8, T') int64 codes < 1,024


def validate_voice(name: str, arrays: dict) -> Voice:
    """Check keys, dimensions, dtypes and ranges; raise VoiceError naming ``name`` and the problem."""
    missing = [k for k in VOICE_KEYS if k not in arrays]
    if missing:
        raise VoiceError(f"voice {name} lacks {', '.join(missing)} (a Bark voice has {', '.join(VOICE_KEYS)})")
    semantic, coarse, fine = (np.asarray(arrays[k]) for k in VOICE_KEYS)
    for key, array in zip(VOICE_KEYS, (semantic, coarse, fine)):
        if not np.issubdtype(array.dtype, np.integer):
            raise VoiceError(f"voice {name}: {key} holds {array.dtype} values, expected integer tokens")
    if semantic.ndim != 1 or semantic.size == 0:
        raise VoiceError(f"voice {name}: semantic_prompt must be a non-empty 1-D array, got shape {semantic.shape}")
    if coarse.ndim != 2 or coarse.shape[0] != N_COARSE_CODEBOOKS or coarse.shape[1] == 0:
        raise VoiceError(f"voice {name}: coarse_prompt must be 2 x T with T > 0, got shape {coarse.shape}")
    if fine.ndim != 2 or fine.shape[0] != N_FINE_CODEBOOKS or fine.shape[1] == 0:
        raise VoiceError(f"voice {name}: fine_prompt must be 8 x T with T > 0, got shape {fine.shape}")
    if semantic.size > MAX_VOICE_SEMANTIC or fine.shape[1] > MAX_VOICE_FRAMES:
        raise VoiceError(f"voice {name}: longer than {MAX_VOICE_SECONDS} s (Bark uses only its last few seconds)")
    if coarse.shape[1] != fine.shape[1]:
        raise VoiceError(
            f"voice {name}: coarse_prompt has {coarse.shape[1]} frames but fine_prompt {fine.shape[1]}; they must match"
        )
    if semantic.min() < 0 or semantic.max() >= SEMANTIC_VOCAB_SIZE:
        raise VoiceError(f"voice {name}: semantic_prompt values must be in 0..{SEMANTIC_VOCAB_SIZE - 1}")
    for key, array in (("coarse_prompt", coarse), ("fine_prompt", fine)):
        if array.min() < 0 or array.max() >= CODEBOOK_SIZE:
            raise VoiceError(f"voice {name}: {key} values must be in 0..{CODEBOOK_SIZE - 1}")
    return Voice(name, semantic.astype(np.int64), coarse.astype(np.int64), fine.astype(np.int64))


def load_voice_file(path: str | Path) -> Voice:
    """Read and validate a voice ``.npz``: its three arrays only, each checked before it is read, never
    unpickling anything (npz.py)."""
    path = Path(path)
    if not path.is_file():
        raise VoiceError(f"voice file {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise VoiceError(f"voice file {path} is not a Bark .npz voice (not an npz archive)")
    try:
        arrays = read_npz(path, VOICE_LIMITS)
    except (OSError, ArrayFileError) as exc:
        raise VoiceError(f"voice file {path} cannot be read as a Bark .npz voice ({exc})") from exc
    return validate_voice(str(path), arrays)


def load_voice_array(path: Path, key: str) -> np.ndarray:
    """One array of the transformers layout (``..._semantic_prompt.npy``), checked as in load_voice_file."""
    try:
        return read_npy(path, VOICE_LIMITS[key])
    except (OSError, ArrayFileError) as exc:
        raise VoiceError(f"voice file {path} cannot be read as a .npy array ({exc})") from exc
