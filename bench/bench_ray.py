"""Throughput of the stage batches on Ray workers (bark_cli/cluster/), and the overhead Ray adds per batch.

    python bench/bench_ray.py                         # the tiny test checkpoint, CPU workers, 1 and 2 workers
    python bench/bench_ray.py --model DIR --batches 8 --batch-size 4 --json out.json
    python bench/bench_ray.py --gpus-per-worker 0.25 --workers 1 2 4   # on a GPU machine

Per-batch overhead: the same batch generated in this process (`Synthesizer.generate`, the local path) and
as one round trip to one idle actor (`BarkWorker.generate`: arguments pickled, scheduled, results and audio
sent back); the difference is what Ray costs a batch. Throughput: ``--batches`` batches sent at once
through `RaySynthesizer.generate_many`, as `bark batch --ray` sends a round, for each worker count. A local
Ray of its own (``num_cpus`` = the largest worker count); torch on one thread per process, as Ray gives an
actor with one CPU, so the numbers compare. Each worker count starts fresh actors; their loading is timed
apart and not counted in the throughput.

`bark batch` of one-segment items (the catalogue case): ``--batches`` x ``--batch-size`` items of one
sentence each, ``--batch-size`` items per window, through `BatchRunner` (files written, no cache), here and
on each worker count. A window is then one batch, so the throughput comes from the windows kept in flight
(2 per worker, pipeline/rounds.py). The actors are loaded by a first, untimed run of other items.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def batches(n: int, size: int):
    from tiny_bark import sentence

    from bark_cli.pipeline import Segment

    return [[Segment(sentence(b * size + i), None, b * size + i) for i in range(size)] for b in range(n)]


def items_file(path: Path, n: int, start: int) -> Path:
    """``n`` one-sentence items, numbered from ``start`` (a warm-up uses other texts than the timed run)."""
    from tiny_bark import sentence

    path.write_text("".join(f"{sentence(start + i)}\n" for i in range(n)))
    return path


def batch_items(runtime, cluster, n: int, batch_size: int, max_seconds: float, where: Path) -> dict:
    """Seconds for `bark batch` of ``n`` one-segment items, after a warm-up run that loads the networks."""
    import ray

    from bark_cli.api.batch import BatchRunner
    from bark_cli.audio.formats import STDOUT, audio_format
    from bark_cli.batch.inputs import read_items
    from bark_cli.options import GenerationOptions, QualityOptions, RenderOptions

    runner = BatchRunner(
        where, audio_format(STDOUT, None, False), GenerationOptions(max_seconds=max_seconds), runtime,
        RenderOptions(batch_size=batch_size, no_cache=True), quality=QualityOptions(retakes=0), cluster=cluster,
    )  # fmt: skip
    warm = items_file(where.with_suffix(".warm.txt"), batch_size * max(cluster.workers, 1) * 2, start=10_000)
    before = runner.run(read_items([str(warm)], None, "wav")).rendered  # the runner's summary counts on
    items = items_file(where.with_suffix(".txt"), n, start=0)
    started = time.perf_counter()
    rendered = runner.run(read_items([str(items)], None, "wav")).rendered - before
    seconds = time.perf_counter() - started
    for actor in getattr(runner.pipeline.synthesizer, "actors", []):  # a RaySynthesizer's; none here
        ray.kill(actor)
    return {"items": rendered, "seconds": seconds, "items_per_s": rendered / seconds, "in_flight": runner.in_flight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: the tiny test checkpoint)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gpus-per-worker", type=float, default=0.0)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5, help="round trips timed for the overhead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import ray
    import torch

    from bark_cli.cluster.workers import BarkWorker, RaySynthesizer
    from bark_cli.options import ClusterOptions, GenerationOptions, RuntimeOptions
    from bark_cli.pipeline import Synthesizer

    torch.set_num_threads(1)
    model = args.model
    if model is None:
        from tiny_bark import build_tiny_bark

        model = str(build_tiny_bark(Path(tempfile.mkdtemp(prefix="bench-ray-"))))
    device = "cuda" if args.gpus_per_worker > 0 else "cpu"
    runtime = RuntimeOptions(model=model, device=device, threads=1 if device == "cpu" else None)
    options = GenerationOptions(max_seconds=args.max_seconds)
    work = batches(args.batches, args.batch_size)
    ray.init(num_cpus=max(args.workers), log_to_driver=False, include_dashboard=False, logging_level="ERROR")
    result: dict = {"model": model, "device": device, "batch_size": args.batch_size, "batches": args.batches,
                    "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}  # fmt: skip

    # Overhead per batch: local generate against one round trip to an idle actor, same batch, same threads.
    local = Synthesizer.load(runtime)
    local.generate(work[0], options)  # warm-up
    local_times, ray_times = [], []
    actor = ray.remote(BarkWorker).options(num_cpus=1, num_gpus=args.gpus_per_worker).remote(runtime)
    ray.get(actor.generate.remote(work[0], options))  # warm-up (and loading)
    for _ in range(args.repeats):
        started = time.perf_counter()
        local.generate(work[0], options)
        local_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ray.get(actor.generate.remote(work[0], options))
        ray_times.append(time.perf_counter() - started)
    ray.kill(actor)
    del local
    result["local_batch_s"] = statistics.median(local_times)
    result["ray_batch_s"] = statistics.median(ray_times)
    result["overhead_s"] = result["ray_batch_s"] - result["local_batch_s"]
    print(
        f"one batch of {args.batch_size}: {result['local_batch_s'] * 1000:.0f} ms here, {result['ray_batch_s'] * 1000:.0f} ms "
        f"through an actor: {result['overhead_s'] * 1000:.1f} ms of Ray per batch (median of {args.repeats})",
        file=sys.stderr,
    )

    result["runs"] = []
    for workers in args.workers:
        synthesizer = RaySynthesizer(runtime, ClusterOptions(ray="local", workers=workers, gpus_per_worker=args.gpus_per_worker))
        started = time.perf_counter()
        ray.get([a.decode.remote(__import__("numpy").zeros((8, 1), dtype="int64")) for a in synthesizer.actors])
        loading = time.perf_counter() - started
        started = time.perf_counter()
        segments = sum(len(r) for r in synthesizer.generate_many([(b, options) for b in work]))
        seconds = time.perf_counter() - started
        run = {"workers": workers, "load_s": loading, "seconds": seconds, "segments_per_s": segments / seconds}
        result["runs"].append(run)
        print(f"{workers} worker(s): {segments} segments in {seconds:.2f} s, {run['segments_per_s']:.2f} segments/s "
              f"(loading {loading:.1f} s apart)", file=sys.stderr)  # fmt: skip
        for a in synthesizer.actors:
            ray.kill(a)

    from bark_cli.options import ClusterOptions as Cluster

    scratch = Path(tempfile.mkdtemp(prefix="bench-ray-items-"))
    n = args.batches * args.batch_size
    result["items"] = {"local": batch_items(runtime, Cluster(), n, args.batch_size, args.max_seconds, scratch / "local")}
    for workers in args.workers:
        cluster = Cluster(ray="auto", workers=workers, gpus_per_worker=args.gpus_per_worker)
        result["items"][f"{workers}"] = batch_items(runtime, cluster, n, args.batch_size, args.max_seconds, scratch / f"w{workers}")
    for name, run in result["items"].items():
        print(f"bark batch, {run['items']} one-segment items, {'here' if name == 'local' else name + ' worker(s)'}: "
              f"{run['seconds']:.2f} s, {run['items_per_s']:.2f} items/s ({run['in_flight']} windows in flight)",
              file=sys.stderr)  # fmt: skip
    ray.shutdown()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
