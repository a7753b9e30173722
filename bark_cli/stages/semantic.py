"""Stage 1: text (+ voice) -> semantic tokens, with the semantic ("text") GPT and a KV cache.

Reference: suno-ai/bark 0.1.5 ``generate_text_semantic``, batched. Every row's prompt is exactly 257
positions (text block and history block padded to 256 each, summed, then the infer token), so rows of a
batch need no padding; rows that reach end of speech leave the batch.
"""

from __future__ import annotations

import numpy as np
import torch

from ..constants import (
    MAX_SEMANTIC_HISTORY,
    MAX_TEXT_TOKENS,
    SEMANTIC_EOS_TOKEN,
    SEMANTIC_INFER_TOKEN,
    SEMANTIC_PAD_TOKEN,
    TEXT_ENCODING_OFFSET,
    TEXT_PAD_TOKEN,
)
from ..runtime.gpt import CausalGPT
from ..options import SemanticOptions
from ..progress import NullProgress, Progress
from .sampling import draw, filter_logits, probabilities
from ..voices.voice import Voice

STAGE = "semantic"


def _pad(values: np.ndarray, length: int, pad: int) -> np.ndarray:
    out = np.full(length, pad, dtype=np.int64)
    out[: len(values)] = values[:length]
    return out


def prompt_blocks(text_ids: np.ndarray, voice: Voice | None) -> tuple[np.ndarray, np.ndarray]:
    """The text block and the history block of one row, (256,) each."""
    text = _pad(np.asarray(text_ids, dtype=np.int64) + TEXT_ENCODING_OFFSET, MAX_TEXT_TOKENS, TEXT_PAD_TOKEN)
    history = np.empty(0, dtype=np.int64) if voice is None else voice.semantic_prompt[-MAX_SEMANTIC_HISTORY:]
    return text, _pad(history, MAX_SEMANTIC_HISTORY, SEMANTIC_PAD_TOKEN)


@torch.no_grad()
def generate_semantic(
    net: CausalGPT,
    text_ids: list[np.ndarray],
    voices: list[Voice | None],
    options: SemanticOptions,
    generators: list[torch.Generator],
    progress: Progress = NullProgress(),
) -> list[np.ndarray]:
    """Semantic tokens (T_i,) int64 for each row, end-of-speech token excluded."""
    device = net.position_embeds_layer.weight.device
    blocks = [prompt_blocks(ids, voice) for ids, voice in zip(text_ids, voices)]
    text = torch.from_numpy(np.stack([b[0] for b in blocks])).to(device)  # (B, 256)
    history = torch.from_numpy(np.stack([b[1] for b in blocks])).to(device)  # (B, 256)
    infer = torch.full((len(blocks), 1), SEMANTIC_INFER_TOKEN, device=device)  # (B, 1)
    # The reference sums the text and history embeddings position by position: 257 prompt positions.
    embeds = torch.cat([net.embed(text) + net.embed(history), net.embed(infer)], dim=1)  # (B, 257, C)

    progress.start(STAGE, None, "tokens")
    cache = net.new_cache(len(blocks), embeds.shape[1] + options.max_tokens - 1)
    logits = net(embeds, cache)  # (B, V)
    outputs: list[list[int]] = [[] for _ in blocks]
    active = list(range(len(blocks)))  # original row index of each batch row
    for step in range(options.max_tokens):
        # Semantic tokens 0..9,999 and the end-of-speech logit right after them (index 10,000).
        relevant = filter_logits(logits[:, : SEMANTIC_EOS_TOKEN + 1], options.top_k, options.top_p)
        probs = probabilities(relevant, options.temperature)  # (b, 10,001)
        tokens = draw(probs, options.temperature, [generators[i] for i in active])  # (b,)
        ended = (tokens == SEMANTIC_EOS_TOKEN) | (probs[:, SEMANTIC_EOS_TOKEN] >= options.min_eos_p)
        keep = []
        for row, (token, end) in enumerate(zip(tokens.tolist(), ended.tolist())):
            if not end:
                outputs[active[row]].append(token)
                keep.append(row)
        progress.advance(STAGE, len(keep))
        if not keep or step == options.max_tokens - 1:
            break
        if len(keep) < len(active):
            rows = torch.tensor(keep, device=device)
            cache.keep_rows(rows)
            tokens = tokens.index_select(0, rows)
            active = [active[row] for row in keep]
        logits = net(net.embed(tokens[:, None]), cache)
    progress.finish(STAGE)
    return [np.asarray(tokens, dtype=np.int64) for tokens in outputs]
