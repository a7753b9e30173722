"""`bark say` plays when there is nowhere else to put the audio: through the default output device where
there is one, segment by segment on the streaming path `--raw` uses; one line and exit 11 where there is none.

A stub sink stands in for the device only where this machine has none (`device` fixture).
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.errors import PlaybackError

TWO_SEGMENTS = "Hello there, my name is suno. I like pizza and the water, and a good day."


def _has_device() -> bool:
    from bark_cli.audio.playback import open_player

    try:
        open_player().abort()
    except PlaybackError:
        return False
    return True


HAS_DEVICE = _has_device()


class Recorder:
    """A sink that keeps what it is given, in order, in a log shared with the progress of the stages;
    it hands each chunk on to the real device where there is one."""

    def __init__(self, log: list, inner=None):
        self.log, self.inner, self.chunks, self.closed = log, inner, [], False

    def write(self, chunk):
        self.log.append(("play", len(chunk)))
        self.chunks.append(chunk.copy())
        if self.inner is not None:
            self.inner.write(chunk)

    def close(self):
        self.closed = True
        if self.inner is not None:
            self.inner.close()

    def abort(self):
        if self.inner is not None:
            self.inner.abort()


class Steps:
    """Progress that logs each finished segment."""

    def __init__(self, log: list):
        self.log = log

    def start(self, stage, total, unit):
        pass

    def advance(self, stage, amount=1):
        if stage == "segments":
            self.log.append(("segment", amount))

    def finish(self, stage):
        pass


@pytest.fixture
def device():
    """A factory of sinks: the real output device where there is one, else a stub that only records."""
    from bark_cli.audio.playback import open_player

    def make(log: list) -> Recorder:
        return Recorder(log, open_player() if HAS_DEVICE else None)

    return make


def test_each_segment_plays_as_soon_as_it_is_made_the_same_samples_as_raw(tiny_checkpoint, tiny_voice, device):
    from bark_cli import api
    from bark_cli.audio.formats import pcm16
    from bark_cli.options import GenerationOptions, RenderOptions, RuntimeOptions

    options = dict(
        generation=GenerationOptions(voice=str(tiny_voice), max_seconds=1, seed=5),
        runtime=RuntimeOptions(model=str(tiny_checkpoint), device="cpu"),
        render=RenderOptions(segment_seconds=2, batch_size=1, no_cache=True),
    )  # fmt: skip
    log: list = []
    sink = device(log)
    result = api.say(TWO_SEGMENTS, None, play=True, player=sink, progress=Steps(log), **options)
    assert sink.closed and result.segments >= 3 and str(result.output) == "(played)"
    # Each segment is played as soon as it is made, before the next one is generated: in text order,
    # as --raw streams it (a segment, its audio and pause; the next segment, ...).
    kinds = [kind for kind, _ in log]
    runs = [kind for i, kind in enumerate(kinds) if i == 0 or kind != kinds[i - 1]]
    assert runs == ["segment", "play"] * result.segments
    raw = io.BytesIO()
    api.say(TWO_SEGMENTS, None, raw=True, stdout=raw, **options)
    assert pcm16(np.concatenate(sink.chunks)) == raw.getvalue()


@pytest.mark.skipif(HAS_DEVICE, reason="this machine has an audio output device")
def test_no_device_is_one_line_saying_how_to_write_a_file(tiny_checkpoint, tmp_path):
    """On a terminal with no -o, bark plays; without a device that is exit 11 and one line, before any work."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bark_cli", "say", "hello", "--model", str(tmp_path / "no-such-model")],
            stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == PlaybackError.exit_code == 11, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("bark: error: cannot play audio") and "-o out.wav" in line


def test_play_with_output_also_writes_the_file(tiny_checkpoint, tmp_path, monkeypatch, device):
    import soundfile

    import bark_cli.audio.playback as playback

    log: list = []
    sink = device(log)
    monkeypatch.setattr(playback, "open_player", lambda: sink)
    out = tmp_path / "a.wav"
    result = CliRunner().invoke(
        app, ["say", "hello there", "--play", "-o", str(out), "--model", str(tiny_checkpoint), "--max-seconds", "1", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert sink.closed and np.allclose(soundfile.read(out, dtype="float32")[0], np.concatenate(sink.chunks), atol=1 / 32768)


def test_without_a_terminal_or_output_the_error_names_play(tiny_checkpoint):
    result = CliRunner().invoke(app, ["say", "hello", "--model", str(tiny_checkpoint)])
    assert result.exit_code == 2 and "--play" in result.output


class _StubStream:
    """PortAudio's blocking output stream, for the player's own logic where there is no device: each write
    takes a twentieth of its audio's time."""

    log: list = []

    def __init__(self, samplerate, channels, dtype):
        assert (samplerate, channels, dtype) == (24000, 1, "float32")

    def __enter__(self):
        self.log.append("started")
        return self

    def __exit__(self, *exc):
        self.log.append("stopped")  # PortAudio's stop plays what the stream still holds

    def write(self, frames):
        import time

        assert frames.dtype == np.float32 and frames.shape[1] == 1
        time.sleep(frames.shape[0] / 24000 / 20)
        self.log.append(frames.shape[0])

    def abort(self):
        self.log.append("aborted")


@pytest.mark.skipif(HAS_DEVICE, reason="the real device is tested through the device fixture")
def test_the_player_writes_from_its_own_thread_in_order_and_waits_to_the_end(monkeypatch):
    import types

    from bark_cli.audio.playback import Player

    fake = types.SimpleNamespace(query_devices=lambda kind: {"name": "stub"}, OutputStream=_StubStream)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    _StubStream.log = []
    player = Player()
    for n in (24000, 10, 4800):
        player.write(np.full(n, 2.0, dtype=np.float32))  # clipped to full scale on the way
    assert _StubStream.log[-1:] != ["stopped"]  # writing returned at once: the audio is still playing
    player.close()
    assert _StubStream.log == ["started", 24000, 10, 4800, "stopped"]
    player = Player()
    player.write(np.zeros(10, dtype=np.float32))
    player.abort()
    assert "aborted" in _StubStream.log
