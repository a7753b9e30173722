"""Where a `bark say` process's wall time goes: imports, device set-up, loading, first-call set-up (CUDA graph
capture), generation, writing. A shell pipeline or a cron job pays all of it on every call.

    python bench/startup.py CHECKPOINT_DIR --device cuda --json out.json

saves nothing itself: CHECKPOINT_DIR is a saved checkpoint (bench_run.save_checkpoint builds one with
random bark-small weights whose end of speech never wins, so a 3 s clip is exactly 150 semantic tokens).
It times the whole `bark say` command as a user runs it (each in a fresh process), then one process
phase by phase.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_SECONDS = "3.006"  # 150 semantic tokens at 49.9 per second
TEXT = "hello my name is suno and uh i like pizza"


def phases(checkpoint: str, device: str, half: bool) -> dict:
    """One in-process `bark say`, phase by phase (run in a fresh interpreter: the imports are cold)."""
    started = time.perf_counter()
    marks = {}

    def mark(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        marks[name] = now - started
        started = now

    import torch

    from bark_cli import api  # noqa: F401 (what `bark say` imports)
    from bark_cli.options import GenerationOptions, RuntimeOptions

    mark("import torch and bark_cli")
    if device == "cuda":
        torch.zeros(1, device="cuda")
        torch.cuda.synchronize()
    mark("device set-up (CUDA context)")
    from bark_cli.pipeline import Pipeline, Recording

    runtime = RuntimeOptions(model=checkpoint, device=device, half=half)
    pipeline = Pipeline(runtime)
    pipeline.synthesizer  # noqa: B018 (loads the networks)
    mark("load the checkpoint")
    segments = pipeline.plan(TEXT, 12.0)
    options = GenerationOptions(max_seconds=float(MAX_SECONDS), seed=1)

    def render() -> list:
        recording = Recording([s.text for s in segments], None, options, 1)
        return [r.audio for _, _, r in pipeline.render([recording], batch_size=8)]

    render()
    mark("first generation (graph capture included)")
    audio = render()
    mark("second generation")
    from bark_cli.audio.formats import audio_format, write_audio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        write_audio(path, audio[0], audio_format(path))
    mark("write the WAV")
    return marks


def commands(checkpoint: str, device: str) -> list[dict]:
    """Wall seconds of whole `bark say` commands, each in a fresh process, as a user runs them."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"XDG_CACHE_HOME": tmp, "HF_HUB_OFFLINE": "1"}
        for extra in ([], ["--half"], ["--cpu-offload"], ["--half", "--cpu-offload"]):
            args = ["say", TEXT, "-o", f"{tmp}/x.wav", "--model", checkpoint, "--device", device,
                    "--max-seconds", MAX_SECONDS, "--seed", "1", "--no-cache", "--verbose", *extra]  # fmt: skip
            t = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "bark_cli", *args], capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t
            lines = result.stderr.strip().splitlines()
            peak = [line.removeprefix("bark: ") for line in lines if "peak GPU memory" in line]
            note = (peak[-1] if peak else "") if result.returncode == 0 else "FAILED: " + (lines[-1] if lines else "")
            out.append({"command": " ".join(["bark say", "--device", device, *extra]), "wall_s": wall, "note": note[:200]})
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--device", default="cuda")
    p.add_argument("--json", type=Path)
    p.add_argument("--phases-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phases_only:
        print(json.dumps({"fp32": phases(args.checkpoint, args.device, False)}))
        return 0
    result = {"commands": commands(args.checkpoint, args.device)}
    proc = subprocess.run([sys.executable, __file__, args.checkpoint, "--device", args.device, "--phases-only"],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode == 0:
        result["phases"] = json.loads(proc.stdout.strip().splitlines()[-1])["fp32"]
    else:
        result["phases_error"] = proc.stderr[-2000:]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
