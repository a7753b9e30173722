"""Standard streams that a parent closed (`bark ... >&-`, `2>&-`, `<&-`, a daemon's bare environment).

Python starts such a process with ``sys.stdout`` (or stdin, stderr) set to None, and the first file bark
opens would take the free descriptor: an audio file written as "standard output". Each closed descriptor
gets /dev/null, before anything else runs:

- stdin reads as empty and stderr discards, so a run that needs neither works as usual;
- stdout stays an error to write to (the user asked for nothing there, or for data that would be lost):
  writing to it is an `OutputError`, one line and exit 6, while `-o FILE` runs that print nothing work.
"""

from __future__ import annotations

import io
import os
import sys

from ..errors import OutputError


class ClosedStdout(io.RawIOBase):
    """Standard output of a process started with it closed: every write is an error."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OutputError("cannot write to standard output: it is closed")


def stdout_closed() -> bool:
    """Whether this process was started with stdout closed (see reopen_closed_streams)."""
    return isinstance(getattr(sys.stdout, "buffer", None), ClosedStdout)


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _occupy(fd: int, flags: int) -> None:
    """Put /dev/null on the free descriptor ``fd``, so no file opened later gets its number."""
    null = os.open(os.devnull, flags)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def reopen_closed_streams() -> None:
    """Give every closed standard descriptor /dev/null, and Python a stream for it (module docstring)."""
    if _closed(0):
        _occupy(0, os.O_RDONLY)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
    if _closed(1):
        _occupy(1, os.O_RDONLY)  # a descriptor to hold the number; ClosedStdout never writes to it
        sys.stdout = io.TextIOWrapper(ClosedStdout(), encoding="utf-8", write_through=True)
    if _closed(2):
        _occupy(2, os.O_WRONLY)
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)
