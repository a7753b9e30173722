"""KV caches of the causal GPTs (gpt.py): the dynamic one, holding the filled positions, and the static one
that a CUDA graph can replay steps over (runtime/decode.py).

Shapes: B batch rows, T new positions, S cached+new positions, nh heads, hs head width.
"""

from __future__ import annotations

import torch


class KVCache:
    """Preallocated keys and values of every layer in one tensor: (n_layer, 2, B, nh, capacity, hs).

    Keys and values share a tensor so that a step writes both with one copy.

    ``length`` positions are filled. ``pad_left[b]`` positions at the start of row b are padding that no
    query may attend to (rows with shorter prompts are left-padded so all rows end together).
    """

    def __init__(self, config, batch: int, capacity: int, device, dtype, pad_left=None):  # config: a GPTConfig
        hs = config.n_embd // config.n_head
        # Uninitialised: attention reads only positions below ``length``, all written (padding included).
        # The coarse stage allocates one per re-prefilled window; zeroing 209 MB (batch 6, bf16) took 45 ms.
        self.kv = torch.empty((config.n_layer, 2, batch, config.n_head, capacity, hs), device=device, dtype=dtype)
        self.length = 0
        self.pad_left = pad_left  # (B,) long tensor, or None when no row is padded

    @property
    def capacity(self) -> int:
        return self.kv.shape[4]

    def keep_rows(self, rows: torch.Tensor) -> None:
        """Drop the batch rows not in ``rows`` (finished generations stop costing compute)."""
        self.kv = self.kv.index_select(2, rows)
        if self.pad_left is not None:
            self.pad_left = self.pad_left.index_select(0, rows)


class StaticCache(KVCache):
    """A KV cache for static-shape decode steps (`CausalGPT.step_static`, runtime/decode.py): its fill level
    and every row's padding are also device tensors (``length_t``, ``pad``) that a step reads and advances in
    place, and attention runs over the whole buffer under a mask. A step's kernels, shapes and addresses then
    never change, so one CUDA graph can replay it for every token.

    Positions not yet written are masked out but still multiplied by a zero weight, so the buffer is zeroed
    once (NaN garbage would leak through 0 * NaN). Eager prefills use it like any KVCache; `sync` then
    copies the host's fill level and padding to the device tensors.
    """

    def __init__(self, config, batch: int, capacity: int, device, dtype):
        super().__init__(config, batch, capacity, device, dtype)
        self.kv.zero_()
        self.length_t = torch.zeros(1, dtype=torch.long, device=device)  # == length, on the device
        self.pad = torch.zeros(batch, dtype=torch.long, device=device)  # (B,) == pad_left, zeros for none
        self.positions = torch.arange(capacity, device=device)  # (S,) key positions, for the mask
        # Additive attention mask (B, 1, 1, S): 0 where a row may look, -inf elsewhere. Made in `sync`, then
        # each step opens its own position: one kernel, where building it anew took five.
        self.mask = torch.zeros((batch, 1, 1, capacity), dtype=dtype, device=device)

    def restart(self, pad_left: torch.Tensor | None) -> None:
        """Empty the cache for a new prompt in the same buffers (a re-prefilled coarse window)."""
        self.length, self.pad_left = 0, pad_left

    def sync(self) -> None:
        """The device tensors from the host's view (after an eager prefill)."""
        self.length_t.fill_(self.length)
        if self.pad_left is None:
            self.pad.zero_()
        else:
            self.pad.copy_(self.pad_left)
        keys = self.positions[None, :]  # (1, S)
        filled = (keys < self.length) & (keys >= self.pad[:, None])  # (B, S)
        self.mask.copy_(torch.zeros_like(filled, dtype=self.mask.dtype).masked_fill_(~filled, float("-inf"))[:, None, None])

    def keep_rows(self, rows: torch.Tensor) -> None:
        super().keep_rows(rows)
        self.pad, self.mask = self.pad.index_select(0, rows), self.mask.index_select(0, rows)


def attention_mask(cache: KVCache, T: int, device) -> torch.Tensor | None:
    """Boolean mask (B or 1, 1, T, S) for T new queries after ``cache.length`` cached positions.

    None where SDPA needs no mask: one query with no padding (it may see everything cached).
    """
    S = cache.length + T
    if cache.pad_left is None and T == 1:
        return None
    q_pos = torch.arange(cache.length, S, device=device)[:, None]  # (T, 1)
    k_pos = torch.arange(S, device=device)[None, :]  # (1, S)
    mask = (k_pos <= q_pos)[None, None]  # (1, 1, T, S) causal
    if cache.pad_left is not None:
        valid = k_pos[None] >= cache.pad_left[:, None, None]  # (B, 1, S)
        # A padding query would see no key at all (NaN rows whose NaN values then leak through 0 * NaN):
        # let every query see itself.
        mask = (mask & valid[:, None]) | (k_pos == q_pos)[None, None]
    return mask
