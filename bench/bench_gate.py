"""The quality gate's cost: its checks alone (no retakes) against the generation they check.

One segment of bark-small shapes (random weights, end of speech unreachable, so every run generates
exactly its token budget; see bench_build.py) is generated through bark-cli's `Synthesizer` on the CPU,
then the gate's checks (quality/checks.py: measures and verdicts, on the audio and the semantic tokens)
are timed on its output, repeated for a stable figure. Writes a Markdown report.

    python bench/bench_gate.py [--seconds 10] [--out docs/PERFORMANCE-gate.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from bench_build import TEXT, build_bark
from bench_run import SEMANTIC_RATE_HZ, ours_networks, run_ours

REPEATS = 50  # check() calls timed; the median is reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per segment (fixes the token count)")
    parser.add_argument("--out", type=Path, default=Path("docs/PERFORMANCE-gate.md"))
    args = parser.parse_args()

    from bark_cli.pipeline import Segment, Synthesizer
    from bark_cli.options import GenerationOptions
    from bark_cli.quality.checks import check

    tokens = round(args.seconds * SEMANTIC_RATE_HZ)
    load = os.getloadavg()[0]
    networks = ours_networks(build_bark("small"), torch.float32)
    generation = run_ours(networks, batch=1, tokens=tokens, seed=0)
    # The same segment again, to hold its arrays (run_ours reports timings only).
    options = GenerationOptions(max_seconds=tokens / SEMANTIC_RATE_HZ)
    (result,) = Synthesizer(networks).generate([Segment(TEXT, None, 0)], options)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        report = check(result.audio, TEXT, result.semantic, options.semantic.max_tokens)
        times.append(time.perf_counter() - started)
    checks_ms = sorted(times)[REPEATS // 2] * 1000
    load_end = os.getloadavg()[0]
    share = checks_ms / 1000 / generation["total_s"]
    lines = [
        "# The quality gate's cost",
        "",
        f"Measured by `bench/bench_gate.py` on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, fp32, load average {load:.2f} at the start and "
        f"{load_end:.2f} at the end (above the CPU count, other work slowed both figures).",
        "",
        f"One segment of bark-small shapes, batch 1: {generation['tokens']['semantic']} semantic tokens, "
        f"{generation['tokens']['frames']} codec frames, {generation['audio_s']:.2f} s of audio.",
        "",
        "| what | time |",
        "|---|---|",
        f"| generating the segment (semantic, coarse, fine, codec) | {generation['total_s']:.2f} s |",
        f"| the gate's checks of it (median of {REPEATS}) | {checks_ms:.2f} ms |",
        f"| checks / generation | {share:.4%} |",
        "",
        f"Checks run: {', '.join(report.checked)}; flags on this random-weight segment: "
        f"{', '.join(report.flags) or 'none'} (random weights make noise, not speech; the cost does not depend "
        "on what the audio holds, only on its length).",
        "",
        "Retakes are not counted: a retake costs one more generation of the segment, batched with the others.",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
