"""The coarse stage on static buffers (runtime/decode.py): the same windows as stages/coarse.py, each window's
60 steps replayed from two captured steps (one per codebook, which alternate).

Every step feeds the token it samples, so after a window the cache already holds the whole window and the
next step's logits are ready: when the next window's prompt is the last one plus the window (the semantic
window has not slid, the history is under 630 tokens) nothing is run again. Otherwise the window is
prefilled from scratch into the same buffers. Rows that are done are carried along, masked, until they are
half the batch or more; then the batch shrinks (new buffers, new graphs).
"""

from __future__ import annotations

import numpy as np
import torch

from ..constants import CODEBOOK_SIZE, COARSE_WINDOW, N_COARSE_CODEBOOKS
from ..options import CoarseOptions
from ..progress import Progress
from ..runtime.decode import StepRunner
from ..runtime.gpt import CausalGPT
from .coarse import CACHE_CAPACITY, STAGE, _codebook_vocab, _left_pad, _Row, choose


class StaticCoarse:
    def __init__(self, net: CausalGPT, rows: list[_Row], options: CoarseOptions, draws, graph: bool):
        self.net, self.rows, self.options, self.graph = net, rows, options, graph
        self.slots = [i for i, row in enumerate(rows) if row.n_steps > 0]  # the row in each batch row
        device = net.position_embeds_layer.weight.device
        index = torch.tensor(self.slots, dtype=torch.long, device=device)
        self.draws = None if draws is None else draws.index_select(0, index)  # (b, steps)
        batch, steps = len(self.slots), max((row.n_steps for row in rows), default=0)
        self.cache = net.new_static_cache(batch, CACHE_CAPACITY)
        # Each codebook's logits: step n samples from logits[n % 2] and fills the other.
        self.logits = [torch.zeros((batch, CODEBOOK_SIZE), device=device) for _ in range(N_COARSE_CODEBOOKS)]
        self.generated = torch.zeros((batch, steps), dtype=torch.long, device=device)  # (b, steps) vocabulary ids
        self.step_index = torch.zeros(1, dtype=torch.long, device=device)
        self.fed: torch.Tensor | None = None  # (b, cache.length) the tokens the cache holds
        self.runners: list[StepRunner] | None = None  # one per codebook, made after the first prefill

    def _step(self, codebook: int) -> None:
        uniform = None if self.draws is None else self.draws.index_select(1, self.step_index)[:, 0]
        tokens = choose(self.logits[codebook], codebook, self.options, uniform)  # (b,)
        self.generated.index_copy_(1, self.step_index, tokens[:, None])
        following = 1 - codebook
        self.logits[following].copy_(self.net.step_static(tokens[:, None], self.cache, _codebook_vocab(following)))
        self.step_index.add_(1)

    def _capture(self) -> None:
        state = [*self.logits, self.cache.length_t, self.step_index]
        first = StepRunner(lambda: self._step(0), self.graph, state)
        self.runners = [first, StepRunner(lambda: self._step(1), self.graph, state, first.pool)]

    def _keep(self, keep: list[int]) -> None:
        """Shrink the batch to batch rows ``keep`` (new buffers, so new graphs)."""
        index = torch.tensor(keep, dtype=torch.long, device=self.generated.device)
        self.cache.keep_rows(index)
        self.logits = [t.index_select(0, index) for t in self.logits]
        self.generated, self.fed = self.generated.index_select(0, index), self.fed.index_select(0, index)
        self.draws = None if self.draws is None else self.draws.index_select(0, index)
        self.step_index = self.step_index.clone()
        self.slots = [self.slots[k] for k in keep]
        self._capture()

    def _reusable(self, prompts: dict[int, np.ndarray]) -> bool:
        """Whether every going row's prompt is exactly what the cache holds for it."""
        if self.fed is None:
            return False
        fed = self.fed.cpu().numpy()  # (b, cache.length)
        pad = np.zeros(len(fed), dtype=np.int64) if self.cache.pad_left is None else self.cache.pad_left.cpu().numpy()
        return all(np.array_equal(fed[k, pad[k] :], prompt) for k, prompt in prompts.items())

    def _prefill(self, prompts: dict[int, np.ndarray], n_step: int) -> None:
        # Rows that are done get a going row's prompt: computed, never read.
        filler = next(iter(prompts.values()))
        tokens, pad_left = _left_pad([prompts.get(k, filler) for k in range(len(self.slots))])
        device = self.generated.device
        tokens, pad_left = tokens.to(device), None if pad_left is None else pad_left.to(device)
        self.cache.restart(pad_left)
        codebook = n_step % N_COARSE_CODEBOOKS
        self.logits[codebook].copy_(self.net(self.net.embed(tokens), self.cache, vocab=_codebook_vocab(codebook)))
        self.cache.sync()
        self.fed = tokens

    def run(self, progress: Progress) -> None:
        n_step = 0
        while True:
            going = [k for k, row in enumerate(self.slots) if self.rows[row].n_steps > n_step]
            if not going:
                return
            if self.runners is not None and len(going) <= len(self.slots) / 2:
                self._keep(going)
                going = list(range(len(going)))
            prompts = {k: self.rows[self.slots[k]].window_prompt(n_step) for k in going}
            if not self._reusable(prompts):
                self._prefill(prompts, n_step)
            if self.runners is None:
                self._capture()
            self.step_index.fill_(n_step)
            steps = min(COARSE_WINDOW, max(self.rows[self.slots[k]].n_steps for k in going) - n_step)
            for step in range(n_step, n_step + steps):
                self.runners[step % N_COARSE_CODEBOOKS]()
            window = self.generated[:, n_step : n_step + steps]  # (b, steps)
            self.fed = torch.cat([self.fed, window], dim=1)
            for k, tokens in enumerate(window.cpu().tolist()):  # the one read back per window
                row = self.rows[self.slots[k]]
                row.generated.extend(tokens[: max(0, row.n_steps - n_step)])
            progress.advance(STAGE, sum(min(steps, self.rows[self.slots[k]].n_steps - n_step) for k in going))
            n_step += steps
