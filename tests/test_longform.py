"""Long text end to end on the tiny model: one voice throughout, joins, subtitles, manifest, split."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.audio.joins import Joiner, trim_silence
from bark_cli.cli.app import app
from bark_cli.constants import SAMPLE_RATE
from bark_cli.options import GenerationOptions
from bark_cli.options import RuntimeOptions
from bark_cli.pipeline import Pipeline, Recording, Segment, segment_seeds, voice_from
from bark_cli.quality.takes import take_seed
from tiny_bark import VOCAB_WORDS

runner = CliRunner()


def words_text(n_words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    out = []
    for _ in range(n_words):
        word = rng.choice(VOCAB_WORDS)
        roll = rng.random()
        word += "." if roll < 0.08 else "," if roll < 0.12 else ""
        out.append(word + ("\n\n" if roll < 0.004 else ""))
    return " ".join(out)


def test_5000_words_render_with_subtitles_ending_at_the_audio_end(tiny_checkpoint, tmp_path):
    source, out = tmp_path / "book.txt", tmp_path / "book.wav"
    srt, manifest = tmp_path / "book.srt", tmp_path / "book.json"
    source.write_text(words_text(5000), encoding="utf-8")
    result = runner.invoke(
        app,
        ["say", "--file", str(source), "-o", str(out), "--model", str(tiny_checkpoint), "--max-seconds", "1",
         "--batch-size", "32", "--seed", "3", "--subtitles", str(srt), "--manifest", str(manifest)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frames = soundfile.info(out).frames
    data = json.loads(manifest.read_text())
    segments = data["segments"]
    assert len(segments) > 100 and data["seconds"] == frames / SAMPLE_RATE == segments[-1]["end"]
    last_cue = srt.read_text().strip().split("\n\n")[-1].splitlines()
    assert last_cue[0] == str(len(segments))
    ms = round(frames * 1000 / SAMPLE_RATE)
    assert last_cue[1].endswith(f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}")
    # Pauses: sentence silence between segments, paragraph silence at blank lines.
    gaps = [round((b["start"] - a["end"]) * SAMPLE_RATE) for a, b in zip(segments, segments[1:])]
    paragraphs = [p for p in source.read_text().split("\n\n") if p.strip()]
    assert gaps.count(round(0.75 * SAMPLE_RATE)) == len(paragraphs) - 1 > 0
    assert gaps.count(round(0.25 * SAMPLE_RATE)) == len(gaps) - (len(paragraphs) - 1)
    # Each segment's seed is its kept take's, derived from the segment's own seed (the quality gate).
    own = segment_seeds(3, [s["text"] for s in segments])
    assert [s["seed"] for s in segments] == [take_seed(seed, s["take"]) for seed, s in zip(own, segments)]
    assert segments[0]["voice"] is None and segments[1]["voice"] == "(first segment)"


def _render(synthesizer, texts, voice, options, batch_size):
    """Each segment's result from the pipeline, and the recording (its voice and seeds) after rendering."""
    pipeline = Pipeline(RuntimeOptions(model="unused: the synthesizer is given"), synthesizer=synthesizer)
    recording = Recording(texts, voice, options, seed=0)
    return [result for _, _, result in pipeline.render([recording], batch_size)], recording


def test_first_segment_is_the_voice_of_the_rest(synthesizer):
    greedy = GenerationOptions(text_temp=0, waveform_temp=0, fine_temp=0, max_seconds=1)
    texts = ["hello my name is suno.", "i like pizza.", "the water is good."]
    results, recording = _render(synthesizer, texts, None, greedy, batch_size=2)
    voice = voice_from(results[0].semantic, results[0].fine)
    for i in (1, 2):
        [alone] = synthesizer.generate([Segment(texts[i], voice, recording.seeds[i])], greedy)
        np.testing.assert_array_equal(results[i].fine, alone.fine)
    [no_voice] = synthesizer.generate([Segment(texts[1], None, recording.seeds[1])], greedy)
    assert not np.array_equal(no_voice.fine, results[1].fine)


def test_given_voice_is_used_for_every_segment(synthesizer, tiny_voice):
    from bark_cli.voices.voice import load_voice_file

    greedy = GenerationOptions(text_temp=0, waveform_temp=0, fine_temp=0, max_seconds=1)
    voice = load_voice_file(tiny_voice)
    texts = ["hello my name is suno.", "i like pizza."]
    results, recording = _render(synthesizer, texts, voice, greedy, batch_size=8)
    for i, text in enumerate(texts):
        [alone] = synthesizer.generate([Segment(text, voice, recording.seeds[i])], greedy)
        np.testing.assert_array_equal(results[i].fine, alone.fine)


def test_seeds_follow_each_segments_text_not_its_place():
    """An edited, inserted or removed sentence leaves every other segment's seed (and cached codes) alone;
    a repeated sentence still gets a seed of its own."""
    seeds = segment_seeds(5, ["one.", "two.", "three."])
    assert segment_seeds(5, ["one.", "new.", "two.", "three."])[2:] == seeds[1:]
    assert segment_seeds(5, ["two.", "three."]) == seeds[1:]
    repeated = segment_seeds(5, ["yes.", "no.", "yes."])
    assert repeated[0] != repeated[2] and len(set(repeated)) == 3
    assert segment_seeds(2**63 - 1, ["a"])[0] < 2**63


def test_join_fades_and_offsets():
    joiner = Joiner(2, sentence_silence=0.5, paragraph_silence=0.25)
    chunks = joiner.add(np.ones(1000, dtype=np.float32)) + joiner.add(np.ones(500, dtype=np.float32))
    audio, spans = np.concatenate(chunks), joiner.spans
    assert spans == [(0, 1000), (13000, 13500)] and len(audio) == 13500
    assert audio[0] == 0 and audio[500] == 1 and audio[999] < 0.1 and not audio[1000:13000].any()
    paragraph = Joiner(2, sentence_silence=0.5, paragraph_silence=0.25)
    assert len(np.concatenate(paragraph.add(np.ones(1000, dtype=np.float32), paragraph_end=True))) == 1000 + 6000


def test_trim_silence_keeps_a_little():
    audio = np.zeros(SAMPLE_RATE, dtype=np.float32)
    audio[10_000:12_000] = 0.5
    trimmed = trim_silence(audio)
    assert len(trimmed) == 2000 + 2 * int(0.05 * SAMPLE_RATE)


def test_split_and_dry_run_load_no_network(tiny_checkpoint, tmp_path):
    source = tmp_path / "t.txt"
    source.write_text("Hello there. I like pizza.\n\nA new paragraph!", encoding="utf-8")
    result = runner.invoke(app, ["split", str(source), "--model", str(tiny_checkpoint), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["text"] for r in rows] == ["Hello there. I like pizza.", "A new paragraph!"]
    assert rows[0]["paragraph_end"] and rows[0]["tokens"] > 0 and rows[0]["seconds"] > 0
    dry = runner.invoke(app, ["say", "--file", str(source), "--dry-run", "--model", str(tiny_checkpoint)])
    assert dry.exit_code == 0 and "A new paragraph!" in dry.stdout and not list(tmp_path.glob("*.wav"))


def test_vtt_subtitles(tiny_checkpoint, tmp_path):
    vtt = tmp_path / "x.vtt"
    result = runner.invoke(
        app, ["say", "Hello there. I like pizza.", "-o", str(tmp_path / "x.wav"), "--model", str(tiny_checkpoint),
              "--max-seconds", "1", "--segment-seconds", "1", "--subtitles", str(vtt)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = vtt.read_text().splitlines()
    assert lines[0] == "WEBVTT" and "00:00:00.000 --> " in lines[3]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--file", "missing.txt"], "cannot read missing.txt"),
        (["--file", "latin1.txt"], "latin1.txt is not UTF-8 text (invalid byte at offset 3)"),
        (["hello", "--file", "latin1.txt"], "not both"),
        ([], "no text"),
        (["hello", "--subtitles", "x.txt"], "use a .srt or .vtt file name"),
        (["hello", "--batch-size", "0"], "--batch-size must be a whole number from 1 to 256"),
        (["hello", "--sentence-silence", "-1"], "--sentence-silence must be in [0, 10]"),
        (["hello", "--segment-seconds", "30"], "--segment-seconds must be in [1, 15.39]"),
    ],
)
def test_long_text_input_errors(tiny_checkpoint, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.txt").write_bytes("abc\xe9".encode("latin-1"))
    result = runner.invoke(app, ["say", *args, "-o", "x.wav", "--model", str(tiny_checkpoint)])
    assert result.exit_code in (2, 6) and message in result.output, result.output


def test_say_renders_only_the_segments_that_are_missing_or_changed(tiny_checkpoint, tmp_path):
    """The segment cache in `bark say`: a re-run generates nothing, an edited sentence alone is generated,
    and the file equals a render without the cache."""
    from dataclasses import replace

    from bark_cli import api
    from bark_cli.options import RenderOptions

    text = "Hello there, my name is suno. I like pizza and the water. The sound of music is good."
    options = dict(
        generation=GenerationOptions(seed=4, max_seconds=1),
        runtime=RuntimeOptions(model=str(tiny_checkpoint), device="cpu"),
        render=RenderOptions(segment_seconds=2),
    )
    first = api.say(text, tmp_path / "1.wav", **options)
    assert (first.segments, first.cached) == (3, 0)
    again = api.say(text, tmp_path / "2.wav", **options)
    assert again.cached == 3 and (tmp_path / "1.wav").read_bytes() == (tmp_path / "2.wav").read_bytes()
    edited = text.replace("pizza", "sound")  # the second segment; the first (the voice of the rest) stays
    assert api.say(edited, tmp_path / "3.wav", **options).cached == 2
    fresh = api.say(edited, tmp_path / "4.wav", **{**options, "render": replace(options["render"], no_cache=True)})
    assert fresh.cached == 0 and (tmp_path / "3.wav").read_bytes() == (tmp_path / "4.wav").read_bytes()
