"""Benchmark bark-cli against transformers' Bark on the same random weights, offline; writes a report.

    python bench/bench.py                       # bark-small shapes, both clips, all four configs
    python bench/bench.py --model-size large    # bark (large) shapes
    python bench/bench.py --quick               # tiny shapes and token counts: a smoke test, < 1 min

Every (clip, config) pair and every decode-floor measurement runs in a fresh Python process, so each
peak RSS belongs to that configuration alone. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR.parent / "docs" / "PERFORMANCE.md"  # the repository's, from any working directory
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True)
class Clip:
    segments: int  # rows of one batch
    tokens: int  # semantic tokens per segment (49.9 per second of audio)
    quick_tokens: int  # the same under --quick
    about: str


CLIPS = {
    # 150 semantic -> 450 coarse tokens -> 225 frames = 3.0 s of audio.
    "clip3s": Clip(1, 150, 20, "one 3 s clip"),
    # 6 x 499 semantic tokens -> 6 x 750 frames = 60 s of audio, as one batch on both sides.
    "long60s": Clip(6, 499, 20, "60 s as 6 segments of 10 s, one batch of 6"),
    # 12 x 250 -> 12 x 375 frames = 60 s: sentence-sized segments (`--segment-seconds 5 --batch-size 12`).
    # Each re-runs its coarse prompt in 3 of 13 windows (a 10 s segment: 15 of 25), but each row still
    # costs a whole 1,024-frame fine window.
    "long60s-5s": Clip(12, 250, 20, "60 s as 12 segments of 5 s, one batch of 12"),
    # 32 x 499 -> 32 x 750 frames = 320 s: a chapter in one batch (--device cuda).
    "chapter320s": Clip(32, 499, 20, "320 s as 32 segments of 10 s, one batch of 32"),
}
# config name -> (side, precision). bf16 is bark-cli's --half on the CPU.
CONFIGS = {
    "ours-fp32": ("ours", "fp32"),
    "ours-bf16": ("ours", "bf16"),
    "transformers-fp32": ("transformers", "fp32"),
    "transformers-bf16": ("transformers", "bf16"),
}


def _names(value: str, known: dict) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {unknown or value!r}; choose from {', '.join(known)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu (the default; one process per job) or cuda (bench_gpu.py: fp32 and fp16, one "
                        "process per size, warm-up runs, CUDA-synchronised timings; writes docs/PERFORMANCE-gpu.md)")
    p.add_argument("--model-size", choices=["small", "large", "tiny", "both"], default=None,
                   help="GPT shapes: bark-small (12x768), bark (24x1024), or tiny (smoke tests); default small; "
                        "both: small then large (--device cuda)")
    p.add_argument("--clips", type=lambda v: _names(v, CLIPS), default=None,
                   help="comma-separated workloads (default clip3s,long60s,long60s-5s; on cuda clip3s,long60s,chapter320s)")
    p.add_argument("--configs", type=lambda v: _names(v, CONFIGS), default=list(CONFIGS),
                   help=f"comma-separated configurations (default {','.join(CONFIGS)})")
    p.add_argument("--out", type=Path, default=None,
                   help="Markdown report (default docs/PERFORMANCE.md; with --quick a file in the temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON here")
    p.add_argument("--quick", action="store_true", help="tiny shapes and token counts: a smoke test, not a benchmark")
    p.add_argument("--semantic-tokens", type=int, default=None, metavar="N",
                   help="override the semantic tokens per segment of every clip (checks; 1..768)")
    p.add_argument("--no-floor", action="store_true", help="skip the decode-step floor measurement")
    p.add_argument("--no-disk", action="store_true",
                   help="skip the clip3s runs from a saved checkpoint (whole-process peak RSS, load included)")
    p.add_argument("--floor-int8", action="store_true",
                   help="also measure the decode step with --quantize int8 weights (bf16 activations)")
    p.add_argument("--seed", type=int, default=0, help="weights and sampling seed (default 0)")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one job (JSON) in this process
    args = p.parse_args(argv)
    if args.quick and args.model_size not in (None, "tiny"):
        p.error("--quick uses the tiny shapes; leave out --model-size")
    if args.clips is None:
        args.clips = ["clip3s", "long60s", "chapter320s"] if args.device == "cuda" else ["clip3s", "long60s", "long60s-5s"]
    if args.model_size == "both" and args.device != "cuda":
        p.error("--model-size both is for --device cuda")
    args.model_size = "tiny" if args.quick else (args.model_size or "small")
    if args.semantic_tokens is not None and not 1 <= args.semantic_tokens <= 768:
        p.error("--semantic-tokens must be in 1..768 (one Bark generation holds at most 768)")
    if args.out is None and args.device == "cuda":
        args.out = DEFAULT_OUT.with_name("PERFORMANCE-gpu.md")
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "bark-cli-PERFORMANCE-quick.md" if args.quick else DEFAULT_OUT
    return args


def make_jobs(args: argparse.Namespace) -> list[dict]:
    jobs = []
    for clip_name in args.clips:
        clip = CLIPS[clip_name]
        tokens = args.semantic_tokens or (clip.quick_tokens if args.quick else clip.tokens)
        for config in args.configs:
            side, dtype = CONFIGS[config]
            jobs.append(dict(kind="clip", clip=clip_name, config=config, side=side, dtype=dtype,
                             batch=clip.segments, tokens=tokens, size=args.model_size, seed=args.seed))
    if not args.no_disk and "clip3s" in args.clips:
        # Once more from a checkpoint on disk, loaded as each side's user loads it: the whole process's peak
        # RSS, loading included. The first job saves the checkpoint (args.checkpoint_dir, made by main).
        jobs.append(dict(kind="save", size=args.model_size, seed=args.seed, dir=args.checkpoint_dir))
        for job in [j for j in jobs if j.get("clip") == "clip3s"]:
            jobs.append(job | {"checkpoint": args.checkpoint_dir})
    if not args.no_floor:
        # The floor in each precision bark-cli is benchmarked in (both when only transformers is).
        dtypes = list(dict.fromkeys(CONFIGS[c][1] for c in args.configs if CONFIGS[c][0] == "ours"))
        dtypes = (dtypes or ["fp32", "bf16"]) + (["int8"] if args.floor_int8 else [])
        jobs += [dict(kind="floor", dtype=d, size=args.model_size, seed=args.seed) for d in dtypes]
    return jobs


def run_in_subprocess(job: dict) -> dict:
    """Run ``job`` in a fresh interpreter; its result, or {"error": ...} with the tail of its stderr."""
    # Nothing may reach the hub; transformers' generate warnings would only clutter stderr.
    quiet = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / "bench.py"), "--worker", json.dumps(job)],
        capture_output=True, text=True, env=os.environ | quiet,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return {"error": tail, "stderr": proc.stderr[-4000:]}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # of the jobs this process has waited for
    return usage.ru_utime + usage.ru_stime


def describe(job: dict) -> str:
    if job["kind"] == "floor":
        return f"decode floor, coarse {job['dtype']}"
    if job["kind"] == "save":
        return "saving the weights as a checkpoint"
    disk = ", loaded from the saved checkpoint" if job.get("checkpoint") else ""
    return f"{job['clip']} {job['config']} (batch {job['batch']} x {job['tokens']} semantic tokens{disk})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        from bench_run import run_job  # bench/ is sys.path[0] when run as a script

        print(RESULT_PREFIX + json.dumps(run_job(json.loads(args.worker))), flush=True)
        return 0

    if args.device == "cuda":
        return run_gpu(args)
    from bench_report import environment

    env = environment()  # before the first job: how busy the CPUs are is then the machine's doing
    with tempfile.TemporaryDirectory(prefix="bark-bench-checkpoint-") as checkpoint_dir:
        args.checkpoint_dir = checkpoint_dir
        return _run(args, env, make_jobs(args))


def run_gpu(args: argparse.Namespace) -> int:
    """The GPU benchmark, in this process (bench_gpu.py); its JSON beside the report, then the report."""
    import torch

    import bench_gpu
    from bench_gpu_report import render

    sizes = ["small", "large"] if args.model_size == "both" else [args.model_size]
    json_path = args.json or args.out.with_suffix(".json")
    # transformers on the 320 s chapter did not finish in an earlier run (issue 12): the chapter is bark-cli's.
    report = bench_gpu.main(sizes, args.clips, {"clip3s", "long60s"}, args.seed, json_path, torch.device("cuda"))
    args.out.write_text(render(report, " ".join(["python bench/bench.py", *sys.argv[1:]])), encoding="utf-8")
    print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, env: dict, jobs: list[dict]) -> int:
    from bench_report import cpu_busy_seconds, render

    print(f"{len(jobs)} jobs, {args.model_size} shapes; each in its own process", file=sys.stderr)
    if (env["cpu_busy_pct"] or 0) > 10:
        print(f"warning: the CPUs are {env['cpu_busy_pct']:.0f}% busy with other work: timings will be skewed",
              file=sys.stderr)
    started = time.perf_counter()
    for i, job in enumerate(jobs, 1):
        print(f"[{i}/{len(jobs)}] {describe(job)} ...", file=sys.stderr, flush=True)
        t, busy, child = time.perf_counter(), cpu_busy_seconds(), _children_cpu_s()
        job["result"] = run_in_subprocess(job)
        job["wall_s"] = time.perf_counter() - t
        # CPU time used during the job by anything but the job: other work that skews its timings.
        if busy is not None:
            other = (cpu_busy_seconds() - busy) - (_children_cpu_s() - child)
            job["other_cpu_pct"] = max(0.0, 100.0 * other / (job["wall_s"] * (os.cpu_count() or 1)))
        result = job["result"]
        if "error" in result:
            status = f"FAILED: {result['error']}"
        elif job["kind"] == "clip":
            status = f"total {result['total_s']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MiB"
        elif job["kind"] == "save":
            status = f"saved in {result['save_s']:.1f} s"
        else:
            status = (f"coarse step {result['step_ms']:.2f} ms, floor {result['floor_ms']:.2f} ms "
                      f"({result['weight_bytes'] / 1e6:.0f} MB at {result['bandwidth_gbs']:.1f} GB/s): "
                      f"{result['step_ms'] / result['floor_ms']:.1f}x the floor")
        other = f", other work {job['other_cpu_pct']:.0f}% of the CPUs" if "other_cpu_pct" in job else ""
        print(f"        {status} ({job['wall_s']:.0f} s with setup{other})", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started

    report = render(args, jobs, env, wall, CLIPS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "jobs": jobs}, indent=2), encoding="utf-8")
    print(f"wrote {args.out} ({wall:.0f} s in all)", file=sys.stderr)
    failed = [describe(j) for j in jobs if "error" in j["result"]]
    for name in failed:
        print(f"failed: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
