"""--rate and --volume: FFmpeg's atempo and volume filters through PyAV, with subtitles and the manifest in
step with the audio as written."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.audio.effects import apply_effects, atempo_steps, volume_gain
from bark_cli.cli.app import app
from bark_cli.constants import SAMPLE_RATE
from bark_cli.errors import InvalidOptionError

TEXT = "Hello there, my name is suno. I like pizza and the water, and a good day."


@pytest.mark.parametrize(
    "volume, gain", [("2", 2.0), ("0.5", 0.5), ("-6dB", 10 ** (-6 / 20)), ("+3 dB", 10 ** (3 / 20)), (".25", 0.25), ("0dB", 1.0)]
)
def test_volume_is_a_factor_or_decibels(volume, gain):
    assert volume_gain(volume) == pytest.approx(gain)


@pytest.mark.parametrize("volume", ["0", "-3", "loud", "3dBs", "-100dB", "1e3"])
def test_bad_volumes_say_what_is_allowed(volume):
    with pytest.raises(InvalidOptionError, match="--volume"):
        volume_gain(volume)


def test_short_segments_keep_their_share_of_the_time():
    audio = np.random.default_rng(0).standard_normal(500).astype(np.float32) * 0.1
    assert [len(apply_effects(audio, rate)) for rate in (0.5, 1.25, 3.0)] == [1000, 400, 167]


def test_rates_beyond_one_filter_are_chained():
    assert atempo_steps(3.0) == [2.0, 1.5] and atempo_steps(0.3) == [0.5, pytest.approx(0.6)]
    assert atempo_steps(1.2) == [1.2]


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0, 3.0])
def test_rate_keeps_the_duration_within_one_percent_and_the_pitch(rate):
    seconds, pitch = 2.0, 220.0
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    audio = (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
    out = apply_effects(audio, rate)
    assert len(out) == round(len(audio) / rate)  # exact: the end is neither held back nor smeared
    assert np.sqrt(np.mean(out[-SAMPLE_RATE // 10 :] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.05)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert np.fft.rfftfreq(len(out), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(pitch, abs=2.0)


def _cues(srt: str) -> list[tuple[float, float]]:
    def seconds(stamp):
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [(seconds(a), seconds(b)) for a, b in re.findall(r"(\S+) --> (\S+)", srt)]


def test_rate_and_volume_through_the_cli_subtitles_and_manifest_in_step(tiny_checkpoint, tmp_path):
    runner = CliRunner()

    def say(name, *extra):
        args = ["say", TEXT, "-o", str(tmp_path / f"{name}.wav"), "--subtitles", str(tmp_path / f"{name}.srt"),
                "--manifest", str(tmp_path / f"{name}.json"), "--model", str(tiny_checkpoint), "--float",
                "--max-seconds", "1", "--segment-seconds", "2", "--seed", "4", *extra]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        audio = soundfile.read(tmp_path / f"{name}.wav", dtype="float32")[0]
        return audio, _cues((tmp_path / f"{name}.srt").read_text()), json.loads((tmp_path / f"{name}.json").read_text())

    plain, plain_cues, _ = say("plain")
    fast, fast_cues, manifest = say("fast", "--rate", "1.25")  # the same codes, from the segment cache
    assert len(plain_cues) >= 3
    assert len(fast) == pytest.approx(len(plain) / 1.25, rel=0.01)
    # Every cue starts and ends where its segment is in the faster audio (1/rate of the time, each segment
    # filtered alone: within a few milliseconds), and the manifest says the same.
    for (a, b), (fa, fb) in zip(plain_cues, fast_cues):
        assert fa == pytest.approx(a / 1.25, abs=0.01) and fb == pytest.approx(b / 1.25, abs=0.01)
    times = [t for s in manifest["segments"] for t in (s["start"], s["end"])]
    assert times == pytest.approx([t for cue in fast_cues for t in cue], abs=0.0011)
    assert manifest["seconds"] == pytest.approx(len(fast) / SAMPLE_RATE)

    quiet, quiet_cues, _ = say("quiet", "--volume", "-6dB")  # a leading dash is the value, not a flag
    assert quiet_cues == plain_cues and len(quiet) == len(plain)
    np.testing.assert_allclose(quiet, np.clip(plain, -1, 1) * 10 ** (-6 / 20), atol=1e-4)


@pytest.mark.parametrize("args, message", [(["--rate", "5"], "--rate must be in [0.25, 4]"), (["--volume", "0"], "--volume")])
def test_bad_rate_or_volume_is_a_usage_error(args, message, tiny_checkpoint):
    result = CliRunner().invoke(app, ["say", "hi", "-o", "x.wav", "--model", str(tiny_checkpoint), *args])
    assert result.exit_code == 2 and message in result.output
