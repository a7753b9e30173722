"""The `bark` executable: the console script and `python -m bark_cli`.

Nothing heavy is imported before SIGTERM is handled and Ctrl-C caught: a run stopped while it is still
starting ends with one line and its exit code (130, 143), not a traceback.
"""

from __future__ import annotations

import signal
import sys


def _stopped(what: str, code: int) -> None:
    try:
        print(f"bark: {what}", file=sys.stderr)
    except (OSError, ValueError, AttributeError):  # no stderr to say it on
        pass
    raise SystemExit(code)


def main() -> None:
    from .errors import EXIT_INTERRUPTED, Terminated
    from .signals import terminate

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # one that a parent set to ignore stays ignored
        signal.signal(signal.SIGTERM, terminate)
    try:
        from .cli.app import main as run

        run()
    except KeyboardInterrupt:
        _stopped("interrupted", EXIT_INTERRUPTED)
    except Terminated:
        _stopped("terminated", Terminated.exit_code)


if __name__ == "__main__":
    main()
