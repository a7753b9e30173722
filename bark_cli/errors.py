"""Domain errors, each meant to be shown to the user as one line, and the one table of exit codes.

Each error class carries its exit code and what that code means; `EXIT_CODES` (the README's table, checked
by tests/test_docs.py) is read from the classes, so a code is written down in one place.
"""

from __future__ import annotations

import re
import sys


class BarkError(Exception):
    """Base of every error a user can cause or fix; its message is shown as-is, on one line."""

    exit_code = 1
    meaning = "unexpected internal error (run with BARK_DEBUG=1 for the traceback)"


class UsageError(BarkError):
    """The command line, the config or the text asks for something that cannot be done."""

    exit_code = 2
    meaning = "bad command line or config: unknown flag or key, an option or text out of range"


class InvalidOptionError(UsageError):
    """A flag or option value is out of range or malformed."""


class InputTextError(UsageError):
    """The text to speak is empty, unreadable or cannot be fitted into a generation."""


class InputFileError(UsageError):
    """A file to read (audio or a manifest to check) is missing, unreadable or malformed."""


class ConfigError(UsageError):
    """The config file or a BARK_* variable holds an unknown key or a bad value."""


class VoiceError(BarkError):
    """A voice cannot be found, read or validated."""

    exit_code = 3
    meaning = "voice not found, unreadable or invalid"


class WeightsNotFoundError(BarkError):
    """The model weights are not on this machine and cannot be downloaded."""

    exit_code = 4
    meaning = "model weights not available (offline and not cached, or bad --model)"


class DeviceError(BarkError):
    """The requested device or precision is not available here."""

    exit_code = 5
    meaning = "device or precision not available"


class OutputError(BarkError):
    """The output cannot be written."""

    exit_code = 6
    meaning = "output file cannot be written"


class BatchItemsFailed(BarkError):
    """`bark batch` finished, but some items could not be rendered (each was reported)."""

    exit_code = 7
    meaning = "bark batch: one or more items failed; all the others were rendered"


class QualityFlagged(BarkError):
    """Segments fail a quality check: after their retakes under --strict (the output is still written), or
    in a file given to `bark check`."""

    exit_code = 8
    meaning = (
        "segments flagged by the quality gate: after their retakes under --strict (the output is written; the "
        "manifest names them), or by bark check"
    )


class BookInputError(BarkError):
    """`bark book`: the input cannot be read as a book (malformed, DRM-protected, empty, unknown kind)."""

    exit_code = 9
    meaning = "bark book: the input cannot be read as a book (malformed, DRM-protected or without text)"


class MissingExtraError(BarkError):
    """An optional extra's packages are not installed; the message names the pip command."""

    exit_code = 10
    meaning = "an optional extra is not installed (the message names the pip command)"


class PlaybackError(BarkError):
    """Audio cannot be played here: no output device, no PortAudio library, or no sounddevice."""

    exit_code = 11
    meaning = "no audio output for playback (no device, PortAudio or sounddevice): write a file with -o instead"


class ServerError(BarkError):
    """`bark serve` cannot start, or the server failed or went away in the middle of a `bark say` request."""

    exit_code = 12
    meaning = "bark serve: the server failed or vanished mid-request (or cannot start)"


class ClusterError(BarkError):
    """`--ray`: the Ray cluster cannot be reached, or it failed (workers died past their restarts, the head
    went away) in the middle of the run."""

    exit_code = 13
    meaning = "--ray: the Ray cluster cannot be reached or failed mid-run (rerun to resume)"


class OutOfMemory(BarkError):
    """An allocation failed: the GPU's memory or the machine's RAM cannot hold the networks or a batch."""

    exit_code = 14
    meaning = "out of memory (GPU or RAM): lower --batch-size or --segment-seconds, or use --half or --cpu-offload"


class Terminated(BaseException):
    """SIGTERM (``timeout``, systemd, ``kill``): the run stops and cleans up as after Ctrl-C.

    A BaseException, as KeyboardInterrupt is, so that no ``except Exception`` swallows it; not a
    KeyboardInterrupt, so that it keeps its own exit code.
    """

    exit_code = 143  # 128 + SIGTERM
    meaning = "terminated (SIGTERM: timeout, systemd, kill); no partial output is left"


class OutputClosedError(BarkError):
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do on SIGPIPE."""

    exit_code = 141  # 128 + SIGPIPE
    meaning = "stdout closed early by its reader (e.g. piped into head); ends quietly"


# Exit codes a script can rely on, in order; the error classes above give theirs.
EXIT_OK = 0
EXIT_INTERNAL = BarkError.exit_code  # a bug: please report it (BARK_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

_CODED = (
    BarkError, UsageError, VoiceError, WeightsNotFoundError, DeviceError, OutputError, BatchItemsFailed,
    QualityFlagged, BookInputError, MissingExtraError, PlaybackError, ServerError, ClusterError, OutOfMemory,
    OutputClosedError, Terminated,
)  # fmt: skip
EXIT_CODES: list[tuple[int, str]] = sorted(
    [(EXIT_OK, "success"), (EXIT_INTERRUPTED, "interrupted (Ctrl-C); no partial output is left")]
    + [(cls.exit_code, cls.meaning) for cls in _CODED]
)


_TRIED = re.compile(r"[Tt]ried to allocate ([0-9.]+ ?[KMGT]?i?B|[0-9]+ bytes)")


def out_of_memory(exc: BaseException) -> OutOfMemory | None:
    """Our error for a failed allocation (torch's CUDA out-of-memory error, the CPU allocator's RuntimeError,
    Python's MemoryError), or None for any other exception. A batch too large for a GPU is the most common
    way a run fails there: it is the user's to fix, not a bug."""
    torch = sys.modules.get("torch")  # not imported: the error cannot be torch's
    text = str(exc)
    if isinstance(exc, MemoryError):
        where = "RAM"
    elif torch is not None and isinstance(exc, torch.OutOfMemoryError):
        where = "GPU memory" if "CUDA" in text or "GPU" in text else "device memory"
    elif isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "Cannot allocate memory" in text):
        where = "RAM"  # the CPU allocator's words, or ENOMEM's (a failed mmap of the weights)
    else:
        return None
    tried = _TRIED.search(text)
    if tried and tried.group(1).endswith(" bytes"):
        tried_text = f"{int(tried.group(1).split()[0]) / 2**30:.2f} GiB"
    else:
        tried_text = tried.group(1) if tried else None
    detail = f" (a further {tried_text} was asked for)" if tried_text else ""
    return OutOfMemory(
        f"out of {where}{detail}: lower --batch-size or --segment-seconds, or use --half (or --cpu-offload on a GPU)"
    )
