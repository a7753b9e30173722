"""Writing files atomically: readers see the old file or the whole new one, never a partial write."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import OutputError


def parent_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_writable(path: Path, what: str = "cannot write") -> None:
    """Fail early, before minutes of generation, if ``path`` cannot be written."""
    if path.is_dir():
        raise OutputError(f"{what} {path}: it is a directory")
    parent = parent_of(path)
    if not parent.is_dir():
        raise OutputError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{what} {path}: directory {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", **kwargs):
    """Open a temporary file beside ``path``; on success rename it over ``path``, on any failure delete it."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent_of(path))
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a finished file gets the usual mode
        with os.fdopen(handle, mode, **kwargs) as stream:
            yield stream
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
