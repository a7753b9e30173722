"""Stage 2: semantic tokens -> the first two EnCodec codebooks, with the coarse GPT in sliding windows.

Reference: suno-ai/bark 0.1.5 ``generate_coarse``, batched. Each window's prompt is 256 semantic tokens
(padded), the infer token and up to 630 tokens of coarse history; 60 tokens are generated per window.
While the semantic window has not slid and the history is under 630 tokens, the next window's prompt is
the previous prompt plus the tokens just generated, so the KV cache is kept instead of re-running the
prompt (exact: same tokens, same positions).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..constants import (
    CODEBOOK_SIZE,
    COARSE_CODE_OFFSET,
    COARSE_CODEBOOK_VOCAB,
    COARSE_INFER_TOKEN,
    COARSE_SEMANTIC_PAD_TOKEN,
    COARSE_WINDOW,
    MAX_COARSE_HISTORY,
    MAX_COARSE_INPUT_TOKENS,
    N_COARSE_CODEBOOKS,
    SEMANTIC_TO_COARSE_RATIO,
)
from ..runtime.gpt import CausalGPT
from ..options import CoarseOptions
from ..progress import NullProgress, Progress
from .sampling import draw, filter_logits, probabilities, uniforms
from ..voices.voice import Voice

STAGE = "coarse"
# Semantic tokens of history that fit beside MAX_COARSE_HISTORY coarse tokens: 209.
MAX_SEMANTIC_HISTORY = int(math.floor(MAX_COARSE_HISTORY / SEMANTIC_TO_COARSE_RATIO))
# Longest prompt plus one window: 256 + 1 + 630 + 60 = 947 positions.
CACHE_CAPACITY = MAX_COARSE_INPUT_TOKENS + 1 + MAX_COARSE_HISTORY + COARSE_WINDOW


def voice_histories(voice: Voice | None) -> tuple[np.ndarray, np.ndarray]:
    """The voice's semantic history (S,) and flattened coarse history (C,) trimmed to align in time."""
    if voice is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    semantic = voice.semantic_prompt
    offsets = COARSE_CODE_OFFSET + CODEBOOK_SIZE * np.arange(N_COARSE_CODEBOOKS)[:, None]
    coarse = (voice.coarse_prompt + offsets).T.reshape(-1)  # interleave codebooks 0,1,0,1,...
    n_semantic = min(
        MAX_SEMANTIC_HISTORY,
        len(semantic) - len(semantic) % 2,
        int(math.floor(len(coarse) / SEMANTIC_TO_COARSE_RATIO)),
    )
    n_coarse = int(round(n_semantic * SEMANTIC_TO_COARSE_RATIO))
    semantic = semantic[len(semantic) - n_semantic :]
    coarse = coarse[len(coarse) - n_coarse :][:-2]  # the reference drops 2 tokens: better time alignment
    return semantic.astype(np.int64), coarse.astype(np.int64)


def coarse_steps(n_semantic: int) -> int:
    """Coarse tokens (both codebooks) generated for ``n_semantic`` semantic tokens: always even."""
    return int(round(math.floor(n_semantic * SEMANTIC_TO_COARSE_RATIO / N_COARSE_CODEBOOKS) * N_COARSE_CODEBOOKS))


class _Row:
    def __init__(self, semantic: np.ndarray, voice: Voice | None):
        semantic_history, self.coarse = voice_histories(voice)
        self.semantic = np.concatenate([semantic_history, semantic])
        self.base = len(semantic_history)
        self.n_steps = coarse_steps(len(semantic))
        self.generated: list[int] = []

    def window_prompt(self, n_step: int) -> np.ndarray:
        start = max(0, self.base + int(round(n_step / SEMANTIC_TO_COARSE_RATIO)) - MAX_SEMANTIC_HISTORY)
        window = np.full(MAX_COARSE_INPUT_TOKENS, COARSE_SEMANTIC_PAD_TOKEN, dtype=np.int64)
        part = self.semantic[start : start + MAX_COARSE_INPUT_TOKENS]
        window[: len(part)] = part
        coarse = np.concatenate([self.coarse, np.asarray(self.generated, dtype=np.int64)])[-MAX_COARSE_HISTORY:]
        return np.concatenate([window, [COARSE_INFER_TOKEN], coarse])

    def codes(self) -> np.ndarray:
        flat = np.asarray(self.generated[: self.n_steps], dtype=np.int64)
        codes = flat.reshape(-1, N_COARSE_CODEBOOKS).T - COARSE_CODE_OFFSET  # (2, N)
        return codes - CODEBOOK_SIZE * np.arange(N_COARSE_CODEBOOKS)[:, None]


def _codebook_vocab(n_step: int) -> tuple[int, int]:
    """The vocabulary range of the codebook that coarse token ``n_step`` belongs to."""
    return COARSE_CODEBOOK_VOCAB[n_step % N_COARSE_CODEBOOKS]


def _left_pad(prompts: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, L) prompts aligned at the right, and each row's padding length (None when there is none)."""
    length = max(len(p) for p in prompts)
    tokens = np.zeros((len(prompts), length), dtype=np.int64)  # pad token value is never attended to
    for i, p in enumerate(prompts):
        tokens[i, length - len(p) :] = p
    pad_left = np.asarray([length - len(p) for p in prompts])
    return torch.from_numpy(tokens), (torch.from_numpy(pad_left) if pad_left.any() else None)


def choose(logits: torch.Tensor, n_step: int, options: CoarseOptions, uniform: torch.Tensor | None) -> torch.Tensor:
    """Each row's coarse token ``n_step`` (its codebook's vocabulary offset added) from that codebook's
    (B, 1,024) logits: the sampling rule of both decode paths."""
    probs = probabilities(filter_logits(logits, options.top_k, options.top_p), options.temperature)
    return draw(probs, options.temperature, uniform) + _codebook_vocab(n_step)[0]  # (B,)


@torch.no_grad()
def generate_coarse(
    net: CausalGPT,
    semantic: list[np.ndarray],
    voices: list[Voice | None],
    options: CoarseOptions,
    generators: list[torch.Generator],
    progress: Progress = NullProgress(),
    mode: str = "dynamic",
) -> list[np.ndarray]:
    """Coarse codes (2, N_i) int64 in 0..1,023 for each row; N_i = 75/49.9 frames per semantic token.
    ``mode`` picks the decode path (runtime/decode.py)."""
    device = net.position_embeds_layer.weight.device
    rows = [_Row(s, v) for s, v in zip(semantic, voices)]
    # Row i's draws, one per token it generates, from its own generator (none when greedy).
    draws = None if options.temperature == 0 else uniforms(generators, [row.n_steps for row in rows], device)
    progress.start(STAGE, sum(row.n_steps for row in rows), "tokens")
    if mode == "dynamic":
        _dynamic(net, rows, options, draws, progress)
    else:
        from .coarse_static import StaticCoarse  # it builds on this module's windows and rows

        StaticCoarse(net, rows, options, draws, graph=mode == "graph").run(progress)
    progress.finish(STAGE)
    return [row.codes() for row in rows]


def _dynamic(net: CausalGPT, rows: list[_Row], options: CoarseOptions, draws, progress: Progress) -> None:
    """Rows leave the batch as they finish; the KV cache holds only filled positions."""
    device = net.position_embeds_layer.weight.device
    active = [i for i, row in enumerate(rows) if row.n_steps > 0]
    if draws is not None:
        draws = draws.index_select(0, torch.tensor(active, dtype=torch.long, device=device))
    cache, fed = None, None  # fed: (b, cache.length) tokens the cache holds
    n_step = 0
    while active:
        prompt, pad_left = _left_pad([rows[i].window_prompt(n_step) for i in active])
        prompt = prompt.to(device)
        if pad_left is not None:
            pad_left = pad_left.to(device)
        reusable = (
            cache is not None
            and prompt.shape[1] == cache.length + 1
            and torch.equal(prompt[:, : cache.length], fed)
            and (cache.pad_left is None) == (pad_left is None)
            and (pad_left is None or torch.equal(cache.pad_left, pad_left))
        )
        if reusable:
            new = prompt[:, cache.length :]  # the last token of the previous window
        else:
            cache, new = net.new_cache(len(active), CACHE_CAPACITY, pad_left), prompt
        fed = prompt
        # Tokens alternate codebook 0 and 1, each with its own 1,024-code range of the vocabulary: only that
        # range's logits are computed.
        logits = net(net.embed(new), cache, vocab=_codebook_vocab(n_step))  # (b, 1024)
        window_end = n_step + COARSE_WINDOW
        while active and n_step < window_end:
            tokens = choose(logits, n_step, options, None if draws is None else draws[:, n_step])  # (b,)
            for i, token in zip(active, tokens.tolist()):
                rows[i].generated.append(token)
            n_step += 1
            progress.advance(STAGE, len(active))
            keep = [k for k, i in enumerate(active) if rows[i].n_steps > n_step]
            if len(keep) < len(active):
                index = torch.tensor(keep, device=device, dtype=torch.long)
                cache.keep_rows(index)
                tokens, fed = tokens.index_select(0, index), fed.index_select(0, index)
                draws = None if draws is None else draws.index_select(0, index)
                active = [active[k] for k in keep]
            if active and n_step < window_end:
                logits = net(net.embed(tokens[:, None]), cache, vocab=_codebook_vocab(n_step))
                fed = torch.cat([fed, tokens[:, None]], dim=1)
