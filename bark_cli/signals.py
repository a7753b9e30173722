"""Signals that end a run: SIGINT (Ctrl-C) and SIGTERM (``timeout``, systemd, cron) stop it cleanly.

SIGINT raises KeyboardInterrupt (Python's own handler) and SIGTERM raises `Terminated` (ours): both unwind
through the code that removes temporary files. A few short sections must not be cut in the middle:
creating a temporary file and entering the code that removes it, and encoding audio with soundfile, whose
Python callbacks run inside C (cffi): an exception raised in one is printed and swallowed there (the run
then goes on, or fails later with a stray AssertionError). `deferred` holds the signals over such a
section and acts on them as soon as it ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from .errors import Terminated

STOPPING = (signal.SIGINT, signal.SIGTERM)


def terminate(signum, frame):
    raise Terminated


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # only it may set handlers


@contextlib.contextmanager
def handling_sigterm():
    """SIGTERM raises `Terminated` in this block (then the handler before it is back); one that a parent
    set to be ignored stays ignored."""
    if not _main_thread() or signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT and SIGTERM until the block ends, then act on the first one as its handler would have
    (raise KeyboardInterrupt or Terminated, die of it with the default action, or ignore it)."""
    if not _main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in STOPPING}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])
