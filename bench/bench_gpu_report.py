"""The Markdown report of `bench.py --device cuda` (docs/PERFORMANCE-gpu.md), from bench_gpu.py's JSON."""

from __future__ import annotations

from bench_build import SHAPES

STAGES = ("semantic", "coarse", "fine", "codec")
SIZE_NAMES = {"small": "bark-small shapes", "large": "bark (large) shapes", "tiny": "tiny test shapes"}
ABOUT = {"clip3s": "a 3 s clip, batch 1", "long60s": "60 s as 6 rows of 10 s, one batch",
         "chapter320s": "320 s as 32 rows of 10 s, one batch"}


def _s(x) -> str:
    return "n/a" if x is None else f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _find(runs: list[dict], side: str, precision: str, workload: str) -> dict | None:
    return next((r for r in runs if (r["side"], r["precision"], r["workload"]) == (side, precision, workload)), None)


def _speedup(slow: dict | None, fast: dict | None) -> str:
    return f"{slow['total_s'] / fast['total_s']:.1f}x" if slow and fast else "n/a"


def _size_section(size: str, data: dict) -> list[str]:
    layers, heads, width = SHAPES[size]
    runs = data["runs"]
    out = [f"## {SIZE_NAMES[size]} ({layers} layers, {heads} heads, {width} wide)", ""]
    failed = [r for r in runs if "error" in r]
    for r in failed:
        out += [f"- {r['side']} {r['precision']} failed: `{r['error']}`"]
    out += [
        "| workload | config | tokens: semantic / coarse / frames | semantic s | coarse s | fine s | codec s "
        "| total s | audio s | RTF | peak GPU MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "error" in r:
            continue
        n = r["tokens"]
        stages = " | ".join(_s(r["stages"][s]) for s in STAGES)
        peak = "n/a" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}"
        out.append(
            f"| {r['workload']} | {'bark-cli' if r['side'] == 'ours' else 'transformers'} {r['precision']} "
            f"| {n['semantic']} / {n['coarse']} / {n['frames']} | {stages} | {_s(r['total_s'])} | {r['audio_s']:.1f} "
            f"| {r['total_s'] / r['audio_s']:.3f} | {peak} |"
        )
    workloads = list(dict.fromkeys(r["workload"] for r in runs if "error" not in r))
    out += ["", "Speed-up of bark-cli (transformers' seconds / bark-cli's, same workload):", "",
            "| workload | fp32 vs transformers fp32 | fp16 (`--half`) vs transformers fp16 "
            "| fp16 vs transformers' best | bark-cli fp16 vs bark-cli fp32 |", "|---|---|---|---|---|"]
    for w in workloads:
        ours32, ours16 = _find(runs, "ours", "fp32", w), _find(runs, "ours", "fp16", w)
        ref32, ref16 = _find(runs, "transformers", "fp32", w), _find(runs, "transformers", "fp16", w)
        best = min((r for r in (ref32, ref16) if r), key=lambda r: r["total_s"], default=None)
        out.append(f"| {w} | {_speedup(ref32, ours32)} | {_speedup(ref16, ours16)} | {_speedup(best, ours16)} "
                   f"| {_speedup(ours32, ours16)} |")
    if data["floor"]:
        out += ["", "Batch-1 coarse decode step against its floor (the bytes of weights it must read over the "
                "GPU's read bandwidth, best of 7 `sum()`s over 1 GiB):", "",
                "| precision | weights MB | bandwidth GB/s | floor ms | CUDA graph ms/step | launched op by op ms/step "
                "| graph capture s |", "|---|---|---|---|---|---|---|"]
        for f in data["floor"]:
            out.append(f"| {f['precision']} | {f['weight_bytes'] / 1e6:.0f} | {f['bandwidth_gbs']:.0f} "
                       f"| {f['floor_ms']:.3f} | {_s(f['graph_ms'])} | {_s(f['eager_ms'])} | {_s(f['capture_s'])} |")
    return out + [""]


def render(report: dict, command: str) -> str:
    env = report["environment"]
    out = [
        "# bark-cli on a GPU",
        "",
        f"Measured on **{env['gpu']}**"
        + (f" ({env['gpu_memory_gib']:.0f} GiB)" if env.get("gpu_memory_gib") else "")
        + f", torch {env['torch']} (CUDA {env['cuda']}), transformers {env['transformers']}, Python {env['python']}.",
        "",
        "bark-cli against transformers' `BarkModel` on the same random weights of the real shapes, in one "
        "process per model size (bench/bench_gpu.py). Each configuration first runs the 3 s clip once, "
        "untimed; each timing is taken between `torch.cuda.synchronize()` calls, and the peak is "
        "`torch.cuda.max_memory_allocated` over the run. Every row generates exactly its token budget "
        "(end of speech is made unreachable, as in the CPU benchmark).",
        "",
        "- bark-cli as `bark say --device cuda` runs it: fp16 is `--half`; semantic and coarse decode steps "
        "are CUDA graphs over a static KV cache; a batch size's first use in a process includes capturing its "
        "graphs (as in every `bark say`).",
        "- transformers: `BarkSemanticModel.generate`, `BarkCoarseModel.generate`, `BarkFineModel.generate`, "
        "`BarkModel.codec_decode` (what `BarkModel.generate` runs), set up as its documentation advises for a "
        "GPU: the three GPTs in fp16 (`.to(torch.float16)`), PyTorch SDPA attention (transformers' default; "
        "flash-attention 2 needs the flash-attn package), KV cache on; sampling at 0.7 / 0.7 / 0.5, "
        "min_eos_p 0.2. It is not run on the 320 s chapter (it did not finish in an earlier run).",
        "",
    ]
    for size, data in report["sizes"].items():
        out += _size_section(size, data)
    if report.get("startup"):
        out += startup_section(report["startup"])
    out += ["## Reproduce", "", "```", "pip install -e .", command, "```", ""]
    return "\n".join(out)


def startup_section(startup: dict) -> list[str]:
    out = ["## Whole process: `bark say` of a 3 s clip from a saved bark-small checkpoint", "",
           "Wall time of the whole command as a shell or cron job runs it (`python -m bark_cli say TEXT -o x.wav "
           "--model DIR --max-seconds 3.006 --no-cache -v`, a fresh process each), and where one process's time "
           "goes (bench/startup.py).", "",
           "| command | wall s | note |", "|---|---|---|"]
    for run in startup.get("commands", []):
        out.append(f"| `{run['command']}` | {_s(run['wall_s'])} | {run['note']} |")
    phases = startup.get("phases")
    if phases:
        out += ["", "| phase of one process (fp32) | s |", "|---|---|"] + [f"| {k} | {_s(v)} |" for k, v in phases.items()]
    return out + [""]
