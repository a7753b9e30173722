"""--threads, and the automatic choice that leaves busy cores alone."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.runtime.threads import auto_threads, busy_cores, choose_threads, usable_cores


@pytest.mark.parametrize(
    "cores, busy, threads",
    [(2, 0.0, 2), (2, 0.3, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 2.0, 1), (2, 5.0, 1), (16, 3.2, 13), (16, 0.49, 16), (1, 0.0, 1)],
)
def test_one_thread_per_idle_core_and_at_least_one(cores, busy, threads):
    assert auto_threads(cores, busy) == threads


def test_busy_cores_is_a_share_of_the_machine():
    assert 0.0 <= busy_cores(0.05) <= usable_cores() + 0.5


def test_threads_flag_and_omp_num_threads_win(monkeypatch):
    assert choose_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert choose_threads(None) == 1


def test_threads_flag_reaches_torch(tiny_checkpoint, tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        args = ["say", "hi", "-o", str(tmp_path / "a.wav"), "--model", str(tiny_checkpoint), "--max-seconds", "1", "--threads", "1"]
        result = CliRunner().invoke(app, [*args, "--verbose"])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    bad = CliRunner().invoke(app, ["say", "hi", "-o", "x.wav", "--threads", "0"])
    assert bad.exit_code == 2 and "--threads" in bad.output


def test_the_thread_count_does_not_change_the_bytes(tiny_checkpoint, tmp_path):
    """The automatic choice follows the machine's load, so the same seed must give the same bytes with any
    thread count (the codec runs on one thread: its rounding depends on the count)."""
    import torch

    before = torch.get_num_threads()
    paths = [tmp_path / f"{threads}.wav" for threads in ("1", "2")]
    try:
        for path in paths:
            args = ["say", "Hello there, my name is suno. I like pizza.", "-o", str(path), "--model", str(tiny_checkpoint),
                    "--max-seconds", "2", "--seed", "3", "--no-cache", "--threads", path.stem]  # fmt: skip
            assert CliRunner().invoke(app, args).exit_code == 0
    finally:
        torch.set_num_threads(before)
    assert paths[0].read_bytes() == paths[1].read_bytes()
