"""Audio out: formats by extension, joins, and atomic writes (a temporary name renamed into place)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .constants import SAMPLE_RATE
from .errors import OutputError

# Extension -> (libsndfile format, subtype). 16-bit PCM unless the format is lossy.
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}


def output_format(path: Path) -> tuple[str, str]:
    """The (format, subtype) for ``path``'s extension; an error before any generation when unknown."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise OutputError(f"cannot write {path}: unknown audio extension {suffix or '(none)'!r}; use one of {known}")
    return FORMATS[suffix]


def check_output(path: Path) -> None:
    """Fail early, before minutes of generation, if ``path`` cannot be written."""
    output_format(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {parent} is not writable")


def write_audio(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono float ``audio`` (N,) to ``path`` atomically: readers see the old file or the whole new one."""
    import soundfile

    file_format, subtype = output_format(path)
    parent = path.parent if str(path.parent) else Path(".")
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            soundfile.write(stream, np.clip(audio, -1.0, 1.0), sample_rate, format=file_format, subtype=subtype)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
