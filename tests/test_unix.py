"""The real `bark` executable in subprocesses with real pipes: stdin, stdout, raw PCM, signals, formats."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from bark_cli.constants import SAMPLE_RATE

TWO_SEGMENTS = "Hello there, my name is suno. I like pizza and the water, and a good day."


@pytest.fixture
def bark(tiny_checkpoint, tmp_path):
    """Run the installed console script against the tiny checkpoint."""
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint)}

    def run(*args, input=None, stdout=subprocess.PIPE):
        return subprocess.run(
            [sys.executable, "-m", "bark_cli", *args], input=input, stdout=stdout, stderr=subprocess.PIPE, env=env,
            cwd=tmp_path, timeout=300,
        )  # fmt: skip

    run.env = env
    return run


def test_stdin_text_and_wav_on_stdout(bark):
    result = bark("say", "-o", "-", "--max-seconds", "1", "--seed", "1", input="hello my name is suno".encode())
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"" and result.stdout[:4] == b"RIFF"
    audio, rate = soundfile.read(io.BytesIO(result.stdout), dtype="int16")
    assert rate == SAMPLE_RATE and len(audio) > 0 and len(result.stdout) == 44 + 2 * len(audio) + _tags_size(result.stdout)
    dash = bark("say", "-", "-o", "-", "--max-seconds", "1", "--seed", "1", input="hello my name is suno".encode())
    assert dash.stdout == result.stdout


def _tags_size(wav: bytes) -> int:
    """Bytes of the LIST/INFO chunk holding the tags (the rest is header and samples)."""
    at = wav.find(b"LIST")
    return 0 if at < 0 else 8 + int.from_bytes(wav[at + 4 : at + 8], "little")


def test_invalid_utf8_on_stdin_names_the_offset(bark):
    result = bark("say", "-o", "x.wav", input=b"hello \xff world")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "bark: error: standard input is not UTF-8 text (invalid byte at offset 6)"


def test_raw_pcm_is_the_same_samples_streamed(bark):
    args = ("say", TWO_SEGMENTS, "--max-seconds", "1", "--segment-seconds", "3", "--seed", "2")
    raw = bark(*args, "--raw")
    wav = bark(*args, "-o", "-")
    assert raw.returncode == wav.returncode == 0, raw.stderr + wav.stderr
    samples, _ = soundfile.read(io.BytesIO(wav.stdout), dtype="int16")
    assert len(raw.stdout) == 2 * len(samples) > 0
    np.testing.assert_array_equal(np.frombuffer(raw.stdout, dtype="<i2"), samples)


def _reader_leaves_after_1000_bytes(bark, tmp_path, args, **env) -> tuple[int, bytes]:
    """Run bark into a one-page pipe (the same on every kernel and sandbox), read 1000 bytes, close the
    read end; (exit code, stderr)."""
    with open(tmp_path / "stderr", "w+b") as stderr:  # a file, not a pipe: stderr never blocks bark
        process = subprocess.Popen(
            [sys.executable, "-m", "bark_cli", *args], stdout=subprocess.PIPE, stderr=stderr, pipesize=4096,
            env={**os.environ, **_model_env(bark), **env},
        )  # fmt: skip
        received = b""
        while len(received) < 1000 and (chunk := os.read(process.stdout.fileno(), 1000 - len(received))):
            received += chunk
        process.stdout.close()
        process.wait(timeout=300)
        stderr.seek(0)
        assert len(received) == 1000, stderr.read()
        return process.returncode, stderr.read()


def test_closed_pipe_ends_quietly(bark, tmp_path):
    text = " ".join(["Hello there, my name is suno and I like pizza."] * 12)
    args = ["say", text, "--raw", "--max-seconds", "3", "--segment-seconds", "3", "--batch-size", "1", "--seed", "1"]
    assert _reader_leaves_after_1000_bytes(bark, tmp_path, args) == (141, b"")


@pytest.mark.parametrize("args", [["--raw"], ["-o", "-"]], ids=["raw", "wav"])
def test_closed_pipe_during_one_large_write(bark, tmp_path, args):
    """One segment, one write bigger than the pipe, on an unbuffered stdout (partial writes)."""
    # No quality gate: its warning about this short text running on would be on stderr.
    args = ["say", "hello my name is suno", *args, "--max-seconds", "3", "--seed", "1", "--retakes", "0"]
    assert _reader_leaves_after_1000_bytes(bark, tmp_path, args, PYTHONUNBUFFERED="1") == (141, b"")


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_non_blocking_stdout_gets_every_byte(bark, unbuffered):
    """A parent may hand bark a pipe with O_NONBLOCK set (shared with its own event loop): bark must wait
    for the reader, not drop what the pipe cannot take at once and exit 0."""
    args = ("say", "hello my name is suno", "--raw", "--max-seconds", "2", "--seed", "3")
    expected = bark(*args)
    assert expected.returncode == 0 and len(expected.stdout) > 8192, expected.stderr
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(write_end, False)
    env = {**os.environ, **_model_env(bark), **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})}
    process = subprocess.Popen([sys.executable, "-m", "bark_cli", *args], stdout=write_end, stderr=subprocess.PIPE, env=env)
    os.close(write_end)
    received = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(4096):
            received += chunk
            time.sleep(0.005)  # a slow reader: the pipe fills, and bark's writes meet EAGAIN
    _, stderr = process.communicate(timeout=300)
    assert (process.returncode, stderr) == (0, b"")
    assert received == expected.stdout


@pytest.mark.parametrize("args", [["config", "show"], ["--help"], ["voices", "list"]])
def test_text_commands_end_quietly_when_the_reader_leaves(args, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "bark_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1", "COLUMNS": "80"},
    )  # fmt: skip
    process.stdout.readline()
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    # 0 when everything fitted in the pipe before the reader left, else 141 (rich's help says 1 itself).
    assert process.returncode in (0, 141) and stderr == b""


def test_help_into_a_closed_pipe_exits_141():
    """`bark --help | head -1` when head has already left: 141 like every other command, not rich's 1
    (with pipefail, scripts see it). The pipe's read end is closed before bark starts, so every write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    result = subprocess.run(
        [sys.executable, "-m", "bark_cli", "--help"], stdout=write_end, stderr=subprocess.PIPE, timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    os.close(write_end)
    assert result.returncode == 141 and result.stderr == b""


def _model_env(bark) -> dict:
    return {"BARK_MODEL": bark.env["BARK_MODEL"]}


def test_binary_output_to_a_terminal_is_refused(bark, tmp_path):
    controller, terminal = pty.openpty()
    try:
        result = bark("say", "hello", "-o", "-", stdout=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 6 and b"refusing to write binary audio to a terminal" in result.stderr


@pytest.mark.parametrize(
    "name, extra, subtype",
    [("a.wav", [], "PCM_16"), ("b.wav", ["--float"], "FLOAT"), ("c.flac", [], "PCM_16"), ("d.ogg", [], "VORBIS"),
     ("e.mp3", [], "MPEG_LAYER_III"), ("f.audio", ["--format", "flac"], "PCM_16")],
)  # fmt: skip
def test_each_format_round_trips_with_tags(bark, tmp_path, name, extra, subtype):
    result = bark("say", "hello my name is suno", "-o", name, *extra, "--max-seconds", "1", "--seed", "4")
    assert result.returncode == 0, result.stderr
    with soundfile.SoundFile(tmp_path / name) as sound:
        assert (sound.samplerate, sound.channels, sound.subtype) == (SAMPLE_RATE, 1, subtype)
        assert sound.frames > 0
        tags = sound.copy_metadata()
    assert tags["comment"] == "hello my name is suno" and tags["artist"].startswith("bark-cli (")


def test_config_file_then_environment_then_flag(bark, tmp_path):
    config = tmp_path / "config"
    env = {**bark.env, "XDG_CONFIG_HOME": str(config)}
    text = "Hello there. I like pizza. The water is good."

    def segments(*args, **extra_env):
        result = subprocess.run(
            [sys.executable, "-m", "bark_cli", "split", "--json", *args], input=text.encode(),
            capture_output=True, env={**env, **extra_env}, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return len(__import__("json").loads(result.stdout))

    assert segments() == 1
    subprocess.run([sys.executable, "-m", "bark_cli", "config", "set", "segment_seconds", "1"], env=env, check=True)
    assert segments() == 3
    assert segments(BARK_SEGMENT_SECONDS="12") == 1
    assert segments("--segment-seconds", "1", BARK_SEGMENT_SECONDS="12") == 3
    shown = subprocess.run(
        [sys.executable, "-m", "bark_cli", "config", "show"], env={**env, "BARK_TEXT_TEMP": "0.6"},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "segment_seconds    1.0" in shown and str(config / "bark-cli" / "config.toml") in shown
    assert "text_temp          0.6" in shown and "env BARK_TEXT_TEMP" in shown
    bad = subprocess.run(
        [sys.executable, "-m", "bark_cli", "config", "set", "batch_size", "zero"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "batch_size in " in bad.stderr and "config.toml" in bad.stderr
    (config / "bark-cli" / "config.toml").write_text("colour = 'red'\n")
    broken = subprocess.run([sys.executable, "-m", "bark_cli", "split", "--json"], input="hi", env=env, capture_output=True, text=True)
    assert broken.returncode == 2 and "unknown key 'colour'" in broken.stderr and "config.toml" in broken.stderr


def test_completion_offers_voice_names_without_torch(tmp_path):
    code = (
        "import os, sys\n"
        "os.environ.update(_BARK_COMPLETE='complete_bash', COMP_WORDS='bark say --voice v2/en_speaker_', COMP_CWORD='3')\n"
        "from bark_cli.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "v2/en_speaker_6" in result.stdout.split()
    assert result.stderr.strip() == "False"
