"""`bark batch` against hostile items and a hostile disk, as real subprocesses on the tiny checkpoint:
nothing escapes --out-dir, nothing of bark's own is overwritten, every bad thing fails its item alone."""

from __future__ import annotations

import io
import json
import os
import pty
import resource
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from bark_cli.cli.app import app

FORGED = "evil\nbark: item 99 forged -> x.wav rendered\n.wav"


@pytest.fixture
def batch(tiny_checkpoint, tmp_path):
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint)}
    base = [sys.executable, "-m", "bark_cli", "batch", "--max-seconds", "1"]

    def run(*args, preexec_fn=None):
        return subprocess.run(
            [*base, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path, timeout=600,
            preexec_fn=preexec_fn,
        )  # fmt: skip

    def on_terminal(*args) -> tuple[int, bytes]:
        """Run with stderr on a terminal (a pty); the exit code and what the terminal showed."""
        controller, terminal = pty.openpty()
        process = subprocess.Popen([*base, *args], stdout=subprocess.PIPE, stderr=terminal, env=env, cwd=tmp_path)
        os.close(terminal)
        shown = b""
        try:
            while chunk := os.read(controller, 65536):
                shown += chunk
        except OSError:  # EIO: the process closed its end, all is read
            pass
        os.close(controller)
        return process.wait(timeout=600), shown

    run.on_terminal = on_terminal
    return run


def statuses(manifest) -> dict[str, dict]:
    return {e["output"]: e for e in map(json.loads, manifest.read_text().splitlines())}


def huge_voice(path) -> None:
    """A 7 KB voice whose semantic_prompt declares 10^12 values (np.load would try to allocate them)."""
    arrays = {"coarse_prompt": np.zeros((2, 10), np.int64), "fine_prompt": np.zeros((8, 10), np.int64)}
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            archive.writestr(name + ".npy", buffer.getvalue())
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<i8", "fortran_order": False, "shape": (10**12,)})
        archive.writestr("semantic_prompt.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + bytes(7000))


def test_hostile_outputs_and_damaged_state_fail_alone(batch, tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / ".bark" / "done").mkdir(parents=True)
    (out / ".bark" / "locks" / "lockdir.wav.lock").mkdir(parents=True)  # a lock path that is a directory
    os.symlink("/nonexistent/target", out / ".bark" / "locks" / "dangling.wav.lock")
    outside.mkdir()
    os.symlink("../outside", out / "link")
    for name, record in (("damaged.wav", "[]"), ("truncated.wav", '{"key": "ab')):  # damaged records
        (out / name).write_bytes(b"old")
        (out / ".bark" / "done" / (name + ".json")).write_text(record)
    huge_voice(tmp_path / "huge.npz")
    text = "hello my name is suno"
    outputs = [
        "ok.wav", "link/escape.wav", "manifest.jsonl", ".bark/done/x.json", "a.wav", "a.srt", "a/b.wav",
        "a%2Fb.wav", "nul\0.wav", FORGED, "voice.wav", "lockdir.wav", "dangling.wav", "items.jsonl",
        "damaged.wav", "truncated.wav",
    ]  # fmt: skip
    items = [{"text": text, "output": o} | ({"voice": str(tmp_path / "huge.npz")} if o == "voice.wav" else {}) for o in outputs]
    (out / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))

    result = batch("out/items.jsonl", "-d", "out", "--subtitles", "srt")
    stderr = result.stderr.decode()
    assert result.returncode == 7, stderr
    status = statuses(out / "manifest.jsonl")
    written = {"ok.wav", "a.wav", "a/b.wav", "a%2Fb.wav", "damaged.wav", "truncated.wav"}
    assert {o for o, e in status.items() if e["status"] in ("rendered", "cached")} == written
    errors = {o: e["error"] for o, e in status.items() if e["status"] == "failed"}
    assert "would land outside --out-dir" in errors["link/escape.wav"]
    assert "would overwrite the manifest" in errors["manifest.jsonl"]
    assert "would overwrite bark's state" in errors[".bark/done/x.json"]
    assert "is also item 5's subtitles" in errors["a.srt"]
    assert "control characters" in errors["nul\0.wav"] and "control characters" in errors[FORGED]
    assert "declares 1,000,000,000,000 values" in errors["voice.wav"]
    assert "is not a regular file" in errors["lockdir.wav"] and "is not a regular file" in errors["dangling.wav"]
    assert "would overwrite the input" in errors["items.jsonl"]
    assert list(outside.iterdir()) == [] and not os.path.exists("/nonexistent/target")
    assert (out / "items.jsonl").read_text().count("\n") == len(items)
    # One record (and lock) per output, never shared: "a/b.wav" and "a%2Fb.wav" are two.
    records = {p.name for p in (out / ".bark" / "done").iterdir()}
    assert {"a%2Fb.wav.json", "a%252Fb.wav.json", "damaged.wav.json", "truncated.wav.json"} <= records
    assert soundfile.info(out / "damaged.wav").frames > 0 and soundfile.info(out / "a%2Fb.wav").frames > 0
    assert not list(out.rglob("*.part"))
    # Every log line is one of bark's: a newline in a name cannot forge one; each damaged record is said once.
    lines = stderr.splitlines()
    assert all(line.startswith("bark: ") for line in lines) and not any(line.startswith("bark: item 99") for line in lines)
    assert sum("damaged record" in line for line in lines) == 2


def test_damaged_cache_entries_are_generated_again(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lines.txt").write_text("hello my name is suno\ni like pizza\nthe water is good\n")
    args = ["batch", "lines.txt", "-d", "out", "--max-seconds", "1", "--log-format", "json", "--model", str(tiny_checkpoint)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(entries) == 3
    np.savez(entries[0], semantic=np.zeros(5, np.int16), fine=np.zeros((7, 10), np.int16))  # wrong shape
    np.savez(entries[1], semantic=np.zeros(5, np.int16), fine=np.full((8, 10), 5000, np.int16))  # out of range
    entries[2].unlink()
    entries[2].mkdir()  # a directory where an entry goes
    for wav in (tmp_path / "out").glob("*.wav"):
        wav.unlink()
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    [summary] = [json.loads(line) for line in second.stderr.splitlines() if '"summary"' in line]
    assert (summary["rendered"], summary["segments_generated"], summary["segments_cached"]) == (3, 3, 0)
    assert second.stderr.count("damaged segment cache entry") == 3
    assert all(entry.is_file() for entry in entries)  # and each entry is whole again


def _file_size_limit(size: int):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_full_disk_fails_items_not_the_run(batch, tmp_path):
    (tmp_path / "lines.txt").write_text("hello my name is suno\ni like pizza\n")
    result = batch("lines.txt", "-d", "out", "--no-cache", preexec_fn=_file_size_limit(2000))  # files stop at 2 KB
    stderr = result.stderr.decode()
    assert result.returncode == 7, stderr
    lines = stderr.splitlines()
    for n in (1, 2):
        assert any(line.startswith(f"bark: item {n} ") and line.endswith(f"lines-00{n}.wav: File too large") for line in lines)
    assert "Traceback" not in stderr and "cffi" not in stderr and lines[-1] == "bark: error: 2 of 2 item(s) failed; see the log lines above"
    assert not list((tmp_path / "out").rglob("*.part")) and not list((tmp_path / "out").glob("*.wav"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--manifest", "no/such/dir/m.jsonl"], "cannot write the manifest no/such/dir/m.jsonl: directory no/such/dir does not exist"),
        (["--manifest", "lines.txt"], "--manifest lines.txt is also an input file"),
        (["--manifest", "out"], "cannot write the manifest out: it is a directory"),
    ],
    ids=["missing-directory", "an-input", "a-directory"],
)
def test_a_bad_manifest_fails_before_any_work(tiny_checkpoint, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lines.txt").write_text("hello my name is suno\n")
    result = CliRunner().invoke(app, ["batch", "lines.txt", "-d", "out", *args, "--model", str(tiny_checkpoint)])
    assert result.exit_code == 6 and result.output.strip() == f"bark: error: {message}"
    assert (tmp_path / "lines.txt").read_text() == "hello my name is suno\n"
    assert not list(tmp_path.rglob("*.wav"))


def test_a_state_directory_that_is_a_symlink_is_refused(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lines.txt").write_text("hello\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    os.symlink("../elsewhere", tmp_path / "out" / ".bark")
    result = CliRunner().invoke(app, ["batch", "lines.txt", "-d", "out", "--model", str(tiny_checkpoint)])
    assert result.exit_code == 6 and "is not a directory of bark's own" in result.output
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_names_that_look_like_markup_on_a_terminal(batch, tmp_path):
    """On a terminal the log goes through rich: a name is never read as markup."""
    lines = [{"text": "hello my name is suno", "output": "[/oops].wav"}, {"text": "i like pizza", "output": "[bold]x.wav"}]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, shown = batch.on_terminal("items.jsonl", "-d", "out", "--log-format", "text")
    assert code == 0, shown.decode(errors="replace")
    assert soundfile.info(tmp_path / "out" / "[/oops].wav").frames > 0 and b"[/oops].wav rendered" in shown
    assert soundfile.info(tmp_path / "out" / "[bold]x.wav").frames > 0 and b"[bold]x.wav rendered" in shown
