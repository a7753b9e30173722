"""`bark batch` as cron runs it: real subprocesses on the tiny model, killed, re-run, and run twice at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import soundfile

from tiny_bark import sentence


@pytest.fixture
def batch(tiny_checkpoint, tmp_path):
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    base = [sys.executable, "-m", "bark_cli", "batch", "--max-seconds", "1", "--log-format", "json"]

    def start(*args) -> subprocess.Popen:
        return subprocess.Popen([*base, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)

    def run(*args):
        process = start(*args)
        stdout, stderr = process.communicate(timeout=600)
        events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        return process.returncode, events, stderr

    run.start = start
    run.env = env
    return run


def items_file(path, n: int) -> None:
    lines = [sentence(i) for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary_of(events) -> dict:
    [summary] = [e for e in events if e["event"] == "summary"]
    return summary


def manifest(out) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def assert_outputs_whole(out, n: int) -> None:
    wavs = sorted(out.glob("*.wav"))
    assert len(wavs) == n and all(soundfile.info(w).frames > 0 for w in wavs)
    assert not list(out.rglob("*.part"))


def test_killed_run_resumes_without_recomputing(batch, tmp_path):
    items_file(tmp_path / "book.txt", 30)
    out = tmp_path / "out"
    process = batch.start("book.txt", "-d", "out", "--batch-size", "4")
    while not (out / "manifest.jsonl").exists() or sum(e["status"] == "rendered" for e in manifest(out)) < 8:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # into the next window's generation
    process.send_signal(signal.SIGKILL)  # a crash: no cleanup at all
    process.wait()
    done = {e["output"]: e["segments"] for e in manifest(out) if e["status"] == "rendered"}
    cache_entries = len(list((tmp_path / "cache").rglob("*.npz")))
    for wav in out.glob("*.wav"):
        assert wav.name in done and soundfile.info(wav).frames > 0  # written outputs are whole

    code, events, stderr = batch("book.txt", "-d", "out", "--batch-size", "4")
    assert code == 0, stderr
    summary = summary_of(events)
    assert summary["skipped"] == len(done) and summary["failed"] == 0
    assert summary["rendered"] + summary["cached"] == 30 - len(done)
    # Every segment cached by the killed run and not part of a finished item was reused, not recomputed.
    assert summary["segments_cached"] == cache_entries - sum(done.values())
    assert_outputs_whole(out, 30)

    # Editing one sentence of one item re-renders just that item, and just that segment of it.
    lines = (tmp_path / "book.txt").read_text().splitlines()
    lines[4] = "hello my name is suno. The sound of music."
    (tmp_path / "book.txt").write_text("\n".join(lines) + "\n")
    code, events, _ = batch("book.txt", "-d", "out", "--batch-size", "4", "--segment-seconds", "2")
    summary = summary_of(events)
    assert summary["failed"] == 0 and summary["segments_generated"] > 0
    code, events, _ = batch("book.txt", "-d", "out", "--batch-size", "4", "--segment-seconds", "2")
    assert summary_of(events)["skipped"] == 30
    lines[4] = lines[4].replace("music", "water")  # the second segment; the first (the voice) is unchanged
    (tmp_path / "book.txt").write_text("\n".join(lines) + "\n")
    code, events, _ = batch("book.txt", "-d", "out", "--batch-size", "4", "--segment-seconds", "2")
    summary = summary_of(events)
    assert (summary["rendered"], summary["skipped"], summary["segments_generated"]) == (1, 29, 1)


def test_two_concurrent_runs_render_each_file_once(batch, tmp_path):
    items_file(tmp_path / "book.txt", 12)
    first = batch.start("book.txt", "-d", "out", "--batch-size", "2")
    second = batch.start("book.txt", "-d", "out", "--batch-size", "2")
    for process in (first, second):
        process.communicate(timeout=600)
        assert process.returncode == 0
    rendered = [e["output"] for e in manifest(tmp_path / "out") if e["status"] in ("rendered", "cached")]
    assert sorted(rendered) == sorted(set(rendered)) and len(rendered) == 12
    assert_outputs_whole(tmp_path / "out", 12)


def test_bad_items_are_reported_and_the_rest_render(batch, tmp_path):
    lines = [
        {"text": "hello my name is suno", "output": "one.wav", "seed": 1},
        {"text": "   ", "output": "empty.wav"},
        {"text": "i like pizza", "voice": "no_such_voice", "output": "voice.wav"},
        {"text": "the water", "output": "../escape.wav"},
        {"text": "the water", "output": "/abs.wav"},
        {"text": "a good day", "output": "sub/two.flac", "text_temp": 0.5},
    ]
    jsonl = "\n".join(json.dumps(line) for line in lines[:3]) + "\nnot json at all\n"
    jsonl += "\n".join(json.dumps(line) for line in lines[3:]) + "\n"
    (tmp_path / "items.jsonl").write_text(jsonl)
    code, events, stderr = batch("items.jsonl", "-d", "out", "--subtitles", "srt")
    assert code == 7 and "4 of 7 item(s) failed" not in stderr and "5 of 7 item(s) failed" in stderr
    status = {e["output"]: e for e in events if e["event"] == "item"}
    assert status["one.wav"]["status"] == "rendered" and status["sub/two.flac"]["status"] == "rendered"
    assert "the text is empty" in status["empty.wav"]["error"]
    assert "no voice named 'no_such_voice'" in status["voice.wav"]["error"]
    assert "outside --out-dir" in status["../escape.wav"]["error"] and "outside --out-dir" in status["/abs.wav"]["error"]
    assert any("not valid JSON" in e.get("error", "") for e in events)
    assert (tmp_path / "out" / "one.srt").is_file() and soundfile.info(tmp_path / "out" / "sub" / "two.flac").frames > 0
    assert not (tmp_path / "escape.wav").exists()


def test_cache_info_and_clear(batch, tmp_path):
    items_file(tmp_path / "book.txt", 2)
    assert batch("book.txt", "-d", "out")[0] == 0
    info = subprocess.run([sys.executable, "-m", "bark_cli", "cache", "info", "--json"], env=batch.env, capture_output=True, text=True)
    assert json.loads(info.stdout)["entries"] == 2
    subprocess.run([sys.executable, "-m", "bark_cli", "cache", "clear"], env=batch.env, check=True, capture_output=True)
    info = subprocess.run([sys.executable, "-m", "bark_cli", "cache", "info", "--json"], env=batch.env, capture_output=True, text=True)
    assert json.loads(info.stdout)["entries"] == 0
    code, events, _ = batch("book.txt", "-d", "out", "--force")
    assert summary_of(events)["rendered"] == 2


def test_a_line_that_is_not_utf8_fails_alone(batch, tmp_path):
    (tmp_path / "lines.txt").write_bytes(b"hello my name is suno\nbad \xff line\ni like pizza\n")
    code, events, stderr = batch("lines.txt", "-d", "out")
    assert code == 7, stderr
    status = {e["source"]: e for e in events if e["event"] == "item"}
    assert status["lines.txt:2"]["status"] == "failed"
    assert "line 2 is not UTF-8 text (invalid byte at offset 4)" in status["lines.txt:2"]["error"]
    assert status["lines.txt:1"]["status"] == status["lines.txt:3"]["status"] == "rendered"
    assert summary_of(events)["failed"] == 1
