"""`bark batch --ray` and `bark book --ray`: the stage batches on Ray actors (cluster/), on a local Ray with
two CPU workers and the tiny checkpoint. The outputs, logs, cache and records are a local run's."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bark_cli.cli.app import app
from tiny_bark import VOCAB_WORDS, sentence

ray = pytest.importorskip("ray")
runner = CliRunner()
FAST = ["--max-seconds", "1", "--log-format", "json", "--retakes", "0"]
TIMINGS = ("compute_seconds", "real_time_factor", "time")  # the only fields of the log that may differ


def items_file(path: Path, n: int, sentences: int = 1) -> Path:
    path.write_text("\n".join(" ".join(sentence(i * 3 + s) for s in range(sentences)) for i in range(n)) + "\n")
    return path


def events(stderr: str) -> list[dict]:
    return [
        {k: v for k, v in json.loads(line).items() if k not in TIMINGS} for line in stderr.splitlines() if line.startswith("{")
    ]


def outputs(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.wav"))}


@pytest.fixture(scope="module")
def cluster():
    """A Ray of the tests' own in this process, 2 CPUs: `--ray auto` runs join it (cluster/workers.connect)."""
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_without_ray_one_line_naming_the_extra(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is not installed
    items = items_file(tmp_path / "items.txt", 1)
    result = runner.invoke(app, ["batch", str(items), "-d", str(tmp_path / "out"), "--model", str(tiny_checkpoint), "--ray", "local"])
    assert result.exit_code == 10
    assert result.output.strip().splitlines() == ["bark: error: --ray needs Ray, which is not installed: pip install 'bark-cli[ray]'"]


def test_workers_need_ray(tiny_checkpoint, tmp_path):
    items = items_file(tmp_path / "items.txt", 1)
    result = runner.invoke(app, ["batch", str(items), "-d", str(tmp_path / "out"), "--model", str(tiny_checkpoint), "--workers", "2"])
    assert result.exit_code == 2 and "--ray" in result.output


def test_unreachable_cluster_one_line_at_once(tiny_checkpoint, tmp_path):
    """An address nothing listens on: exit 13 with one line saying what to do, from the probe before ray.init
    (which would retry for minutes, logging to stderr)."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    items = items_file(tmp_path / "items.txt", 1)
    result = runner.invoke(app, ["batch", str(items), "-d", str(tmp_path / "out"), "--model", str(tiny_checkpoint), "--ray", f"127.0.0.1:{port}"])
    assert result.exit_code == 13
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"bark: error: --ray 127.0.0.1:{port}: no Ray cluster answers there") and "ray start --head" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_same_bytes_and_log_as_a_local_run(tiny_checkpoint, tmp_path):
    """A real `bark batch --ray local` (its own Ray) with two workers: the files and the per-item log lines are a
    local run's, and stdout stays empty (Ray's logs go to its log files)."""
    items = items_file(tmp_path / "items.txt", 4, sentences=3)
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint)}
    runs = {}
    for name, extra in (("local", []), ("ray", ["--ray", "local", "--workers", "2"])):
        env["XDG_CACHE_HOME"] = str(tmp_path / f"cache-{name}")  # each run generates every segment
        command = [sys.executable, "-m", "bark_cli", "batch", str(items), "-d", str(tmp_path / name), "--batch-size", "2"]
        runs[name] = subprocess.run(command + FAST + extra, capture_output=True, text=True, env=env, timeout=300)
        assert runs[name].returncode == 0, runs[name].stderr
    assert runs["ray"].stdout == ""
    assert all(line.startswith("{") for line in runs["ray"].stderr.splitlines()), runs["ray"].stderr
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local") and len(outputs(tmp_path / "local")) == 4
    assert events(runs["ray"].stderr) == events(runs["local"].stderr)


def _kill_first_generating_worker(killed: list, stop: threading.Event) -> None:
    """SIGKILL the first process found running BarkWorker.generate (Ray names a busy actor's process so)."""
    while not stop.is_set() and not killed:
        for pid in os.listdir("/proc"):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError):
                continue
            if pid.isdigit() and b"BarkWorker.generate" in title:
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                return
        time.sleep(0.005)


def test_killed_worker_then_resume(cluster, tiny_checkpoint, tmp_path):
    """A worker SIGKILLed mid-batch: Ray restarts it and runs the batch again; every file is written once, with
    a local run's bytes. Run again, nothing is generated; with an output removed, it comes from the cache."""
    items = items_file(tmp_path / "items.txt", 6, sentences=2)
    common = [str(items), "--model", str(tiny_checkpoint), "--batch-size", "1", *FAST]
    local = runner.invoke(app, ["batch", "-d", str(tmp_path / "local"), "--no-cache", *common])
    assert local.exit_code == 0, local.output

    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_generating_worker, args=(killed, stop))
    killer.start()
    try:
        result = runner.invoke(app, ["batch", "-d", str(tmp_path / "ray"), "--ray", "auto", "--workers", "2", *common])
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen generating"
    assert result.exit_code == 0, result.output
    manifest = [json.loads(line) for line in (tmp_path / "ray" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(e["item"] for e in manifest) == [1, 2, 3, 4, 5, 6]
    assert {e["status"] for e in manifest} == {"rendered"}
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")

    again = runner.invoke(app, ["batch", "-d", str(tmp_path / "ray"), "--ray", "auto", "--workers", "2", *common])
    summary = [e for e in events(again.output) if e["event"] == "summary"][0]
    assert (summary["skipped"], summary["segments_generated"]) == (6, 0)

    (tmp_path / "ray" / "items-003.wav").unlink()
    again = runner.invoke(app, ["batch", "-d", str(tmp_path / "ray"), "--ray", "auto", "--workers", "2", *common])
    summary = [e for e in events(again.output) if e["event"] == "summary"][0]
    assert (summary["skipped"], summary["cached"], summary["segments_generated"]) == (5, 1, 0)
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")


def test_book_on_ray_as_locally(cluster, tiny_checkpoint, tmp_path):
    book = tmp_path / "book.md"
    chapter = lambda n: f"# Chapter {n}\n\n" + " ".join(VOCAB_WORDS[(n * 5 + k) % len(VOCAB_WORDS)] for k in range(6)) + ".\n"  # noqa: E731
    book.write_text("\n".join(chapter(n) for n in range(1, 4)))
    common = [str(book), "--model", str(tiny_checkpoint), "--voice", "announcer", *FAST]
    for name, extra in (("local", []), ("ray", ["--ray", "auto", "--workers", "2"])):
        result = runner.invoke(app, ["book", *common, "--split", str(tmp_path / name), "--no-cache", *extra])
        assert result.exit_code == 0, result.output
    local, remote = sorted((tmp_path / "local").glob("*.wav")), sorted((tmp_path / "ray").glob("*.wav"))
    assert [p.name for p in remote] == [p.name for p in local] and len(local) == 3
    assert [p.read_bytes() for p in remote] == [p.read_bytes() for p in local]


def test_one_segment_items_keep_every_worker_busy(cluster, tiny_checkpoint, tmp_path):
    """Items of one segment, --batch-size 1: each window is one batch, so the driver renders several windows at
    once (pipeline/rounds.py) and both workers have batches; the files are a local run's."""
    from bark_cli.api.batch import BatchRunner
    from bark_cli.audio.formats import STDOUT, audio_format
    from bark_cli.batch.inputs import read_items
    from bark_cli.options import ClusterOptions, GenerationOptions, QualityOptions, RenderOptions, RuntimeOptions

    items = items_file(tmp_path / "items.txt", 6)
    runs = {}
    for name, where in (("local", ClusterOptions()), ("ray", ClusterOptions(ray="auto", workers=2))):
        runner_ = BatchRunner(
            tmp_path / name, audio_format(STDOUT, None, False), GenerationOptions(max_seconds=1.0),
            RuntimeOptions(model=str(tiny_checkpoint)), RenderOptions(batch_size=1, no_cache=True), quality=QualityOptions(retakes=0),
            cluster=where,
        )  # fmt: skip
        runs[name] = runner_
        assert runner_.run(read_items([str(items)], None, "wav")).rendered == 6
    synthesizer = runs["ray"].pipeline.synthesizer
    assert runs["ray"].in_flight == 4 and synthesizer.most_in_flight >= 2
    assert all(sent >= 2 for sent in synthesizer.batches), synthesizer.batches
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")


def test_retakes_give_the_same_bytes_and_log_on_any_number_of_workers(cluster, endless_checkpoint, tmp_path):
    """Every take of the endless checkpoint runs away and is retaken: locally, on 1 worker and on 2, the files,
    the per-item lines (retaken, flagged_segments) and the summary are the same."""
    items = items_file(tmp_path / "items.txt", 4, sentences=2)
    common = [str(items), "--model", str(endless_checkpoint), "--batch-size", "2", "--max-seconds", "3",
              "--segment-seconds", "1", "--retakes", "1", "--log-format", "json", "--no-cache"]  # fmt: skip
    logs = {}
    for name, extra in (("local", []), ("one", ["--ray", "auto"]), ("two", ["--ray", "auto", "--workers", "2"])):
        result = runner.invoke(app, ["batch", "-d", str(tmp_path / name), *common, *extra])
        assert result.exit_code == 0, result.output
        logs[name] = events(result.output)
    summary = [e for e in logs["local"] if e["event"] == "summary"][0]
    assert summary["segments_retaken"] > 0
    assert logs["one"] == logs["two"] == logs["local"]
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two") == outputs(tmp_path / "local")


def test_a_workers_failed_allocation_is_out_of_memory_as_locally(cluster, tiny_checkpoint):
    """What a worker's GPU or RAM cannot hold comes back as OutOfMemory (exit 14), not as a bug (exit 1)."""
    from bark_cli.cluster.workers import RaySynthesizer
    from bark_cli.errors import OutOfMemory
    from bark_cli.options import ClusterOptions, RuntimeOptions

    @ray.remote
    def allocate():
        import torch

        return torch.empty(2**40)  # 4 TiB

    synthesizer = RaySynthesizer(RuntimeOptions(model=str(tiny_checkpoint)), ClusterOptions(ray="auto"))
    with pytest.raises(OutOfMemory, match="^out of RAM"):
        synthesizer._get(allocate.remote())


def test_only_the_cluster_module_imports_ray():
    root = Path(__file__).resolve().parent.parent / "bark_cli"
    importing = {
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if any(line.strip() in ("import ray", "from ray import") or line.strip().startswith("from ray") for line in p.read_text().splitlines())
    }  # fmt: skip
    assert importing == {"cluster/workers.py"}
