"""The quality gate: each check on synthetic arrays, retakes end to end on the tiny checkpoint, bark check."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app
from bark_cli.constants import SAMPLE_RATE
from bark_cli.quality import checks
from bark_cli.quality.checks import check
from bark_cli.quality.takes import SEED_MODULUS, take_seed
from bark_cli.text.normalize import estimate_seconds

runner = CliRunner()
RNG = np.random.default_rng(0)
TEXT = "the man said hello to the boy, and then he went home to read."  # estimated at about 3 s


def noise(seconds: float, level: float = 0.1) -> np.ndarray:
    """Speech-like for the audio checks: steady, well above the silence floor, never at full scale."""
    return (level * RNG.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def sine(seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


# --- each check on synthetic arrays ---------------------------------------------------------------------
def test_speech_like_audio_passes_every_audio_check():
    report = check(noise(3.0), TEXT)
    assert report.passed and report.score == 0
    assert report.checked == ("duration", "silence", "clipping")


@pytest.mark.parametrize("audio", [np.zeros(3 * SAMPLE_RATE, np.float32), noise(3.0, level=0.005), np.zeros(0, np.float32)])
def test_silence_and_near_silence_are_flagged(audio):
    assert "silence" in check(audio).flags


def test_a_sine_with_a_long_gap_is_flagged_and_a_short_gap_is_not():
    gap = lambda seconds: np.zeros(int(seconds * SAMPLE_RATE), np.float32)  # noqa: E731
    long_gap = check(np.concatenate([sine(2), gap(2.5), sine(2)]))
    assert long_gap.flags == ("silence",) and long_gap.measures["longest_silence"] == pytest.approx(2.5, abs=0.05)
    short_gap = check(np.concatenate([sine(2), gap(1.0), sine(2)]))
    assert short_gap.passed and short_gap.measures["longest_silence"] == pytest.approx(1.0, abs=0.05)


def test_mostly_silent_audio_is_flagged():
    audio = np.concatenate([sine(0.5), np.zeros(int(1.5 * SAMPLE_RATE), np.float32)] * 3)  # 25% active
    report = check(audio)
    assert report.flags == ("silence",) and report.measures["active_share"] < checks.MIN_ACTIVE_SHARE


def test_clipping():
    assert check(np.clip(sine(2, amplitude=1.5), -1, 1)).flags == ("clipping",)
    assert check(sine(2, amplitude=0.9)).passed


def test_looping_tokens_are_flagged_and_varied_ones_are_not():
    audio = noise(3.0)
    looped = np.tile(np.arange(12), 15)  # one 12-token syllable, 15 times: 180 tokens
    assert check(audio, semantic=looped).flags == ("loop",)
    varied = RNG.integers(0, 10_000, 180)
    assert check(audio, semantic=varied).passed
    assert checks.loop_share(looped[: checks.MIN_LOOP_TOKENS - 1]) == 0  # too short to judge


@pytest.mark.parametrize(
    "ratio, flagged", [(0.39, True), (0.41, False), (1.0, False), (2.49, False), (2.51, True)]
)
def test_duration_band_edges(ratio, flagged):
    estimate = estimate_seconds(TEXT)
    report = check(noise(estimate * ratio), TEXT)
    assert ("duration" in report.flags) == flagged, report.measures


def test_short_texts_have_no_lower_duration_bound_but_an_upper_one():
    assert check(noise(0.2), "Yes.").passed  # "Yes." is estimated far under a second
    assert check(noise(3.0), "Yes.").flags == ("duration",)  # over 2.5x a second


def test_runaway_needs_the_cap_without_end_of_speech_and_a_short_text():
    cap = 200  # tokens: about 4 s
    audio, tokens = noise(4.0), RNG.integers(0, 10_000, cap)
    assert "runaway" in check(audio, "the boy said hello.", tokens, cap).flags  # ~1 s of text, ran to the cap
    assert "runaway" not in check(audio, "the boy said hello.", tokens[:-1], cap).flags  # ended
    long_text = " ".join(["the man said hello to the boy"] * 3)  # estimated near the cap: may need all of it
    assert "runaway" not in check(audio, long_text, tokens, cap).flags


def test_the_score_prefers_fewer_and_smaller_failures():
    clean, clipped = check(sine(2)), check(np.clip(sine(2, amplitude=1.5), -1, 1))
    worse = check(np.clip(sine(2, amplitude=1.5), -1, 1), semantic=np.tile(np.arange(4), 50))
    assert clean.score == 0 < clipped.score < worse.score


def test_take_seeds_start_at_the_segment_seed_and_differ():
    assert take_seed(42, 0) == 42
    seeds = [take_seed(s, k) for s in (0, 1, SEED_MODULUS - 1) for k in range(4)]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < SEED_MODULUS for s in seeds)


# --- end to end on the tiny checkpoint ------------------------------------------------------------------
def say(checkpoint, tmp_path, *extra, name="out"):
    out, manifest = tmp_path / f"{name}.wav", tmp_path / f"{name}.json"
    args = ["say", "the man said hello.", "-o", str(out), "--manifest", str(manifest), "--model", str(checkpoint),
            "--seed", "5", "--max-seconds", "3", *extra]  # fmt: skip
    result = runner.invoke(app, args)
    return result, out, json.loads(manifest.read_text()) if manifest.exists() else None


def test_a_runaway_is_retaken_n_times_stays_flagged_and_strict_exits_8(endless_checkpoint, tmp_path):
    result, out, manifest = say(endless_checkpoint, tmp_path, "--retakes", "3", "--strict")
    assert result.exit_code == 8, result.output
    assert "--strict: segment(s) 1 still fail a quality check" in result.output
    assert out.exists()  # the output is still written
    (segment,) = manifest["segments"]
    assert segment["takes"] == 4 and "runaway" in segment["flags"] and segment["measures"]["ended"] is False
    assert segment["seed"] == take_seed(segment_seed(segment), segment["take"])
    # Without --strict the same run succeeds, with a warning naming the segment.
    result, _, _ = say(endless_checkpoint, tmp_path, "--retakes", "3", name="lenient")
    assert result.exit_code == 0 and "segment 1 flagged (runaway" in result.output


def segment_seed(entry) -> int:
    from bark_cli.pipeline import segment_seeds

    return segment_seeds(5, [entry["text"]])[0]


def test_a_generation_that_ends_normally_passes_without_retakes(tiny_checkpoint, tmp_path):
    # Greedy semantic decoding: the tiny checkpoint ends speech after about 80 tokens for this text.
    result, _, manifest = say(tiny_checkpoint, tmp_path, "--text-temp", "0", "--strict")
    assert result.exit_code == 0, result.output
    (segment,) = manifest["segments"]
    assert segment["takes"] == 1 and segment["flags"] == [] and segment["measures"]["ended"] is True
    assert segment["checked"] == list(checks.CHECKS)


def test_retakes_are_reproducible_and_cached(endless_checkpoint, tmp_path):
    first, out1, _ = say(endless_checkpoint, tmp_path, "--retakes", "2", name="a")
    again, out2, _ = say(endless_checkpoint, tmp_path, "--retakes", "2", "--no-cache", name="b")
    assert first.exit_code == again.exit_code == 0
    assert out1.read_bytes() == out2.read_bytes()  # the same seed gives the same bytes, retakes and all


def test_gate_off_keeps_the_first_take_and_writes_no_checks(endless_checkpoint, tmp_path):
    result, _, manifest = say(endless_checkpoint, tmp_path, "--retakes", "0", "--strict")
    assert result.exit_code == 0
    (segment,) = manifest["segments"]
    assert "flags" not in segment and segment["seed"] == segment_seed(segment)


def test_batch_logs_flagged_items_and_a_warm_rerun_generates_nothing(endless_checkpoint, tmp_path):
    items = tmp_path / "items.txt"
    items.write_text("the man said hello.\nthe boy said hi.\n", encoding="utf-8")  # each ~1 s: run away at 3
    args = ["batch", str(items), "-d", str(tmp_path / "out"), "--model", str(endless_checkpoint), "--max-seconds", "3",
            "--retakes", "1", "--log-format", "json", "--strict"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 8, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    done = [e for e in events if e["event"] == "item"]
    assert [e["flagged_segments"] for e in done] == [[0], [0]] and all(e["retaken"] == 1 for e in done)
    summary = next(e for e in events if e["event"] == "summary")
    assert summary["segments_generated"] == 4 and summary["segments_flagged"] == 2
    lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["flagged_segments"] for line in lines] == [[0], [0]]
    # Same inputs, outputs removed: every take comes from the segment cache.
    for wav in (tmp_path / "out").glob("*.wav"):
        wav.unlink()
    result = runner.invoke(app, args)
    summary = next(json.loads(line) for line in result.output.splitlines() if '"summary"' in line)
    assert summary["segments_generated"] == 0 and summary["segments_cached"] == 2 and summary["rendered"] == 0


def test_a_failed_first_segment_is_retaken_before_it_voices_the_others(endless_checkpoint, tmp_path):
    text = "hello there. the boy said hi."  # two segments of under a second each
    args = ["say", text, "-o", str(tmp_path / "o.wav"), "--manifest", str(tmp_path / "o.json"), "--model",
            str(endless_checkpoint), "--max-seconds", "3", "--segment-seconds", "1", "--retakes", "1", "--seed", "2"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    first, second = json.loads((tmp_path / "o.json").read_text())["segments"]
    assert first["takes"] == second["takes"] == 2 and second["voice"] == "(first segment)"


# --- bark check -----------------------------------------------------------------------------------------
def test_check_reads_a_manifest_and_an_audio_file_with_its_text(tmp_path):
    audio = np.concatenate([noise(2.0), np.zeros(int(0.25 * SAMPLE_RATE), np.float32), np.zeros(3 * SAMPLE_RATE, np.float32)])
    wav = tmp_path / "book.wav"
    soundfile.write(wav, audio, SAMPLE_RATE)
    manifest = tmp_path / "book.json"
    segments = [{"text": "the man said hello to him.", "start": 0.0, "end": 2.0},
                {"text": "and so on.", "start": 2.25, "end": 5.25}]  # fmt: skip
    manifest.write_text(json.dumps({"output": "book.wav", "segments": segments}))  # relative: beside the manifest
    result = runner.invoke(app, ["check", str(manifest)])
    assert result.exit_code == 8
    lines = result.stdout.splitlines()
    assert lines[0].startswith("segment 1 (0.00-2.00 s)") and lines[0].endswith(": ok")
    assert lines[1].endswith("flagged: duration, silence")  # 3 s of nothing for a 1 s text
    assert "segment(s) 2 of 2 flagged" in result.stderr
    text = tmp_path / "line.txt"
    text.write_text("the man said hello to him.")
    result = runner.invoke(app, ["check", str(wav), "--text", str(text), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 8 and report["spans"][0]["flags"] == ["duration", "silence"]
    soundfile.write(wav, noise(2.0), SAMPLE_RATE)
    assert runner.invoke(app, ["check", str(wav), "--text", str(text)]).exit_code == 0


@pytest.mark.parametrize("content", ["not json", '{"segments": []}', '{"output": "x.wav", "segments": [{}]}'])
def test_check_rejects_a_bad_manifest_in_one_line(tmp_path, content):
    manifest = tmp_path / "bad.json"
    manifest.write_text(content)
    result = runner.invoke(app, ["check", str(manifest)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "bad.json" in result.stderr


def test_check_rejects_a_file_that_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("hello")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and result.stderr.startswith(f"bark: error: cannot read audio {path}")


def test_book_reports_the_gate_per_chapter_and_strict_exits_8(endless_checkpoint, tmp_path):
    book = tmp_path / "notes.md"
    book.write_text("# One\n\nThe man said hello.\n\n# Two\n\nThe boy said hi.\n", encoding="utf-8")
    args = ["book", str(book), "-o", str(tmp_path / "notes.m4b"), "--model", str(endless_checkpoint),
            "--max-seconds", "3", "--retakes", "1", "--strict", "--log-format", "json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 8, result.output
    assert "--strict: chapter(s) 1, 2 have segments that still fail" in result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    chapters = [e for e in events if e["event"] == "chapter"]
    # Every segment (the spoken title, the sentence) runs away on both takes.
    assert [c["gate"] for c in chapters] == [
        {"retaken": c["segments"], "flagged_segments": list(range(c["segments"]))} for c in chapters
    ]
    summary = next(e for e in events if e["event"] == "summary")
    assert summary["segments_retaken"] == summary["segments_flagged"] == sum(c["segments"] for c in chapters)
    assert (tmp_path / "notes.m4b").is_file()  # still assembled
