"""What a command prints on stderr: log lines, progress, and every error as one line with its exit code.

bark owns its stderr. While a command runs, its own log lines go there at the level -q/-v choose, and
every other library's loggers and Python warnings stay silent unless --verbose is given (a fresh install
of transformers pulls in packages that log on every offline run). Everything set up here is put back when
the command returns, so running commands in one process (tests, a library user) leaves no trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings

import typer

from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, BarkError, OutputClosedError, Terminated, out_of_memory
from ..signals import handling_sigterm

PACKAGE_LOGGER = "bark_cli"


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the final flush at exit cannot fail on a closed pipe."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def _logging(verbose: bool, quiet: bool):
    ours, root = logging.getLogger(PACKAGE_LOGGER), logging.getLogger()
    saved = (ours.handlers[:], ours.level, ours.propagate, root.handlers[:], root.level)
    handler = logging.StreamHandler(sys.stderr)  # the stderr of now: a test runner may have swapped it
    handler.setFormatter(logging.Formatter("bark: %(message)s"))
    ours.handlers[:], ours.propagate = [handler], False
    ours.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
    # Other libraries' loggers propagate to the root: a handler there keeps Python's last-resort handler
    # (which prints warnings on stderr) out, and the root's level decides for every logger left unset.
    third_party = logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    root.handlers[:] = [third_party]
    root.setLevel(logging.WARNING if verbose else logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore")
            yield
    finally:
        ours.handlers[:], ours.level, ours.propagate = saved[0], saved[1], saved[2]
        root.handlers[:], root.level = saved[3], saved[4]


# Characters that would break a message's one line, or forge another: shown as escapes.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` (names and messages that may hold a user's text) on one line: control characters and
    line separators as Python escapes (a newline in a batch output name must not forge a log line)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@contextlib.contextmanager
def reporting_errors(verbose: bool = False, quiet: bool = False):
    """Run a command: logging and warnings as the module docstring says, SIGTERM handled like Ctrl-C (with
    its own exit code), and every error turned into one line on stderr and the exit code of the table in
    errors.py.

    With BARK_DEBUG set, every error propagates with its traceback (and the cause it was raised from).
    """
    debug = bool(os.environ.get("BARK_DEBUG"))
    try:
        with _logging(verbose, quiet), handling_sigterm():
            yield
    except (OutputClosedError, BrokenPipeError):
        # The reader left (| head): say nothing, and keep Python from complaining while flushing stdout.
        silence_stdout()
        raise typer.Exit(OutputClosedError.exit_code) from None
    except BarkError as exc:
        if debug:
            raise
        typer.echo(f"bark: error: {printable(str(exc))}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("bark: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Terminated:
        typer.echo("bark: terminated", err=True)
        raise typer.Exit(Terminated.exit_code) from None
    except Exception as exc:
        if debug:
            raise
        oom = out_of_memory(exc)
        if oom is not None:  # the user's to fix (a smaller batch, half precision), not a bug
            typer.echo(f"bark: error: {oom}", err=True)
            raise typer.Exit(oom.exit_code) from None
        message = printable(f"{type(exc).__name__}: {exc}")
        typer.echo(f"bark: internal error: {message} (BARK_DEBUG=1 shows the traceback)", err=True)
        raise typer.Exit(EXIT_INTERNAL) from None


def progress_display(quiet: bool):
    """A rich progress display on a terminal; nothing when quiet or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        from ..progress import NullProgress

        return contextlib.nullcontext(NullProgress())
    from ..progress import RichProgress

    return RichProgress()


def show(quiet: bool) -> bool:
    """Whether to print human-readable summaries on stderr."""
    return not quiet and sys.stderr.isatty()
