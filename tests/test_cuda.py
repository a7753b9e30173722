"""bark-cli on a CUDA GPU: the graph-replayed decode steps against the CPU, and half precision's logits.

Marked ``cuda`` and skipped without a GPU; `pytest -m cuda` runs only these. Their logic can be tried on
a machine without one with BARK_TEST_DEVICE=cpu (the static steps run eagerly there instead of as graphs).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from bark_cli.options import GenerationOptions, RuntimeOptions
from bark_cli.pipeline import Segment, Synthesizer

DEVICE = os.environ.get("BARK_TEST_DEVICE", "cuda")
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
TEXTS = ["hello my name is suno", "i like pizza [laughs] and uh the water", "bonjour", "the sound of music is good"]
GREEDY = GenerationOptions(text_temp=0, waveform_temp=0, fine_temp=0, max_seconds=4)
# fp16 logits against fp32's, as a share of the largest fp32 logit: what half precision may move them by.
# Measured 0.00139 on an H200 with the tiny checkpoint (docs/PERFORMANCE-gpu.md); fp16 keeps 11
# significant bits, and the margin allows for other GPUs' kernels.
HALF_TOLERANCE = 0.01


def _graph_mode() -> str:
    return "graph" if DEVICE == "cuda" else "static"


@pytest.fixture(scope="module")
def on_device(tiny_checkpoint):
    synthesizer = Synthesizer.load(RuntimeOptions(model=str(tiny_checkpoint), device=DEVICE))
    synthesizer.decoding = _graph_mode()  # CUDA's default; on the CPU, the same steps launched eagerly
    return synthesizer


@pytest.fixture(scope="module")
def half_on_device(tiny_checkpoint):
    return Synthesizer.load(RuntimeOptions(model=str(tiny_checkpoint), device=DEVICE, half=DEVICE == "cuda"))


def _generate(synthesizer, options, seeds=(1, 2, 3, 4), voice=None):
    return synthesizer.generate([Segment(t, voice, s) for t, s in zip(TEXTS, seeds)], options)


def test_graph_greedy_tokens_equal_the_cpus(on_device, synthesizer):
    ours, cpu = _generate(on_device, GREEDY), _generate(synthesizer, GREEDY)
    assert len({len(r.semantic) for r in cpu}) > 1, "rows should end at different points (compaction)"
    for a, b in zip(ours, cpu):
        np.testing.assert_array_equal(a.semantic, b.semantic)
        np.testing.assert_array_equal(a.fine, b.fine)


def test_graphs_replay_what_the_static_steps_compute(on_device, tiny_voice):
    """Sampled, with a voice (left-padded coarse windows): the same draws give the same tokens whether the
    steps are replayed from a graph or launched one by one."""
    from bark_cli.voices.voice import load_voice_file

    options = GenerationOptions(max_seconds=4, top_k=50, top_p=0.9)
    voice = load_voice_file(tiny_voice)
    replayed = _generate(on_device, options, voice=voice)
    on_device.decoding = "static"
    try:
        launched = _generate(on_device, options, voice=voice)
    finally:
        on_device.decoding = _graph_mode()
    for a, b in zip(replayed, launched):
        np.testing.assert_array_equal(a.fine, b.fine)
    again = _generate(on_device, options, voice=voice)
    for a, b in zip(replayed, again):
        np.testing.assert_array_equal(a.fine, b.fine)  # same seeds, same device: same codes


def test_half_precision_logits_stay_close_to_fp32(half_on_device, synthesizer, capsys):
    """Half precision on the GPU: logits of a prefill and of cached steps within HALF_TOLERANCE of fp32's."""
    full, half = synthesizer.networks.semantic, half_on_device.networks.semantic
    tokens = torch.randint(0, 10_000, (2, 40), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = full(full.embed(tokens), full.new_cache(2, 64), all_logits=True)
        cache = half.new_cache(2, 64)
        ids = tokens.to(half.position_embeds_layer.weight.device)
        prefill = half(half.embed(ids[:, :30]), cache, all_logits=True)
        steps = [half(half.embed(ids[:, t : t + 1]), cache) for t in range(30, 40)]
    got = torch.cat([prefill, torch.stack(steps, 1)], dim=1).float().cpu()
    deviation = float((got - expected).abs().max() / expected.abs().max())
    with capsys.disabled():
        print(f"\nhalf-precision logits on {DEVICE}: max deviation {deviation:.5f} of the largest logit")
    assert deviation <= HALF_TOLERANCE
    assert (got.argmax(-1) == expected.argmax(-1)).float().mean() > 0.95


@pytest.mark.parametrize("extra", [[], ["--half"], ["--cpu-offload"]], ids=["fp32", "half", "cpu-offload"])
def test_say_on_the_device_twice_gives_the_same_bytes(tiny_checkpoint, tmp_path, extra):
    args = [sys.executable, "-m", "bark_cli", "say", "hello my name is suno. i like pizza.", "--model", str(tiny_checkpoint),
            "--device", DEVICE, "--max-seconds", "2", "--segment-seconds", "2", "--seed", "3", "--no-cache", "--verbose", *extra]  # fmt: skip
    outputs = []
    for name in ("a.wav", "b.wav"):
        result = subprocess.run([*args, "-o", str(tmp_path / name)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    if DEVICE == "cuda":
        assert "peak GPU memory" in result.stderr
