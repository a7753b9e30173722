"""How --threads changes a short `bark say` on this CPU, with the machine idle and with one core kept busy
by another process; and what the automatic choice picks in each case.

    python bench/threads.py CHECKPOINT_DIR [--repeats 5] [--json out.json]

Each run is a fresh process rendering 1 s of audio (the compute seconds: generating and decoding, the
model load excluded), as in the issue that asked for --threads ("with one core busy, the tiny model's
1 s of audio took 0.9 to 5.1 s with 2 threads, and 0.31 s with one").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TEXT = "hello my name is suno and uh i like pizza"
BUSY_LOOP = "while True: pass"


def worker(checkpoint: str, threads: str) -> dict:
    import torch

    from bark_cli import api
    from bark_cli.options import GenerationOptions, RenderOptions, RuntimeOptions

    import tempfile
    from pathlib import Path

    runtime = RuntimeOptions(model=checkpoint, device="cpu", threads=None if threads == "auto" else int(threads))
    with tempfile.TemporaryDirectory() as folder:
        result = api.say(
            TEXT, Path(folder) / "a.wav", generation=GenerationOptions(max_seconds=1, seed=1), runtime=runtime,
            render=RenderOptions(no_cache=True),
        )  # fmt: skip
    return {"threads": torch.get_num_threads(), "compute_seconds": result.compute_seconds, "audio_seconds": result.audio_seconds}


def run(checkpoint: str, threads: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, checkpoint, "--worker", threads], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.checkpoint, args.worker)))
        return
    report = {"cores": len(os.sched_getaffinity(0)), "load_before": os.getloadavg(), "runs": []}
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
        try:
            time.sleep(1.0 if busy else 0.0)  # the spinner is running before the first measurement
            for threads in ("1", "2", "auto"):
                runs = [run(args.checkpoint, threads) for _ in range(args.repeats)]
                seconds = [r["compute_seconds"] for r in runs]
                row = {
                    "one_core_busy": busy, "threads": threads, "chosen": sorted({r["threads"] for r in runs}),
                    "median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
                    "audio_s": runs[0]["audio_seconds"],
                }  # fmt: skip
                report["runs"].append(row)
                print(json.dumps(row), flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    report["load_after"] = os.getloadavg()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=2)


if __name__ == "__main__":
    main()
