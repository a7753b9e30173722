"""`bench.py --device cuda`: bark-cli against transformers on a CUDA GPU, in one process per model size.

Both sides run on the same random weights of the real shapes (bench_build.py), in fp32 and in fp16. Each
configuration first runs the 3 s clip once untimed (CUDA kernels loaded, cuBLAS set up), then each workload
with `torch.cuda.synchronize()` around its timing and the peak of `torch.cuda.max_memory_allocated`. bark-cli
runs as `bark say` does on CUDA: `--half` is fp16, decode steps are CUDA graphs (runtime/decode.py); a
batch size's first use includes capturing its graphs, as it does in every `bark say` process. transformers
runs `BarkModel.generate`'s four steps with the settings its documentation advises on a GPU: the model in
fp16 and PyTorch's SDPA attention (its default; flash-attention 2 needs the flash-attn package, which this
machine does not have).

Also: a batch-1 coarse decode step against its floor (the weight bytes it must read over the GPU's
measured read bandwidth), and what capturing a step as a graph costs.
"""

from __future__ import annotations

import gc
import time

import torch

from bench_build import build_bark, step_weight_bytes, tokenizer
from bench_run import run_ours, run_transformers

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# name -> (rows, semantic tokens per row): 150 tokens = 3 s of audio, 499 = 10 s.
WORKLOADS = {"clip3s": (1, 150), "long60s": (6, 499), "chapter320s": (32, 499)}
CONFIGS = [("ours", "fp32"), ("ours", "fp16"), ("transformers", "fp32"), ("transformers", "fp16")]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _run(side: str, model, tok, batch: int, tokens: int, seed: int, device: torch.device) -> dict:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        if side == "ours":
            result = run_ours(model, batch, tokens, seed)
        else:
            result = run_transformers(model, tok, batch, tokens, seed)
    _sync(device)
    result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return result


def read_bandwidth_gbs(device: torch.device, gib: float = 1.0, repeats: int = 7) -> float:
    """Memory read bandwidth of ``device``, GB/s: best of ``repeats`` sums over a ``gib`` GiB float32 tensor."""
    x = torch.ones(int(gib * 2**30) // 4, device=device)
    x.sum()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        x.sum()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return x.numel() * 4 / best / 1e9


@torch.no_grad()
def decode_step(net, graph: bool, steps: int = 200, prompt: int = 257) -> dict:
    """ms per batch-1 coarse decode step (static shapes; as a CUDA graph or launched op by op), and the
    seconds a graph capture took."""
    from bark_cli.constants import COARSE_CODEBOOK_VOCAB
    from bark_cli.runtime.decode import StepRunner

    vocab = COARSE_CODEBOOK_VOCAB[0]
    device = net.position_embeds_layer.weight.device
    cache = net.new_static_cache(1, prompt + steps + 8)
    ids = torch.randint(0, net.config.input_vocab_size, (1, prompt), device=device)
    logits = net(net.embed(ids), cache, vocab=vocab)
    cache.sync()
    token = torch.zeros((1, 1), dtype=torch.long, device=device)

    def step():
        token.copy_(logits.argmax(-1, keepdim=True) + vocab[0])
        logits.copy_(net.step_static(token, cache, vocab))

    _sync(device)
    t = time.perf_counter()
    runner = StepRunner(step, graph, [logits, cache.length_t])
    _sync(device)
    capture_s = time.perf_counter() - t
    runner()  # first replay
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        runner()
    _sync(device)
    result = {"step_ms": (time.perf_counter() - t) / steps * 1e3, "capture_s": capture_s}
    if graph:
        result["kernels"] = _kernel_profile(runner)
    return result


def _kernel_profile(runner, steps: int = 10) -> list[dict]:
    """The GPU kernels of ``steps`` replays, by total time (where the step's time goes)."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                runner()
            torch.cuda.synchronize()
        rows = []
        for event in prof.key_averages():
            total = getattr(event, "device_time_total", None) or getattr(event, "cuda_time_total", 0)
            if total:
                rows.append({"kernel": event.key[:90], "calls_per_step": event.count / steps, "us_per_step": total / steps})
        return sorted(rows, key=lambda r: -r["us_per_step"])[:25]
    except Exception as exc:  # profiling is a bonus: never lose the timings for it
        return [{"kernel": f"profile failed: {exc!r}"[:200], "calls_per_step": 0, "us_per_step": 0}]


def run_size(size: str, seed: int, workloads: list[str], transformers_workloads: set[str], log, device) -> dict:
    from bark_cli.runtime.decode import attention_kernels
    from bark_cli.runtime.loading import networks_from_bark

    t = time.perf_counter()
    bark = build_bark(size, seed)
    tok = tokenizer()
    log(f"{size}: built the weights in {time.perf_counter() - t:.1f} s")
    out = {"runs": [], "floor": []}
    bandwidth = read_bandwidth_gbs(device)
    for side, precision in CONFIGS:
        dtype = DTYPES[precision]
        t = time.perf_counter()
        if side == "ours":
            model = networks_from_bark(bark, tok, device, dtype)
        elif device.type != "cuda" and precision == "fp16":
            continue  # fp16 is no precision for the CPU (bark-cli's --half there is bf16)
        else:  # last: bark moves to the GPU and its GPTs to dtype for good
            model = bark.to(device)
            for sub in (bark.semantic, bark.coarse_acoustics, bark.fine_acoustics):
                sub.to(dtype)
        load_s = time.perf_counter() - t
        try:
            _run(side, model, tok, *WORKLOADS["clip3s"], seed, device)  # warm-up
            for name in workloads:
                if side == "transformers" and name not in transformers_workloads:
                    continue
                result = _run(side, model, tok, *WORKLOADS[name], seed, device)
                out["runs"].append({"side": side, "precision": precision, "workload": name, "load_s": load_s} | result)
                log(f"{size} {side}-{precision} {name}: {result['total_s']:.2f} s, peak {result['peak_gpu_mib']} MiB")
            if side == "ours":
                with attention_kernels(device):
                    modes = ("graph", "eager") if device.type == "cuda" else ("eager",)
                    steps = {mode: decode_step(model.coarse, graph=mode == "graph") for mode in modes}
                    steps.setdefault("graph", {"step_ms": None, "capture_s": None})
                weight_bytes = step_weight_bytes(model.coarse)
                floor_ms = weight_bytes / (bandwidth * 1e9) * 1e3
                out["floor"].append({"precision": precision, "weight_bytes": weight_bytes, "bandwidth_gbs": bandwidth,
                                     "floor_ms": floor_ms, "graph_ms": steps["graph"]["step_ms"],
                                     "eager_ms": steps["eager"]["step_ms"], "capture_s": steps["graph"]["capture_s"],
                                     "kernels": steps["graph"].get("kernels", [])})
                log(f"{size} ours-{precision} decode step: graph {steps['graph']['step_ms']} ms, "
                    f"eager {steps['eager']['step_ms']:.3f} ms, floor {floor_ms:.3f} ms")
        except Exception as exc:  # keep the other configurations' results
            out["runs"].append({"side": side, "precision": precision, "workload": "error", "error": repr(exc)[:300]})
            log(f"{size} {side}-{precision} FAILED: {exc!r}")
        del model
        gc.collect()
        torch.cuda.empty_cache()
    return out


def environment(device: torch.device) -> dict:
    import platform

    import transformers

    cuda = device.type == "cuda"
    return {
        "gpu": torch.cuda.get_device_name(device) if cuda else "none (a CPU dry run)",
        "gpu_memory_gib": torch.cuda.get_device_properties(device).total_memory / 2**30 if cuda else None,
        "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def main(sizes: list[str], workloads: list[str], transformers_workloads: set[str], seed: int, out_json, device) -> dict:
    import json
    import sys

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = {"environment": environment(device), "sizes": {}}
    for size in sizes:
        started = time.perf_counter()
        chosen = workloads if size != "large" else ["clip3s"]
        report["sizes"][size] = run_size(size, seed, chosen, transformers_workloads, log, device)
        report["sizes"][size]["wall_s"] = time.perf_counter() - started
        if out_json is not None:  # after each size: a later failure keeps what was measured
            out_json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
