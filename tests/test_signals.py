"""SIGINT and SIGTERM, whenever they come, stop `bark` with one line, exit 130 or 143, and no partial file.
(The write itself under a signal: tests/test_outputs.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

LONG_TEXT = " ".join(["Hello there, my name is suno and I like pizza."] * 30)


def _start(tiny_checkpoint, cwd, *args, stderr=subprocess.PIPE):
    # A shell starts background jobs with SIGINT ignored, and children inherit that: give bark the default
    # disposition, as a terminal would.
    return subprocess.Popen(
        [sys.executable, "-m", "bark_cli", *args], stdout=subprocess.PIPE, stderr=stderr, cwd=cwd,
        env={**os.environ, "BARK_MODEL": str(tiny_checkpoint)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


STOPS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


@pytest.mark.parametrize("signum, code, said", STOPS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_generation_stops_with_its_code_and_no_file(tiny_checkpoint, tmp_path, signum, code, said):
    """Ctrl-C exits 130; `timeout`, systemd and cron stop jobs with SIGTERM: the same clean stop, 143."""
    process = _start(tiny_checkpoint, tmp_path, "say", LONG_TEXT, "-o", "out.wav", "--verbose", "--batch-size", "1")
    for line in process.stderr:  # wait until generation has started
        if b"segment(s)" in line:
            break
    time.sleep(0.5)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    # Under `python -m`, about one SIGINT run in five on the 2-core machine ends by Python's exit via SIGINT
    # after bark has handled it (said "interrupted", cleaned up): a shell reports 130 for both. Not seen
    # with the `bark` console script's entry point (28 runs); the cause is not found yet.
    assert process.returncode in ((code, -signum) if signum == signal.SIGINT else (code,)), stderr
    assert stderr.decode().strip().splitlines()[-1] == f"bark: {said}" and b"Traceback" not in stderr
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []  # segments done may be cached


@pytest.mark.parametrize("signum, code, said", STOPS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_starting_is_one_line(tiny_checkpoint, tmp_path, signum, code, said):
    """While Python imports bark (the first tenths of a second) as later: a line, never a traceback. A
    signal before Python has its own handlers kills the process (the shell reports the same code)."""
    for delay in (0.05, 0.15, 0.4, 1.0):
        process = _start(tiny_checkpoint, tmp_path, "say", "hello my name is suno", "-o", "out.wav", "--max-seconds", "1")
        time.sleep(delay)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode in (code, -signum), (delay, stderr)
        assert b"Traceback" not in stderr and len(stderr.splitlines()) <= 1, (delay, stderr)
        assert list(tmp_path.iterdir()) == [], delay
