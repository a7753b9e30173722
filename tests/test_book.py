"""`bark book` on the tiny checkpoint: books the tests build (tests/book_inputs.py) into M4B files with
chapters, per-chapter files, chapter ranges, resumed runs, lexicon edits and levelled loudness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app
from book_inputs import CHAPTERS, FOOTNOTE, build_epub, cover_png

runner = CliRunner()
FAST = ["--max-seconds", "1", "--device", "cpu"]


def bark_book(checkpoint, *args):
    return runner.invoke(app, ["book", *map(str, args), "--model", str(checkpoint), *FAST])


def events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def summary_of(output: str) -> dict:
    return next(e for e in events(output) if e["event"] == "summary")


def chapter_lengths(work: Path, numbers) -> list[int]:
    """The rendered chapters' lengths in samples, from the work directory's files."""
    return [soundfile.info(str(work / f"{n:03d}.flac")).frames for n in numbers]


@pytest.fixture
def shared_cache(tmp_path_factory, monkeypatch):
    """One segment cache for the tests that render the same EPUB: the later ones decode what the first
    generated (their checks do not depend on which ran first)."""
    root = tmp_path_factory.getbasetemp() / "book-segment-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root


def test_epub_becomes_an_m4b_with_chapters_tags_and_cover(tiny_checkpoint, tmp_path, shared_cache):
    import av
    from mutagen.mp4 import MP4

    epub = build_epub(tmp_path / "voyage.epub")
    out = tmp_path / "voyage.m4b"
    result = bark_book(tiny_checkpoint, epub, "-o", out, "--log-format", "json")
    assert result.exit_code == 0, result.output
    counts = summary_of(result.output)["counts"]
    assert counts["rendered"] + counts["cached"] == 3

    lengths = chapter_lengths(tmp_path / "voyage.m4b.work", (1, 2, 3))
    starts = np.cumsum([0, *lengths[:-1]]).tolist()
    with av.open(str(out)) as container:  # PyAV: the chapter marks, titles and the audio
        chapters = container.chapters()
        assert [c["metadata"]["title"] for c in chapters] == [title for title, _ in CHAPTERS]
        for chapter, start in zip(chapters, starts):  # MP4's chapter track counts milliseconds
            assert abs(chapter["start"] * chapter["time_base"] - start / 24_000) <= 0.001
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.rate == 24_000
        assert abs(stream.duration - sum(lengths)) < 1024  # the encoder's last frame is rounded (a few samples)
        assert stream.metadata.get("language") == "eng"
    tags = MP4(out)  # the Nero chapter list keeps 100 ns: the starts to the sample
    assert [round(c.start * 24_000) for c in tags.chapters] == starts
    assert tags["©nam"] == ["A Tiny Voyage"] and tags["©ART"] == ["Ada Writer"]
    assert tags["©wrt"] == ["v2/en_speaker_6"] and tags["----:com.apple.iTunes:LANGUAGE"] == [b"en"]
    assert bytes(tags["covr"][0]) == cover_png()

    again = bark_book(tiny_checkpoint, epub, "-o", out, "--log-format", "json")
    assert again.exit_code == 0, again.output
    summary = summary_of(again.output)
    assert summary["counts"]["skipped"] == 3 and summary["segments_generated"] == 0
    assert summary["assembled"] == "up to date"


def test_the_spoken_text_leaves_out_footnotes_and_scripts(tmp_path):
    from bark_cli.book.chapters import read_book

    book = read_book(build_epub(tmp_path / "b.epub"))
    assert [c.title for c in book.chapters] == [t for t, _ in CHAPTERS]  # the nested TOC, flattened
    assert book.chapters[0].text == "The Harbour.\n\nThe boat came in at dawn and Nguyen waved."
    assert FOOTNOTE not in book.chapters[0].text and "spoken" not in book.chapters[0].text
    assert (book.title, book.author, book.language) == ("A Tiny Voyage", "Ada Writer", "en")


def test_split_writes_a_tagged_file_per_chapter_of_the_range(tiny_checkpoint, tmp_path, shared_cache):
    epub = build_epub(tmp_path / "voyage.epub")
    result = bark_book(tiny_checkpoint, epub, "--split", tmp_path / "parts", "--chapters", "2-3", "--format", "flac")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "parts").iterdir() if p.is_file())
    assert names == ["02 The Storm.flac", "03 The Return.flac"]
    with soundfile.SoundFile(tmp_path / "parts" / names[0]) as sound:
        assert (sound.title, sound.album, sound.artist) == ("The Storm", "A Tiny Voyage", "Ada Writer")
        assert sound.samplerate == 24_000 and sound.frames == chapter_lengths(tmp_path / "parts" / ".work", [2])[0]
    assert not (tmp_path / "parts" / ".work" / "001.flac").exists()  # chapter 1 was not rendered


def test_a_failed_chapter_fails_the_run_and_nothing_is_assembled(tiny_checkpoint, tmp_path, shared_cache):
    epub = build_epub(tmp_path / "voyage.epub")
    lexicon = tmp_path / "silence.toml"  # chapter 2's every word spoken as nothing: no text to render
    lexicon.write_text(r"'/The Storm\.|Rain fell on the old town\./' = ''" + "\n", encoding="utf-8")
    out = tmp_path / "v.m4b"
    result = bark_book(tiny_checkpoint, epub, "-o", out, "--lexicon", lexicon, "--log-format", "json")
    assert result.exit_code == 7, result.output
    chapters = {e["chapter"]: e["status"] for e in events(result.output) if e["event"] == "chapter"}
    assert chapters[2] == "failed" and chapters[1] in ("rendered", "cached") and chapters[3] in ("rendered", "cached")
    assert not out.exists() and "not assembled" in result.output
    assert bark_book(tiny_checkpoint, epub, "-o", out, "--voice", "no-such-voice").exit_code == 3


def test_chapter_ranges_beyond_the_book_are_refused(tiny_checkpoint, tmp_path):
    epub = build_epub(tmp_path / "voyage.epub")
    result = bark_book(tiny_checkpoint, epub, "-o", tmp_path / "b.m4b", "--chapters", "2-5")
    assert result.exit_code == 2 and "chapters 1 to 3" in result.output
    result = bark_book(tiny_checkpoint, epub, "-o", tmp_path / "b.m4b", "--chapters", "two")
    assert result.exit_code == 2


def test_list_prints_chapters_and_loads_no_network(tmp_path):
    epub = build_epub(tmp_path / "voyage.epub")
    result = runner.invoke(app, ["book", str(epub), "--list", "--model", str(tmp_path / "no-such-checkpoint")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[1].split()[:3] == ["2", "8", "words"] and lines[1].endswith("The Storm")


def test_a_lexicon_change_generates_only_the_segments_it_changes(tiny_checkpoint, tmp_path):
    book = tmp_path / "notes.md"
    book.write_text("# One\n\nNguyen sailed.\n\nThe sea was calm.\n\n# Two\n\nThe gulls cried.\n", encoding="utf-8")
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('"Nguyen" = "Win"\n', encoding="utf-8")
    out = tmp_path / "notes.m4b"
    # Counts of segments, not of takes: no quality gate (its retakes are cached too: tests/test_quality.py).
    first = bark_book(tiny_checkpoint, book, "-o", out, "--lexicon", lexicon, "--log-format", "json", "--retakes", "0")
    assert first.exit_code == 0, first.output
    assert summary_of(first.output)["segments_generated"] == 5

    lexicon.write_text('"Nguyen" = "Wen"\n', encoding="utf-8")
    second = bark_book(tiny_checkpoint, book, "-o", out, "--lexicon", lexicon, "--log-format", "json", "--retakes", "0")
    assert second.exit_code == 0, second.output
    summary = summary_of(second.output)
    assert summary["counts"] == {"rendered": 1, "cached": 0, "skipped": 1, "locked": 0, "failed": 0}
    assert (summary["segments_generated"], summary["segments_cached"]) == (1, 2)  # "Win sailed." only
    assert summary["assembled"] == "written"


def test_loudness_brings_the_book_within_half_an_lu_of_the_target(tiny_checkpoint, tmp_path, shared_cache):
    import av
    import pyloudnorm

    epub = build_epub(tmp_path / "voyage.epub")
    out = tmp_path / "two.m4b"
    result = bark_book(tiny_checkpoint, epub, "-o", out, "--chapters", "1-2", "--loudness", "-23", "--log-format", "json")
    assert result.exit_code == 0, result.output
    levels = [e for e in events(result.output) if e["event"] == "levels"]
    assert len(levels) == 2 and all(e["passed"] and e["true_peak"] <= -1.0 for e in levels), levels
    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    assert abs(pyloudnorm.Meter(24_000).integrated_loudness(audio.astype(np.float64)) + 23) <= 0.5


def test_acx_writes_44khz_mp3s_and_reports_each_chapter(tiny_checkpoint, tmp_path, shared_cache):
    import av

    epub = build_epub(tmp_path / "voyage.epub")
    result = bark_book(tiny_checkpoint, epub, "--split", tmp_path / "acx", "--acx", "--chapters", "2")
    assert result.exit_code == 0, result.output
    assert "The Storm: RMS" in result.output and "ACX" in result.output
    with av.open(str(tmp_path / "acx" / "02 The Storm.mp3")) as container:
        stream = container.streams.audio[0]
        assert (stream.rate, stream.bit_rate, stream.codec_context.name) == (44_100, 192_000, "mp3float")
        assert container.metadata["album"] == "A Tiny Voyage"
    assert bark_book(tiny_checkpoint, epub, "-o", tmp_path / "x.m4b", "--acx").exit_code == 2


def test_resume_after_a_kill_renders_neither_finished_chapters_nor_cached_segments(tiny_checkpoint, tmp_path):
    """Killed (SIGKILL) while chapter 2 renders; the next run skips chapter 1 and takes chapter 2's
    segments generated before the kill from the cache."""
    sentences = " ".join(f"Wave number {n} broke on the shore." for n in range(1, 5))
    book = tmp_path / "long.txt"
    book.write_text(f"Chapter 1\nThe boat came in.\n\nChapter 2\n{sentences}\n", encoding="utf-8")
    out = tmp_path / "long.m4b"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "bark_cli", "book", str(book), "-o", str(out), "--model", str(tiny_checkpoint),
               *FAST, "--segment-seconds", "1", "--batch-size", "1", "--log-format", "json",
               "--retakes", "0"]  # fmt: skip  # cache files count segments only without the gate's retakes
    record = tmp_path / "long.m4b.work" / ".bark" / "done" / "001.flac.json"
    cache = tmp_path / "cache" / "bark-cli"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            cached = sum(1 for _ in cache.rglob("*.npz")) if cache.exists() else 0
            if record.exists() and cached >= 2 + 2:  # chapter 1's two segments and two of chapter 2's
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert not out.exists()
    before = sum(1 for _ in cache.rglob("*.npz"))
    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    chapters = {e["chapter"]: e for e in events(resumed.stderr) if e["event"] == "chapter"}
    assert chapters[1]["status"] == "skipped"
    summary = summary_of(resumed.stderr)
    total = chapters[2]["segments"]
    assert summary["segments_cached"] == before - 2 >= 2  # chapter 2's share of what the killed run cached
    assert summary["segments_generated"] == total - summary["segments_cached"]
    assert out.is_file()


def test_an_interrupted_mux_leaves_no_file(tmp_path):
    from bark_cli.book.m4b import BookTags, write_m4b

    def chapters():
        yield "One", np.zeros(24_000, np.float32)
        raise KeyboardInterrupt

    out = tmp_path / "b.m4b"
    with pytest.raises(KeyboardInterrupt):
        write_m4b(out, chapters(), BookTags("T", None, "v", None, ""))
    assert list(tmp_path.iterdir()) == []


def test_a_second_run_of_the_same_book_waits_for_none(tiny_checkpoint, tmp_path):
    from filelock import FileLock

    epub = build_epub(tmp_path / "voyage.epub")
    state = tmp_path / "v.m4b.work" / ".bark"
    state.mkdir(parents=True)
    with FileLock(str(state / "book.lock")):
        result = bark_book(tiny_checkpoint, epub, "-o", tmp_path / "v.m4b")
    assert result.exit_code == 0 and "locked by another bark book run" in result.output
    assert not (tmp_path / "v.m4b").exists()
