"""Writing files safely: readers see the old file or the whole new one, never a partial write, and a file
bark should not replace is refused before any work.

A regular file is written under a temporary name beside it, flushed to disk (the file, then after the
rename its directory: a power loss leaves the old file or the new one, not an empty one) and renamed over
it. A device or a FIFO (``-o /dev/null``, a named pipe) is written through: renaming a file over it would
replace the device node itself. A read-only file is refused, as ``cp`` refuses it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import OutputError
from .signals import deferred

TEMP_SUFFIX = ".part"
NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems
# A temporary name is "." + the name + "." + 8 random characters + ".part": the name is cut to fit.
_TEMP_NAME_BYTES = NAME_MAX - len(".") - len(".") - 8 - len(TEMP_SUFFIX)


def parent_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def is_special(path: Path) -> bool:
    """A character device or a FIFO: written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _read_only(path: Path) -> bool:
    """An existing regular file that may not be written (its mode has no write bit: root, who may write
    anything, still gets it refused, as a careful ``cp`` would)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(mode) and (not mode & 0o222 or not os.access(path, os.W_OK))


def check_writable(path: Path, what: str = "cannot write") -> None:
    """Fail early, before minutes of generation, if ``path`` cannot be written."""
    if "\0" in str(path):
        raise OutputError(f"{what} {str(path)!r}: a file name cannot hold a NUL character")
    if len(os.fsencode(path.name)) > NAME_MAX:
        raise OutputError(f"{what} {path}: the file name is longer than {NAME_MAX} bytes")
    if path.is_dir():
        raise OutputError(f"{what} {path}: it is a directory")
    if is_special(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"{what} {path}: permission denied")
        return
    if _read_only(path):
        raise OutputError(f"{what} {path}: the file is read-only")
    parent = parent_of(path)
    if not parent.is_dir():
        raise OutputError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{what} {path}: directory {parent} is not writable")


def check_distinct(paths: dict[str, Path | None]) -> None:
    """Refuse two of a run's files on one path (``--manifest`` naming the ``-o`` file, or the input
    ``--file``): one would overwrite the other. ``paths``: each file by what it is ("the output (-o)");
    None, stdout ("-") and devices are left out."""
    seen: dict[str, str] = {}
    for what, path in paths.items():
        if path is None or str(path) == "-" or is_special(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise OutputError(f"{path} is both {seen[real]} and {what}: one would overwrite the other")
        seen[real] = what


def temp_prefix(path: Path) -> str:
    """The start of ``path``'s temporary names (the name cut so that a temporary name always fits)."""
    return "." + os.fsencode(path.name)[:_TEMP_NAME_BYTES].decode("utf-8", "ignore") + "."


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of ``path`` that a killed run left behind (only safe to remove holding its lock)."""
    prefix, parent = temp_prefix(path), parent_of(path)
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return [parent / n for n in names if n.startswith(prefix) and n.endswith(TEMP_SUFFIX)]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform can: not every one opens directories)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _write_through(path: Path, mode: str, **kwargs):
    try:
        with open(path, mode, **kwargs) as stream:
            yield stream
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", **kwargs):
    """Open a temporary file beside ``path``; on success sync it and rename it over ``path``, on any
    failure or signal delete it. A device or FIFO is written through instead (module docstring)."""
    if is_special(path):
        with _write_through(path, mode, **kwargs) as stream:
            yield stream
        return
    if _read_only(path):
        raise OutputError(f"cannot write {path}: the file is read-only")
    parent = parent_of(path)
    handle, tmp = None, None
    try:
        with deferred():  # a signal here must not land between creating the file and owning its removal
            handle, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=parent)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a finished file gets the usual mode
        stream, handle = os.fdopen(handle, mode, **kwargs), None
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        tmp = None
        _sync_directory(parent)
    except BaseException as exc:
        with deferred():
            if handle is not None:
                os.close(handle)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
