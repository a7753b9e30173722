"""The Markdown report of a benchmark run (docs/PERFORMANCE.md): machine, results, ratios, decode floor."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import time
from pathlib import Path

from bench_build import SHAPES

STAGES = ("semantic", "coarse", "fine", "codec")
# What each stage's rate counts: key of the job's "tokens" dict and its unit.
RATES = {"semantic": ("semantic", "tok/s"), "coarse": ("coarse", "tok/s"), "fine": ("frames", "frames/s")}
SIZE_NAMES = {"small": "bark-small shapes", "large": "bark (large) shapes", "tiny": "tiny test shapes"}


def _cpuinfo() -> tuple[str, list[str]]:
    """CPU model name and the flags that decide bf16 speed (AVX-512 bf16, AMX)."""
    model, flags = None, []
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model is None:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = [f for f in value.split() if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")]
    return model or platform.processor() or "unknown", flags


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _git_commit() -> str:
    try:  # read-only
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot, summed over CPUs (/proc/stat), or None."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text(encoding="ascii").split("\n")[0].split()[1:8]]
    except (OSError, ValueError):
        return None
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_busy_percent(seconds: float = 2.0) -> float | None:
    """Share of all CPUs busy over the next ``seconds``: other work on the machine, before we start.

    (The load average lags by minutes, so it cannot tell whether the machine is busy right now.)
    """
    before = cpu_busy_seconds()
    time.sleep(seconds)
    after = cpu_busy_seconds()
    if before is None or after is None:
        return None
    return 100.0 * (after - before) / (seconds * (os.cpu_count() or 1))


def environment() -> dict:
    import torch
    import transformers

    model, flags = _cpuinfo()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "mem_gib": _mem_total_gib(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "commit": _git_commit(),
        # Other work on the machine skews every timing (torch's threads wait on each other when a core
        # is taken; 10x slower stages were seen), so the report records how busy the CPUs were at start.
        "cpu_busy_pct": cpu_busy_percent(),
    }


def _s(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def _other(job: dict) -> str:
    """Share of the CPUs that other processes used during the job; flagged where it skews the timings."""
    if "other_cpu_pct" not in job:
        return "n/a"
    pct = job["other_cpu_pct"]
    return f"{pct:.0f}%" + (" (unreliable)" if pct > 10 else "")


def _clip_table(jobs: list[dict]) -> list[str]:
    lines = [
        "| config | tokens: semantic / coarse / frames | semantic s (tok/s) | coarse s (tok/s) | fine s (frames/s) "
        "| codec s | total s | audio s | RTF | peak RSS MiB | other work |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for job in jobs:
        r = job["result"]
        if "error" in r:
            lines.append(f"| {job['config']} | failed: `{r['error'][:120]}` |" + " |" * 9)
            continue
        n = r["tokens"]
        cells = [job["config"], f"{n['semantic']} / {n['coarse']} / {n['frames']}"]
        for stage, (key, _unit) in RATES.items():
            seconds = r["stages"][stage]
            cells.append(f"{_s(seconds)} ({n[key] / seconds:.1f})" if seconds > 0 else _s(seconds))
        rtf = r["total_s"] / r["audio_s"] if r["audio_s"] else float("nan")
        cells += [_s(r["stages"]["codec"]), _s(r["total_s"]), f"{r['audio_s']:.1f}", f"{rtf:.2f}", f"{r['peak_rss_mb']:.0f}"]
        cells.append(_other(job))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ratio_table(clip_jobs: dict[str, list[dict]]) -> list[str]:
    lines = [
        "| clip | precision | semantic | coarse | fine | codec | total | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clip, jobs in clip_jobs.items():
        by_config = {(j["side"], j["dtype"]): j["result"] for j in jobs if "error" not in j["result"]}
        for dtype in ("fp32", "bf16"):
            ours, ref = by_config.get(("ours", dtype)), by_config.get(("transformers", dtype))
            if not (ours and ref):
                continue
            cells = [clip, dtype] + [_ratio(ours["stages"][s], ref["stages"][s]) for s in STAGES]
            cells += [_ratio(ours["total_s"], ref["total_s"]), _ratio(ours["peak_rss_mb"], ref["peak_rss_mb"])]
            lines.append("| " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else ["(needs an ours and a transformers config of the same precision)"]


def _disk_table(jobs: list[dict]) -> list[str]:
    lines = ["| config | load s | generation s | peak RSS MiB (whole process) | peak RSS / transformers' | other work |",
             "|---|---|---|---|---|---|"]
    peaks = {(j["side"], j["dtype"]): j["result"].get("peak_rss_mb") for j in jobs}
    for job in jobs:
        r = job["result"]
        if "error" in r:
            lines.append(f"| {job['config']} | failed: `{r['error'][:120]}` |" + " |" * 4)
            continue
        ratio = _ratio(r["peak_rss_mb"], peaks.get(("transformers", job["dtype"]))) if job["side"] == "ours" else ""
        lines.append(f"| {job['config']} | {_s(r['build_s'])} | {_s(r['total_s'])} | {r['peak_rss_mb']:.0f} | {ratio} "
                     f"| {_other(job)} |")
    return lines


def _floor_table(floor_jobs: list[dict], clip_jobs: dict[str, list[dict]]) -> list[str]:
    # The pipeline's own coarse cost per token at batch 1 (clip3s): steps plus window prefills and sampling.
    pipeline = {
        j["dtype"]: j["result"]["stages"]["coarse"] / j["result"]["tokens"]["coarse"] * 1e3
        for j in clip_jobs.get("clip3s", []) if j["side"] == "ours" and "error" not in j["result"]
    }
    lines = [
        "| precision | weights read per step MB | read bandwidth GB/s | floor ms/step | measured ms/step "
        "| measured / floor | pipeline coarse ms/token (clip3s) | other work |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for job in floor_jobs:
        r = job["result"]
        if "error" in r:
            lines.append(f"| {job['dtype']} | failed: `{r['error'][:120]}` |" + " |" * 6)
            continue
        p = pipeline.get(job["dtype"])
        lines.append(
            f"| {job['dtype']} | {r['weight_bytes'] / 1e6:.0f} | {r['bandwidth_gbs']:.1f} | {r['floor_ms']:.2f} "
            f"| {r['step_ms']:.2f} | {r['step_ms'] / r['floor_ms']:.2f} | {f'{p:.2f}' if p else 'n/a'} | {_other(job)} |"
        )
    return lines


def _command(args) -> str:
    parts = ["python bench/bench.py"]
    if args.quick:
        parts.append("--quick")
    elif args.model_size != "small":
        parts.append(f"--model-size {args.model_size}")
    parts += [f"--clips {','.join(args.clips)}", f"--configs {','.join(args.configs)}"]
    if args.semantic_tokens:
        parts.append(f"--semantic-tokens {args.semantic_tokens}")
    if args.no_floor:
        parts.append("--no-floor")
    if getattr(args, "no_disk", False):
        parts.append("--no-disk")
    if getattr(args, "floor_int8", False):
        parts.append("--floor-int8")
    if args.seed:
        parts.append(f"--seed {args.seed}")
    out = Path(args.out).resolve()
    root = Path(__file__).resolve().parent.parent
    return " ".join(parts) + f" --out {out.relative_to(root) if out.is_relative_to(root) else out}"


def render(args, jobs: list[dict], env: dict, wall_s: float, clips: dict) -> str:
    layers, heads, width = SHAPES[args.model_size]
    clip_jobs: dict[str, list[dict]] = {}
    for job in jobs:
        if job["kind"] == "clip" and not job.get("checkpoint"):
            clip_jobs.setdefault(job["clip"], []).append(job)
    disk_jobs = [j for j in jobs if j["kind"] == "clip" and j.get("checkpoint")]
    floor_jobs = [j for j in jobs if j["kind"] == "floor"]
    threads = sorted({j["result"].get("threads") for j in jobs if "threads" in j["result"]})
    mem = f"{env['mem_gib']:.0f} GiB" if env["mem_gib"] else "unknown"
    busy = "unknown" if env["cpu_busy_pct"] is None else f"{env['cpu_busy_pct']:.0f}% (over 2 s, before the first job)"

    out = ["# bark-cli performance", ""]
    if args.model_size == "tiny":
        out += ["> **Smoke test on tiny 2-layer, 32-wide networks: these numbers say nothing about real speed.**", ""]
    out += [
        f"bark-cli against transformers' Bark on the same random weights with the **{SIZE_NAMES[args.model_size]}** "
        f"({layers} layers, {heads} heads, {width} wide per GPT; real vocabularies; "
        + ("tiny EnCodec" if args.model_size == "tiny" else "real EnCodec 24 kHz") + "), on the CPU.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| date | {env['date']} |",
        f"| CPU | {env['cpu']} ({', '.join(env['cpu_flags']) or 'no AVX2/AVX-512/AMX flags'}) |",
        f"| cores | os.cpu_count() = {env['cpu_count']}; torch threads = {', '.join(map(str, threads)) or env['torch_threads']} |",
        f"| memory | {mem} |",
        f"| versions | Python {env['python']}, torch {env['torch']}, transformers {env['transformers']} |",
        f"| bark-cli commit | {env['commit']} |",
        f"| CPU busy with other work at start | {busy} |",
        f"| run time | {wall_s / 60:.1f} min for the whole benchmark, set-up included |",
        "",
        "## Results",
        "",
        "Seconds per stage with throughput in brackets (semantic and coarse tokens, fine frames, summed over the "
        "batch), total compute seconds, real-time factor (compute seconds / audio seconds: below 1 is faster than "
        "real time), peak resident memory of the generation (weights included), and the share of the CPUs "
        "other processes used while the job ran (above 10% its timings are unreliable: rerun on an idle "
        "machine).",
    ]
    for clip_name, cj in clip_jobs.items():
        clip, job = clips[clip_name], cj[0]
        out += ["", f"### {clip_name}: {clip.about}, {job['batch']} x {job['tokens']} semantic tokens", ""]
        out += _clip_table(cj)
    out += [
        "",
        "## bark-cli / transformers",
        "",
        "Time and memory of bark-cli divided by transformers' for the same clip and precision: below 1.00x "
        "bark-cli is faster (smaller).",
        "",
        *_ratio_table(clip_jobs),
    ]
    if disk_jobs:
        out += [
            "",
            "## Whole process, from a saved checkpoint",
            "",
            f"The {disk_jobs[0]['clip']} clip again, each side loading the same weights saved to disk in the "
            "transformers format the way its users load them: bark-cli through its own loader (as `bark say`, "
            "`--half` for bf16), transformers with `BarkModel.from_pretrained` and the three GPTs cast with "
            "`.to(torch.bfloat16)`. Peak RSS here is the process's whole high-water mark, imports and loading "
            "included: what `/usr/bin/time -v` shows a user. It counts the checkpoint's memory-mapped float32 "
            "pages while they are resident.",
            "",
            *_disk_table(disk_jobs),
        ]
    if floor_jobs:
        out += [
            "",
            "## Decode-step floor",
            "",
            "A batch-1 decode step of the coarse GPT has to read every linear weight once (attention and MLP "
            "of each block, plus the 1,024 LM-head rows of the codebook it samples: bark-cli computes only "
            "those logits; embeddings are looked up, not read whole). The floor is those "
            "bytes divided by this machine's memory read bandwidth (best of 7 `sum()`s over a 1 GiB float32 "
            "tensor). Measured: bark-cli's `CausalGPT` with its `KVCache`, a 257-position prefill then 100 "
            "single-token steps (each computing one codebook's logits, alternately, as the coarse stage does), best "
            "of 3. The KV cache (a few % of the weights at these lengths) and the "
            "compute are not in the floor. The last column is the pipeline's coarse stage per token at batch 1, "
            "window prefills and sampling included.",
            "",
            *_floor_table(floor_jobs, clip_jobs),
        ]
    out += [
        "",
        "## Method",
        "",
        "- Weights: random (fixed seed), identical on both sides; every configuration runs in a fresh "
        "process that builds them. Semantic end-of-speech is made unreachable (its LM-head row is zeroed and "
        "the sampled rows are given norm 6, so logits are sharp), so every row generates exactly its token "
        "budget; the token counts above are the counts actually generated.",
        "- bark-cli: `Synthesizer.generate` on all segments of the clip as one batch; stage times from its "
        "progress callbacks (finish to finish), codec = total minus the three GPT stages. bf16 is `--half`.",
        "- transformers: `BarkSemanticModel.generate` (max_new_tokens = the budget), "
        "`BarkCoarseModel.generate`, `BarkFineModel.generate`, `BarkModel.codec_decode`, i.e. "
        "`BarkModel.generate` step by step, with the hub's nested generation config, sampling at temperature "
        "0.7 / 0.7 / 0.5, min_eos_p 0.2, the whole clip as one batch. bf16 converts the three GPTs; the codec "
        "stays float32 on both sides.",
        "- One cold run per configuration (no warm-up). Peak RSS is the process high-water mark reset after the "
        "weights are built and converted (VmHWM via /proc/self/clear_refs), so it is the generation's own.",
        "",
        "## Reproduce",
        "",
        "```",
        "pip install -e .",
        _command(args),
        "```",
        "",
        "See bench/README.md for the options and the expected run time.",
        "",
    ]
    return "\n".join(out)
