"""Every failure is one line on stderr with its documented exit code, as a real `bark` process meets it:
usage errors, a full disk, closed standard streams, damaged checkpoints."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app


@pytest.fixture
def work(tmp_path):
    """The directory bark runs in: empty but for what the run writes."""
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


@pytest.fixture
def bark(tiny_checkpoint, work):
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint)}

    def run(*args, preexec_fn=None, stdout=subprocess.PIPE):
        return subprocess.run(
            [sys.executable, "-m", "bark_cli", *args], stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=work,
            timeout=300, preexec_fn=preexec_fn,
        )  # fmt: skip

    return run


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bark: error: "), stderr.decode()
    return lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["say", "hi", "--bogus"], "No such option: --bogus"),
        (["say", "hi", "-o"], "Option '-o' requires an argument"),
        (["say", "hi", "-o", "x.wav", "--text-temp", "abc"], "Invalid value for '--text-temp'"),
        (["sya", "hi"], "No such command 'sya'"),
        (["batch", "items.txt"], "Missing option '--out-dir'"),
    ],
    ids=["unknown-flag", "missing-value", "bad-type", "unknown-command", "missing-option"],
)
def test_usage_errors_are_one_line_with_exit_2(bark, args, message):
    result = bark(*args)
    assert result.returncode == 2 and message in one_line(result.stderr)


def test_help_and_no_arguments_still_show_the_help(bark):
    assert bark("--help").returncode == 0
    bare = bark("config")  # no_args_is_help: the help, and exit 2 as click gives it (`bark voices` lists)
    assert bare.returncode == 2 and b"Usage: bark config" in bare.stderr + bare.stdout


def test_stdout_on_a_full_disk_exits_6(bark):
    with open("/dev/full", "wb") as full:
        result = bark("say", "hello my name is suno", "-o", "-", "--max-seconds", "1", stdout=full)
    assert result.returncode == 6
    assert "cannot write to standard output: No space left on device" in one_line(result.stderr)


def _file_size_limit(size: int):
    """A process whose files cannot grow past ``size`` bytes: writes fail as on a full disk (EFBIG)."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_full_disk_is_one_line_and_leaves_no_file(bark, work):
    result = bark("say", "hello my name is suno", "-o", "x.wav", "--max-seconds", "1", "--no-cache", preexec_fn=_file_size_limit(2000))
    assert result.returncode == 6
    assert "cannot write x.wav: File too large" in one_line(result.stderr)
    assert list(work.iterdir()) == []


def _closing(*fds: int):
    return lambda: [os.close(fd) for fd in fds]


@pytest.mark.parametrize("closed", [(1,), (0, 2)], ids=["stdout", "stdin-and-stderr"])
def test_a_closed_standard_stream_does_not_stop_a_file_output(bark, work, closed):
    result = bark("say", "hello my name is suno", "-o", "x.wav", "--max-seconds", "1", preexec_fn=_closing(*closed))
    assert result.returncode == 0 and result.stderr == b""
    assert soundfile.info(work / "x.wav").frames > 0 and [p.name for p in work.iterdir()] == ["x.wav"]


def test_audio_to_a_closed_stdout_is_refused_before_any_work(bark):
    result = bark("say", "hello my name is suno", "-o", "-", preexec_fn=_closing(1))
    assert result.returncode == 6 and "cannot write to standard output: it is closed" in one_line(result.stderr)


def test_a_long_output_name_fits_its_temporary_name(bark, tiny_checkpoint, work, monkeypatch):
    monkeypatch.chdir(work)
    name = "n" * 251 + ".wav"  # 255 bytes: the longest name; its temporary name must be cut, not refused
    result = CliRunner().invoke(app, ["say", "hello my name is suno", "-o", name, "--max-seconds", "1", "--model", str(tiny_checkpoint)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in work.iterdir()] == [name]
    too_long = bark("say", "hello", "-o", "n" * 252 + ".wav")  # refused before the model loads
    assert too_long.returncode == 6 and "longer than 255 bytes" in one_line(too_long.stderr)


def _damaged(checkpoint, tmp_path, how):
    import shutil

    copy = tmp_path / how
    shutil.copytree(checkpoint, copy)
    weights = copy / "model.safetensors"
    if how == "truncated":
        os.truncate(weights, weights.stat().st_size * 9 // 10)
    elif how == "garbage":
        weights.write_bytes(os.urandom(5000))
    else:  # no tokenizer files: transformers would build one of special tokens only, every word [UNK]
        for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
            (copy / name).unlink(missing_ok=True)
    return copy


@pytest.mark.parametrize("how", ["truncated", "garbage", "no-tokenizer"])
def test_a_damaged_checkpoint_exits_4(tiny_checkpoint, tmp_path, how):
    model = _damaged(tiny_checkpoint, tmp_path, how)
    result = CliRunner().invoke(app, ["say", "hello", "-o", str(tmp_path / "x.wav"), "--model", str(model)])
    assert result.exit_code == 4, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"bark: error: --model {model}: ")
    assert not (tmp_path / "x.wav").exists()


def test_failed_allocations_are_the_users_to_fix():
    """torch's and Python's out-of-memory errors become OutOfMemory (exit 14, with what to lower); other
    errors stay what they are (an internal error, exit 1)."""
    import torch

    from bark_cli.errors import OutOfMemory, out_of_memory

    with pytest.raises(RuntimeError) as cpu:
        torch.empty(2**40)  # 4 TiB: the CPU allocator's own failure
    oom = out_of_memory(cpu.value)
    assert isinstance(oom, OutOfMemory) and oom.exit_code == 14
    assert str(oom).startswith("out of RAM (a further 4096.00 GiB was asked for): lower --batch-size")
    cuda = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79 GiB")
    assert str(out_of_memory(cuda)).startswith("out of GPU memory (a further 2.00 GiB was asked for)")
    assert isinstance(out_of_memory(MemoryError()), OutOfMemory)
    assert out_of_memory(RuntimeError("shape mismatch")) is None and out_of_memory(ValueError("x")) is None


OUT_OF_MEMORY = """
import resource, sys
from bark_cli.cli.app import main

def say(out):
    sys.argv = ["bark", "say", "hello my name is suno", "-o", out, "--no-cache"]
    try:
        main()
    except SystemExit as exc:
        return exc.code

assert say("warm.wav") == 0  # imports, threads and the allocator's arenas are in place
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 8 * 2**20, resource.RLIM_INFINITY))  # 8 MiB more, at most
sys.exit(say("x.wav"))
"""


def test_running_out_of_memory_exits_14_with_one_line_and_no_file(tiny_checkpoint, work):
    """A real allocation failure (the address space capped just above what the process holds): loading the
    weights again cannot map them. Before, this read as a damaged checkpoint (exit 4)."""
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint)}
    result = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY], capture_output=True, env=env, cwd=work, timeout=300)
    assert result.returncode == 14, result.stderr.decode()
    line = result.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("bark: error: out of RAM") and "--batch-size" in line
    assert sorted(p.name for p in work.iterdir()) == ["warm.wav"]
