"""Output files: what bark writes is whole and durable, and what it should not replace it leaves alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from bark_cli.audio.formats import audio_format, write_audio
from bark_cli.cli.app import app
from bark_cli.files import atomic_open

AUDIO = np.linspace(-0.5, 0.5, 2400, dtype=np.float32)


def test_a_device_node_is_written_through_not_replaced(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except PermissionError:
        pytest.skip("making a device node needs root")
    write_audio(device, AUDIO, audio_format(device, "wav"))
    assert stat.S_ISCHR(device.stat().st_mode) and list(tmp_path.iterdir()) == [device]


def test_a_fifo_is_written_through(tmp_path):
    fifo, regular = tmp_path / "pipe", tmp_path / "file.wav"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_audio(fifo, AUDIO, audio_format(fifo, "wav"))
    reader.join(timeout=30)
    write_audio(regular, AUDIO, audio_format(regular))
    assert received == [regular.read_bytes()] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_read_only_output_is_refused_before_any_work(tiny_checkpoint, tmp_path):
    out = tmp_path / "kept.wav"
    out.write_bytes(b"precious")
    out.chmod(0o444)
    result = CliRunner().invoke(app, ["say", "hello", "-o", str(out), "--model", str(tiny_checkpoint)])
    assert result.exit_code == 6 and "the file is read-only" in result.output
    assert out.read_bytes() == b"precious"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "out.wav", "--manifest", "out.wav"], "out.wav is both the output (-o) and the manifest (--manifest)"),
        (["-o", "out.wav", "--manifest", "in.txt"], "in.txt is both the input text (--file) and the manifest"),
        (["-o", "out.wav", "--subtitles", "sub.srt", "--manifest", "sub.srt"], "sub.srt is both the subtitles"),
        (["-o", "out.wav", "--save-voice", "./v.npz", "--manifest", "v.npz"], "v.npz is both the manifest (--manifest) and the saved voice"),
    ],
    ids=["manifest-is-output", "manifest-is-input", "manifest-is-subtitles", "manifest-is-voice"],
)
def test_two_files_of_one_run_on_one_path_are_refused(tiny_checkpoint, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("hello my name is suno")
    result = CliRunner().invoke(app, ["say", "--file", "in.txt", *args, "--model", str(tiny_checkpoint)])
    assert result.exit_code == 6 and message in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    assert (tmp_path / "in.txt").read_text() == "hello my name is suno"


def test_writes_are_synced_file_then_directory(tmp_path, monkeypatch):
    """A power loss after the rename must find the data there: fsync the file before renaming it, and
    its directory after."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_open(tmp_path / "record.json", "w") as stream:
        stream.write("{}")
    assert events == ["fsync file", "rename", "fsync directory"]


def test_float_wav_is_the_same_bytes_every_time(tmp_path):
    """libsndfile stamps float WAVs with the time of writing (a PEAK chunk): same seed, same bytes."""
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    write_audio(first, AUDIO, audio_format(first, float32=True))
    time.sleep(1.05)  # the stamp counts seconds
    write_audio(second, AUDIO, audio_format(second, float32=True))
    assert first.read_bytes() == second.read_bytes() and b"PEAK" not in first.read_bytes()


# A signal that arrives while soundfile encodes runs inside its C callbacks (cffi), where an exception
# is printed and swallowed. The script sends one from inside such a callback.
SIGNAL_INSIDE_ENCODER = """
import os, signal, sys
import numpy as np, soundfile
from pathlib import Path
from bark_cli.audio.formats import audio_format, write_audio
from bark_cli.errors import Terminated
from bark_cli.signals import handling_sigterm

signum = int(sys.argv[2])
# As a terminal's foreground job has it, even when the tests run as a background job (SIGINT ignored there).
signal.signal(signal.SIGINT, signal.default_int_handler)
init = soundfile.SoundFile._init_virtual_io
def signalling(self, file):
    class Stream:
        writes = 0
        def __getattr__(self, name):
            return getattr(file, name)
        def write(self, data):
            Stream.writes += 1
            if Stream.writes == 2:
                os.kill(os.getpid(), signum)
            return file.write(data)
    return init(self, Stream())
soundfile.SoundFile._init_virtual_io = signalling
out = Path(sys.argv[1])
try:
    with handling_sigterm():
        write_audio(out, np.zeros(24000, np.float32), audio_format(out))
except KeyboardInterrupt:
    sys.exit(130)
except Terminated:
    sys.exit(143)
print("finished")
"""


@pytest.mark.parametrize("signum, code", [(2, 130), (15, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_encoding_stops_the_write_cleanly(tmp_path, signum, code):
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_INSIDE_ENCODER, str(tmp_path / "out.wav"), str(signum)], capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (code, "", "")
    assert list(tmp_path.iterdir()) == []


def test_a_signal_while_the_temporary_file_is_made_removes_it(tmp_path, monkeypatch):
    """Ctrl-C landing right after mkstemp, before the code that removes the file on failure."""
    import signal
    import tempfile

    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        made = real_mkstemp(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    # Python's own Ctrl-C handler, as in a terminal, even when the tests run as a background job (SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with atomic_open(tmp_path / "out.wav") as stream:
                stream.write(b"data")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert list(tmp_path.iterdir()) == []
