"""Choosing the next token: top-p, top-k, temperature and draws, written once for every stage.

Each batch row draws from its own ``torch.Generator``, so a segment's tokens depend on its own seed and
not on which other segments share its batch. The draws are made up front (`uniforms`), one per token a
row may sample, whatever path the decode steps take (runtime/decode.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def make_generators(seeds: list[int], device: torch.device) -> list[torch.Generator]:
    generators = []
    for seed in seeds:
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        generators.append(generator)
    return generators


def filter_logits(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Mask (B, V) float logits outside the top-p mass and the top k with -inf (reference order: p, then k)."""
    if top_p is not None and top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, dim=-1, descending=True)
        cumulative = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cumulative > top_p
        # Keep the token that crosses the threshold: shift the mask right by one.
        remove[:, 1:] = remove[:, :-1].clone()
        remove[:, 0] = False
        logits = logits.masked_fill(torch.zeros_like(remove).scatter(1, sorted_idx, remove), float("-inf"))
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits


def probabilities(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax of (..., V) logits at ``temperature``; 0 (greedy) reads as 1 so the EOS rule still applies."""
    return F.softmax(logits / (temperature if temperature > 0 else 1.0), dim=-1)


def uniforms(generators: list[torch.Generator], counts: int | list[int], device: torch.device) -> torch.Tensor:
    """(B, max count) float32 uniform draws in [0, 1): row b has ``counts[b]`` (or ``counts``) draws from
    ``generators[b]``, then zeros. A row's tokens then depend on its own seed only, and its generator
    advances by its own count. Drawn up front, so a decode step samples without touching a generator
    (a CUDA graph replays the same kernels every step)."""
    counts = counts if isinstance(counts, list) else [counts] * len(generators)
    out = torch.zeros((len(generators), max(counts, default=0)), device=device)
    for row, (generator, count) in enumerate(zip(generators, counts)):
        out[row, :count] = torch.rand(count, generator=generator, device=device)
    return out


def draw(probs: torch.Tensor, temperature: float, uniform: torch.Tensor | None) -> torch.Tensor:
    """One token per row of (B, V) probabilities, or per position of (B, T, V): argmax when temperature is 0.

    Sampling inverts the cumulative distribution at ``uniform`` (B,) or (B, T), one draw per token from
    `uniforms`: exact, and ~40x faster than ``torch.multinomial`` over many positions (the fine stage).
    """
    if temperature == 0:
        return probs.argmax(dim=-1)
    cdf = probs.cumsum(dim=-1)  # (B, [T,] V)
    # right=True: a token of probability 0 (filtered out) is never chosen, even for a draw of exactly 0.
    tokens = torch.searchsorted(cdf, uniform.to(cdf.dtype)[..., None] * cdf[..., -1:], right=True).squeeze(-1)
    return tokens.clamp_(max=probs.shape[-1] - 1)
