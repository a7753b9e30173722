"""Domain errors, each meant to be shown to the user as one line, and the one table of exit codes."""

from __future__ import annotations


class BarkError(Exception):
    """Base of every error a user can cause or fix; its message is shown as-is, on one line."""

    exit_code = 1


class InvalidOptionError(BarkError):
    """A flag or option value is out of range or malformed."""

    exit_code = 2


class InputTextError(BarkError):
    """The text to speak is empty, unreadable or cannot be fitted into a generation."""

    exit_code = 2


class ConfigError(BarkError):
    """The config file or a BARK_* variable holds an unknown key or a bad value."""

    exit_code = 2


class VoiceError(BarkError):
    """A voice cannot be found, read or validated."""

    exit_code = 3


class WeightsNotFoundError(BarkError):
    """The model weights are not on this machine and cannot be downloaded."""

    exit_code = 4


class DeviceError(BarkError):
    """The requested device or precision is not available here."""

    exit_code = 5


class OutputError(BarkError):
    """The output cannot be written."""

    exit_code = 6


class BatchItemsFailed(BarkError):
    """`bark batch` finished, but some items could not be rendered (each was reported)."""

    exit_code = 7


class OutputClosedError(BarkError):
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do on SIGPIPE."""

    exit_code = 141  # 128 + SIGPIPE


# Exit codes a script can rely on. The README's table is generated from the same facts.
EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug: please report it (BARK_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

EXIT_CODES: list[tuple[int, str]] = [
    (EXIT_OK, "success"),
    (EXIT_INTERNAL, "unexpected internal error (run with BARK_DEBUG=1 for the traceback)"),
    (InvalidOptionError.exit_code, "bad command line or config: unknown flag or key, an option or text out of range"),
    (VoiceError.exit_code, "voice not found, unreadable or invalid"),
    (WeightsNotFoundError.exit_code, "model weights not available (offline and not cached, or bad --model)"),
    (DeviceError.exit_code, "device or precision not available"),
    (OutputError.exit_code, "output file cannot be written"),
    (BatchItemsFailed.exit_code, "bark batch: one or more items failed; all the others were rendered"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); no partial output is left"),
    (OutputClosedError.exit_code, "stdout closed early by its reader (e.g. piped into head); ends quietly"),
]
