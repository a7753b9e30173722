"""One benchmark job, run in a fresh process: a clip through bark-cli or through transformers, or the
decode-step floor. `run_job` returns a JSON-able dict; bench.py prints it for the parent to collect.

Timings are one cold run each (no warm-up pass: a warm-up of the fine stage alone would cost as much as a
short clip). Peak RSS is the high-water mark of the generation itself: it is reset after the weights are
built and converted (building float32 weights and converting them to bf16 briefly holds both copies).
"""

from __future__ import annotations

import gc
import resource
import time

import torch

from bench_build import TEXT, build_bark, build_coarse, step_weight_bytes, tokenizer

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.bfloat16}  # int8: weights; bf16 activations
SAMPLE_RATE = 24_000  # Hz
SEMANTIC_RATE_HZ = 49.9  # semantic tokens per second of audio
MIN_EOS_P = 0.2  # suno's and bark-cli's default; transformers' nested config leaves it unset
TEMPERATURES = {"semantic": 0.7, "coarse": 0.7, "fine": 0.5}  # suno's defaults, as in bark-cli


# --- memory --------------------------------------------------------------------------------------------
def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """High-water mark of resident memory (VmHWM; ru_maxrss where /proc is missing), in MiB."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024


def reset_peak_rss() -> bool:
    """Restart the high-water mark from the current RSS (Linux >= 4.0: ``5`` > /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --- bark-cli ------------------------------------------------------------------------------------------
class StageClock:
    """A bark_cli Progress that records when each stage reports ``finish``.

    Stage boundaries are taken finish-to-finish: the semantic stage calls ``start`` only after its
    257-position prefill, so start times would leave the prefill out.
    """

    def __init__(self) -> None:
        self.finished: dict[str, float] = {}

    def start(self, stage: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, stage: str, amount: int = 1) -> None:
        pass

    def finish(self, stage: str) -> None:
        self.finished[stage] = time.perf_counter()


def ours_networks(bark, dtype: torch.dtype):
    """bark-cli's `Networks` sharing the in-memory BarkModel's weights: the same assembly `load_networks`
    does after `from_pretrained`. In bf16 the GPTs get their own copies; the caller drops ``bark``."""
    from bark_cli.runtime.loading import networks_from_bark

    return networks_from_bark(bark, tokenizer(), torch.device("cpu"), dtype)


def run_ours(networks, batch: int, tokens: int, seed: int, decoding: str | None = None) -> dict:
    from bark_cli.options import GenerationOptions
    from bark_cli.pipeline import Segment, Synthesizer

    # max_seconds is the only token budget bark-cli takes: it rounds N / 49.9 * 49.9 back to N.
    options = GenerationOptions(max_seconds=tokens / SEMANTIC_RATE_HZ, min_eos_p=MIN_EOS_P)
    if options.semantic.max_tokens != tokens:
        raise ValueError(f"max_seconds gave {options.semantic.max_tokens} semantic tokens, not {tokens}")
    segments = [Segment(TEXT, None, seed + i) for i in range(batch)]
    clock = StageClock()
    t0 = time.perf_counter()
    results = Synthesizer(networks, decoding).generate(segments, options, clock)  # ends with host reads
    end = time.perf_counter()
    marks = [t0] + [clock.finished[s] for s in ("semantic", "coarse", "fine")] + [end]
    frames = sum(r.fine.shape[1] for r in results)  # fine: (8, N) per row
    return {
        "stages": dict(zip(("semantic", "coarse", "fine", "codec"), (b - a for a, b in zip(marks, marks[1:])))),
        "total_s": end - t0,
        "tokens": {"semantic": sum(len(r.semantic) for r in results), "coarse": 2 * frames, "frames": frames},
        "audio_s": sum(len(r.audio) for r in results) / SAMPLE_RATE,
    }


# --- transformers --------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    """Wait for the GPU, so a stage's time is its work and not just its launches."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_transformers(bark, tok, batch: int, tokens: int, seed: int) -> dict:
    """The four steps of `BarkModel.generate`, timed one by one, on one batch of ``batch`` rows (on the
    device ``bark`` is on)."""
    from transformers.models.bark.generation_configuration_bark import (
        BarkCoarseGenerationConfig,
        BarkFineGenerationConfig,
        BarkGenerationConfig,
        BarkSemanticGenerationConfig,
    )

    # The nested config hub checkpoints carry (tests/tiny_bark.py writes the same one), read back into
    # per-stage configs the way BarkModel.generate does.
    nested = BarkGenerationConfig().to_dict()
    semantic_config = BarkSemanticGenerationConfig(**nested["semantic_config"])
    coarse_config = BarkCoarseGenerationConfig(**nested["coarse_acoustics_config"])
    fine_config = BarkFineGenerationConfig(**nested["fine_acoustics_config"])
    configs = dict(semantic_generation_config=semantic_config, coarse_generation_config=coarse_config)

    torch.manual_seed(seed)
    device = bark.semantic.device
    _sync(device)
    t0 = time.perf_counter()
    inputs = tok([TEXT] * batch, add_special_tokens=False, padding="max_length", max_length=256, return_tensors="pt")
    inputs = {k: v.to(device) for k, v in inputs.items()}
    semantic = bark.semantic.generate(  # (B, <= N): tokens, then 10,000 after end of speech
        inputs["input_ids"],
        semantic_generation_config=semantic_config,
        attention_mask=inputs["attention_mask"],
        do_sample=True,
        temperature=TEMPERATURES["semantic"],
        max_new_tokens=tokens,
        min_eos_p=MIN_EOS_P,
    )
    n_semantic = int((semantic != semantic_config.semantic_pad_token).sum())  # before coarse rewrites pads
    _sync(device)
    t1 = time.perf_counter()
    coarse, lengths = bark.coarse_acoustics.generate(  # (B, 2 * frames) interleaved codebooks; (B,)
        semantic, **configs, codebook_size=1024, return_output_lengths=True,
        do_sample=True, temperature=TEMPERATURES["coarse"],
    )
    _sync(device)
    t2 = time.perf_counter()
    fine = bark.fine_acoustics.generate(  # (B, 8, frames)
        coarse, **configs, fine_generation_config=fine_config, codebook_size=1024, temperature=TEMPERATURES["fine"]
    )
    _sync(device)
    t3 = time.perf_counter()
    # As BarkModel.generate by default: the whole batch through the codec in one call (all rows here
    # have the same length, so nothing is padded).
    audio = bark.codec_decode(fine)  # (B, frames * 320)
    _sync(device)
    t4 = time.perf_counter()
    return {
        "stages": {"semantic": t1 - t0, "coarse": t2 - t1, "fine": t3 - t2, "codec": t4 - t3},
        "total_s": t4 - t0,
        "tokens": {"semantic": n_semantic, "coarse": int(lengths.sum()), "frames": fine.shape[0] * fine.shape[2]},
        "audio_s": audio.shape[0] * audio.shape[-1] / SAMPLE_RATE,
    }


# --- decode-step floor ---------------------------------------------------------------------------------
def read_bandwidth_gbs(gib: float = 1.0, repeats: int = 7) -> float:
    """Memory read bandwidth, GB/s: best of ``repeats`` sums over a ``gib`` GiB float32 tensor."""
    x = torch.ones(int(gib * 2**30) // 4)
    x.sum()  # first touch
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t)
    return x.numel() * 4 / best / 1e9


@torch.no_grad()
def coarse_step_ms(net, prompt: int = 257, steps: int = 100, warmup: int = 5, repeats: int = 3) -> float:
    """bark-cli's coarse GPT at batch 1 as its coarse stage runs it: a ``prompt``-position prefill (the
    first coarse window's prompt), then single-token steps with the KV cache, each computing the logits of
    one codebook, alternately; ms per step, best of ``repeats``."""
    from bark_cli.constants import COARSE_CODEBOOK_VOCAB

    generator = torch.Generator().manual_seed(0)
    best = float("inf")
    for _ in range(repeats):
        cache = net.new_cache(1, prompt + warmup + steps)
        ids = torch.randint(0, net.config.input_vocab_size, (1, prompt), generator=generator)  # (1, prompt)
        logits = net(net.embed(ids), cache, vocab=COARSE_CODEBOOK_VOCAB[0])  # (1, 1024)
        for i in range(warmup + steps):
            if i == warmup:
                t0 = time.perf_counter()
            start, end = COARSE_CODEBOOK_VOCAB[(i + 1) % 2]
            nxt = logits.argmax(-1, keepdim=True) + start  # (1, 1)
            logits = net(net.embed(nxt), cache, vocab=(start, end))
        best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3


def run_floor(size: str, dtype_name: str, seed: int) -> dict:
    from bark_cli.constants import COARSE_CODEBOOK_VOCAB
    from bark_cli.runtime.cpu.linears import can_prepack, prepack_linears, quantize_linears
    from bark_cli.runtime.cpu.native import load_native
    from bark_cli.runtime.gpt import from_transformers

    net = from_transformers(build_coarse(size, seed))
    net.add_head_slices(COARSE_CODEBOOK_VOCAB)  # as bark_cli.runtime.loading.networks_from_bark does
    net = net.to(DTYPES[dtype_name])
    weight_bytes = step_weight_bytes(net)  # counted before packing: the packed layout holds the same bytes
    if dtype_name == "int8":
        weight_bytes //= 2  # one byte per weight instead of bf16's two (the per-row scales are negligible)
        net = quantize_linears(net)  # as `--quantize int8` runs it
    elif DTYPES[dtype_name] == torch.bfloat16 and can_prepack():
        net = prepack_linears(net, load_native())  # as `--half` on the CPU runs it (bark_cli.runtime.loading.networks_from_bark)
    bandwidth = read_bandwidth_gbs()
    floor_ms = weight_bytes / (bandwidth * 1e9) * 1e3
    step_ms = coarse_step_ms(net)
    return {"weight_bytes": weight_bytes, "bandwidth_gbs": bandwidth, "floor_ms": floor_ms, "step_ms": step_ms}


# --- entry ---------------------------------------------------------------------------------------------
def save_checkpoint(size: str, seed: int, directory: str) -> dict:
    """The random weights and tokenizer saved as a transformers checkpoint, as the hub holds them."""
    t = time.perf_counter()
    build_bark(size, seed).save_pretrained(directory)
    tokenizer().save_pretrained(directory)
    return {"save_s": time.perf_counter() - t}


def load_checkpoint(side: str, directory: str, dtype: torch.dtype):
    """What each side's user runs to load a saved checkpoint: bark-cli's own loader (as `bark say`, with
    `--half` for bf16), or transformers' ``from_pretrained`` with the GPTs cast as in the in-memory jobs."""
    if side == "ours":
        from bark_cli.runtime.loading import load_networks
        from bark_cli.options import RuntimeOptions

        return load_networks(RuntimeOptions(model=directory, device="cpu", half=dtype != torch.float32)), None
    from transformers import BarkModel, BertTokenizer

    bark = BarkModel.from_pretrained(directory, dtype=torch.float32).eval()
    for sub in (bark.semantic, bark.coarse_acoustics, bark.fine_acoustics):
        sub.to(dtype)
    return bark, BertTokenizer.from_pretrained(directory)


def run_job(job: dict) -> dict:
    """``job``: kind "floor" (size, dtype), "save" (size, dir), or "clip" (side ours|transformers, size,
    dtype, batch, tokens; with "checkpoint", loaded from that saved directory instead of built in memory)."""
    out = {"threads": torch.get_num_threads()}
    if job["kind"] == "floor":
        return out | run_floor(job["size"], job["dtype"], job["seed"])
    if job["kind"] == "save":
        return out | save_checkpoint(job["size"], job["seed"], job["dir"])
    dtype = DTYPES[job["dtype"]]
    t = time.perf_counter()
    if job.get("checkpoint"):
        model, tok = load_checkpoint(job["side"], job["checkpoint"], dtype)
    else:
        bark = build_bark(job["size"], job["seed"])
        if job["side"] == "ours":
            model = ours_networks(bark, dtype)
            del bark  # in bf16 this frees the float32 GPT weights; in fp32 ours share them
        else:
            model, tok = bark, tokenizer()
            for sub in (bark.semantic, bark.coarse_acoustics, bark.fine_acoustics):
                sub.to(dtype)  # the codec stays float32, as in bark-cli
    gc.collect()
    out["build_s"] = time.perf_counter() - t
    out["build_peak_rss_mb"] = peak_rss_mb()
    # From a checkpoint the peak is the whole process's, loading included (what `time -v` shows a user).
    out["rss_reset"] = False if job.get("checkpoint") else reset_peak_rss()
    with torch.no_grad():
        if job["side"] == "ours":
            out |= run_ours(model, job["batch"], job["tokens"], job["seed"])
        else:
            out |= run_transformers(model, tok, job["batch"], job["tokens"], job["seed"])
    out["peak_rss_mb"] = peak_rss_mb()
    return out
