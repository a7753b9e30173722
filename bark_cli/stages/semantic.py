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
from ..runtime.decode import CHECK_EVERY, StepRunner
from ..runtime.gpt import CausalGPT
from ..options import SemanticOptions
from ..progress import NullProgress, Progress
from .sampling import draw, filter_logits, probabilities, uniforms
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


def choose(logits: torch.Tensor, options: SemanticOptions, uniform: torch.Tensor | None):
    """Each row's next token from its (B, V) logits, and whether the row ends here: end of speech drawn, or
    its probability at least ``min_eos_p``. The sampling rule of both decode paths."""
    # Semantic tokens 0..9,999 and the end-of-speech logit right after them (index 10,000).
    relevant = filter_logits(logits[:, : SEMANTIC_EOS_TOKEN + 1], options.top_k, options.top_p)
    probs = probabilities(relevant, options.temperature)  # (B, 10,001)
    tokens = draw(probs, options.temperature, uniform)  # (B,)
    return tokens, (tokens == SEMANTIC_EOS_TOKEN) | (probs[:, SEMANTIC_EOS_TOKEN] >= options.min_eos_p)


@torch.no_grad()
def generate_semantic(
    net: CausalGPT,
    text_ids: list[np.ndarray],
    voices: list[Voice | None],
    options: SemanticOptions,
    generators: list[torch.Generator],
    progress: Progress = NullProgress(),
    mode: str = "dynamic",
) -> list[np.ndarray]:
    """Semantic tokens (T_i,) int64 for each row, end-of-speech token excluded; ``mode`` picks the decode
    path (runtime/decode.py)."""
    device = net.position_embeds_layer.weight.device
    blocks = [prompt_blocks(ids, voice) for ids, voice in zip(text_ids, voices)]
    text = torch.from_numpy(np.stack([b[0] for b in blocks])).to(device)  # (B, 256)
    history = torch.from_numpy(np.stack([b[1] for b in blocks])).to(device)  # (B, 256)
    infer = torch.full((len(blocks), 1), SEMANTIC_INFER_TOKEN, device=device)  # (B, 1)
    # The reference sums the text and history embeddings position by position: 257 prompt positions.
    embeds = torch.cat([net.embed(text) + net.embed(history), net.embed(infer)], dim=1)  # (B, 257, C)
    # One draw per step a row may take, from the row's own generator (none when greedy).
    draws = None if options.temperature == 0 else uniforms(generators, options.max_tokens, device)  # (B, max)
    progress.start(STAGE, None, "tokens")
    if mode == "dynamic":
        outputs = _dynamic(net, embeds, options, draws, progress)
    else:
        outputs = StaticSemantic(net, embeds, options, draws, graph=mode == "graph").run(progress)
    progress.finish(STAGE)
    return [np.asarray(tokens, dtype=np.int64) for tokens in outputs]


def _dynamic(net: CausalGPT, embeds: torch.Tensor, options: SemanticOptions, draws, progress: Progress) -> list[list[int]]:
    """Rows leave the batch (and the KV cache) as soon as they end."""
    cache = net.new_cache(len(embeds), embeds.shape[1] + options.max_tokens - 1)
    logits = net(embeds, cache)  # (B, V)
    outputs: list[list[int]] = [[] for _ in range(len(embeds))]
    active = list(range(len(embeds)))  # original row index of each batch row
    for step in range(options.max_tokens):
        tokens, ended = choose(logits, options, None if draws is None else draws[:, step])
        keep = []
        for row, (token, end) in enumerate(zip(tokens.tolist(), ended.tolist())):
            if not end:
                outputs[active[row]].append(token)
                keep.append(row)
        progress.advance(STAGE, len(keep))
        if not keep or step == options.max_tokens - 1:
            break
        if len(keep) < len(active):
            rows = torch.tensor(keep, device=embeds.device)
            cache.keep_rows(rows)
            tokens = tokens.index_select(0, rows)
            draws = None if draws is None else draws.index_select(0, rows)
            active = [active[row] for row in keep]
        logits = net(net.embed(tokens[:, None]), cache)
    return outputs


class StaticSemantic:
    """The semantic stage on static buffers (runtime/decode.py): every row steps until all have ended,
    a row's tokens cut at its first end afterwards; the batch shrinks to the rows still going when they
    are half of it or fewer (each size captured as its own graph)."""

    def __init__(self, net: CausalGPT, embeds: torch.Tensor, options: SemanticOptions, draws, graph: bool):
        self.net, self.options, self.graph = net, options, graph
        batch, steps = len(embeds), options.max_tokens
        self.cache = net.new_static_cache(batch, embeds.shape[1] + steps)  # the last step feeds its token too
        self.logits = net(embeds, self.cache)  # (B, V)
        self.cache.sync()
        self.draws = draws  # (B, steps) or None
        self.tokens = torch.zeros((batch, steps), dtype=torch.long, device=embeds.device)  # (B, steps)
        self.ended = torch.zeros((batch, steps), dtype=torch.bool, device=embeds.device)  # (B, steps)
        self.step_index = torch.zeros(1, dtype=torch.long, device=embeds.device)
        self.rows = list(range(batch))  # original row of each batch row
        self.runner = StepRunner(self._step, graph, self._state())

    def _state(self) -> list[torch.Tensor]:
        return [self.logits, self.cache.length_t, self.step_index]

    def _step(self) -> None:
        uniform = None if self.draws is None else self.draws.index_select(1, self.step_index)[:, 0]
        tokens, ended = choose(self.logits, self.options, uniform)
        self.tokens.index_copy_(1, self.step_index, tokens[:, None])
        self.ended.index_copy_(1, self.step_index, ended[:, None])
        self.logits.copy_(self.net.step_static(tokens[:, None], self.cache))
        self.step_index.add_(1)

    def _keep(self, keep: list[int]) -> None:
        """Shrink the batch to rows ``keep`` (new buffers, so a new graph)."""
        index = torch.tensor(keep, device=self.logits.device)
        self.cache.keep_rows(index)
        self.logits, self.tokens, self.ended = (t.index_select(0, index) for t in (self.logits, self.tokens, self.ended))
        self.draws = None if self.draws is None else self.draws.index_select(0, index)
        self.step_index = self.step_index.clone()
        self.rows = [self.rows[k] for k in keep]
        self.runner = StepRunner(self._step, self.graph, self._state(), self.runner.pool)

    def run(self, progress: Progress) -> list[list[int]]:
        outputs: dict[int, list[int]] = {}  # original row -> its tokens, once it has ended
        batch, steps, counted = len(self.rows), self.options.max_tokens, 0
        for step in range(1, steps + 1):
            self.runner()
            if step % CHECK_EVERY and step < steps:
                continue
            ended = self.ended[:, :step].cpu().numpy()  # (b, step): the one read back every CHECK_EVERY steps
            alive = ~np.logical_or.accumulate(ended, axis=1)  # a token counts until its row's end
            progress.advance(STAGE, int(alive[:, counted:].sum()))
            counted = step
            done = [k for k, row in enumerate(self.rows) if row not in outputs and (ended[k].any() or step == steps)]
            if done:
                tokens = self.tokens[:, :step].cpu().numpy()
                for k in done:
                    outputs[self.rows[k]] = tokens[k, : int(alive[k].sum())].tolist()
            going = [k for k, row in enumerate(self.rows) if row not in outputs]
            if not going:
                break
            if len(going) <= len(self.rows) / 2:
                self._keep(going)
        return [outputs[row] for row in range(batch)]
