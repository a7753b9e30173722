"""A lean GPT for Bark's three networks, loading transformers' Bark state dicts unchanged.

Module names match transformers' ``BarkCausalModel`` / ``BarkFineModel`` so their state dicts load as-is
(``load_state_dict(..., assign=True)`` shares the tensors, no copy). Compared with transformers this keeps a
preallocated KV cache that survives across calls (the coarse stage reuses it across windows), computes the
LM head only where logits are needed, and uses ``F.scaled_dot_product_attention``.

Shapes: B batch rows, T new positions, S cached+new positions, C width, nh heads, hs = C // nh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .kv_cache import KVCache, StaticCache, attention_mask


@dataclass(frozen=True)
class GPTConfig:
    n_layer: int  # transformer blocks
    n_head: int  # attention heads
    n_embd: int  # width C
    block_size: int  # positions the position embedding covers
    input_vocab_size: int
    output_vocab_size: int
    bias: bool  # biases in linears and layer norms (Bark's causal models have none)
    n_codes_total: int = 0  # fine model only: codebooks (8)
    n_codes_given: int = 0  # fine model only: index of the first codebook with an LM head (1)

    @classmethod
    def from_dict(cls, config: dict, fine: bool = False) -> GPTConfig:
        """From a checkpoint's sub-model config (its keys, with transformers' defaults for missing ones)."""
        return cls(
            n_layer=config.get("num_layers", 12),
            n_head=config.get("num_heads", 12),
            n_embd=config.get("hidden_size", 768),
            block_size=config.get("block_size", 1024),
            input_vocab_size=config.get("input_vocab_size", 10_048),
            output_vocab_size=config.get("output_vocab_size", 10_048),
            bias=config.get("bias", True),
            n_codes_total=config.get("n_codes_total", 8) if fine else 0,
            n_codes_given=config.get("n_codes_given", 1) if fine else 0,
        )


class SelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.att_proj = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)

    def forward(
        self, x, layer: int = 0, cache: KVCache | None = None, mask=None, is_causal: bool = False, last_only: bool = False
    ):
        B, T, C = x.shape
        # As few ops as possible: a decode step is short enough that each op's dispatch shows.
        qkv = self.att_proj(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
        q = qkv[0]
        if cache is None:
            k, v = qkv[1], qkv[2]
        else:
            end = cache.length + T
            kv = cache.kv[layer]  # (2, B, nh, capacity, hs)
            kv[:, :, :, cache.length : end] = qkv[1:]
            k, v = kv[:, :, :, :end]  # (B, nh, S, hs) each
        if last_only:
            # Keys and values of every position are cached, but only the last one's output is wanted. It
            # may see every key: the causal mask becomes the padding mask's last row, or none.
            q, T, is_causal = q[:, :, -1:], 1, False
            mask = None if mask is None else mask[..., -1:, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)  # (B, nh, T, hs)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))

    def step_static(self, x, layer: int, cache: StaticCache, residual):
        """``residual`` + attention of one position (B, 1, C) at ``cache.length_t`` over the whole buffer,
        under the cache's mask."""
        B, T, C = x.shape
        qkv = self.att_proj(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)  # (3, B, nh, 1, hs)
        kv = cache.kv[layer]  # (2, B, nh, capacity, hs)
        kv.index_copy_(3, cache.length_t, qkv[1:])
        y = F.scaled_dot_product_attention(qkv[0], kv[0], kv[1], attn_mask=cache.mask)  # (B, nh, 1, hs)
        return linear_add(self.out_proj, y.transpose(1, 2).reshape(B, T, C), residual)


def linear_add(linear: nn.Module, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``residual + linear(x)``; for a plain bias-free linear, one matmul that adds as it writes (a decode
    step is many small kernels: each one saved shows)."""
    if type(linear) is nn.Linear and linear.bias is None:
        shape = residual.shape
        return torch.addmm(residual.reshape(-1, shape[-1]), x.reshape(-1, x.shape[-1]), linear.weight.t()).view(shape)
    return residual + linear(x)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.in_proj = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.out_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()

    def forward(self, x):
        return self.out_proj(self.gelu(self.in_proj(x)))


def embedding(num: int, width: int) -> nn.Embedding:
    """An ``nn.Embedding`` (num, width) without its random init, which the checkpoint's weights replace
    anyway: ``normal_`` on the meta device (build_gpt) imports torch._dynamo, about 1 s of every process."""
    return nn.Embedding(num, width, _weight=torch.empty(num, width))


class Block(nn.Module):
    def __init__(self, config: GPTConfig, bias: bool):
        super().__init__()
        self.layernorm_1 = nn.LayerNorm(config.n_embd, bias=bias)
        self.attn = SelfAttention(config)
        self.layernorm_2 = nn.LayerNorm(config.n_embd, bias=bias)
        self.mlp = MLP(config)

    def forward(
        self, x, layer: int = 0, cache: KVCache | None = None, mask=None, is_causal: bool = False, last_only: bool = False
    ):
        """(B, T, C) -> (B, T, C), or (B, 1, C) for the last position alone with ``last_only``."""
        y = self.attn(self.layernorm_1(x), layer, cache, mask, is_causal, last_only)
        x = (x[:, -1:] if last_only else x) + y
        return x + self.mlp(self.layernorm_2(x))

    def step_static(self, x, layer: int, cache: StaticCache):
        x = self.attn.step_static(self.layernorm_1(x), layer, cache, residual=x)
        mlp = self.mlp
        return linear_add(mlp.out_proj, mlp.gelu(mlp.in_proj(self.layernorm_2(x))), x)


class CausalGPT(nn.Module):
    """Bark's semantic and coarse networks: a causal GPT with a KV cache kept by the caller."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.input_embeds_layer = embedding(config.input_vocab_size, config.n_embd)
        self.position_embeds_layer = embedding(config.block_size, config.n_embd)
        self.layers = nn.ModuleList([Block(config, config.bias) for _ in range(config.n_layer)])
        self.layernorm_final = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.output_vocab_size, bias=False)
        self.head_slices = nn.ModuleDict()  # "start_end" -> rows start:end of lm_head (see add_head_slices)

    def add_head_slices(self, vocab_ranges) -> None:
        """Give the rows ``start:end`` of the LM head, for each (start, end), a linear of their own.

        The coarse stage samples one codebook's 1,024 codes per step, a twelfth of its 12,096-row head;
        ``forward(..., vocab=(start, end))`` then reads only those rows. They are separate modules so that
        packing and int8 treat them like any other linear. Views of the head: no copy until a dtype change.
        """
        for start, end in vocab_ranges:
            part = nn.Linear(self.config.n_embd, end - start, bias=False, device="meta")
            part.weight = nn.Parameter(self.lm_head.weight[start:end], requires_grad=False)
            self.head_slices[f"{start}_{end}"] = part

    def new_cache(self, batch: int, capacity: int, pad_left: torch.Tensor | None = None) -> KVCache:
        weight = self.position_embeds_layer.weight  # an embedding: never replaced by a packed linear
        capacity = min(capacity, self.config.block_size)
        return KVCache(self.config, batch, capacity, weight.device, weight.dtype, pad_left)

    def new_static_cache(self, batch: int, capacity: int) -> StaticCache:
        weight = self.position_embeds_layer.weight
        # Not capped at block_size: a generation's last step feeds its token (unused) one past the end.
        # A multiple of 16 positions: the memory-efficient attention kernel reads its mask in aligned rows.
        return StaticCache(self.config, batch, -(-capacity // 16) * 16, weight.device, weight.dtype)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.input_embeds_layer(tokens)  # (B, T) -> (B, T, C)

    def step_static(self, tokens: torch.Tensor, cache: StaticCache, vocab: tuple[int, int] | None = None) -> torch.Tensor:
        """One decode step with static shapes: ``tokens`` (B, 1) at position ``cache.length_t`` of every row;
        float32 logits (B, V) (or one ``vocab`` slice) for the next position. Advances ``cache.length_t`` in
        place, not the host's ``cache.length``: no host sync, so a CUDA graph can replay it."""
        # (B, 1): each row counts from its first token; capped for that unused step past the end.
        pos = (cache.length_t - cache.pad).clamp(0, self.config.block_size - 1)[:, None]
        x = self.embed(tokens) + self.position_embeds_layer(pos)  # (B, 1, C)
        cache.mask.index_fill_(-1, cache.length_t, 0.0)  # every row may now see this position
        for i, block in enumerate(self.layers):
            x = getattr(block, "block", block).step_static(x, i, cache)  # a NativeBlock's own Block
        cache.length_t.add_(1)
        return self._logits(x[:, -1], vocab)

    def _logits(self, x: torch.Tensor, vocab: tuple[int, int] | None) -> torch.Tensor:
        x = self.layernorm_final(x)
        if vocab is None:
            return self.lm_head(x).float()
        key = f"{vocab[0]}_{vocab[1]}"
        if key in self.head_slices:
            return self.head_slices[key](x).float()
        return self.lm_head(x)[..., vocab[0] : vocab[1]].float()

    def forward(
        self, embeds: torch.Tensor, cache: KVCache, all_logits: bool = False, vocab: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """Run T new positions (B, T, C) after the cached ones; return float32 logits.

        Logits are (B, V) for the last position, or (B, T, V) with ``all_logits``; with ``vocab=(start,
        end)`` only that slice of the vocabulary (V = end - start).
        """
        B, T, _ = embeds.shape
        if cache.length + T > cache.capacity:
            raise ValueError(f"KV cache full: {cache.length} + {T} > {cache.capacity}")
        device = embeds.device
        pos = torch.arange(cache.length, cache.length + T, device=device)[None]  # (1, T)
        if cache.pad_left is not None:
            pos = (pos - cache.pad_left[:, None]).clamp(min=0)  # (B, T): each row counts from its first token
        x = embeds + self.position_embeds_layer(pos)
        mask = attention_mask(cache, T, device)
        # Plain causal prefill: SDPA's own causal path is faster than an explicit mask.
        is_causal = cache.pad_left is None and cache.length == 0 and T > 1
        if is_causal:
            mask = None
        # A prefill wanting one position's logits runs the last block for that position alone (its keys and
        # values still all go to the cache): most of the last block's work saved on every window prefill.
        last_only = not all_logits and T > 1
        for i, block in enumerate(self.layers):
            x = block(x, i, cache, mask, is_causal, last_only and i == len(self.layers) - 1)
        cache.length += T
        return self._logits(x if all_logits else x[:, -1], vocab)


class FineGPT(nn.Module):
    """Bark's fine network: non-causal, one embedding per codebook, one LM head per predicted codebook."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.input_embeds_layers = nn.ModuleList(
            [embedding(config.input_vocab_size, config.n_embd) for _ in range(config.n_codes_total)]
        )
        self.position_embeds_layer = embedding(config.block_size, config.n_embd)
        # Bark's fine model has layer-norm biases even though its linears follow config.bias.
        self.layers = nn.ModuleList([Block(config, True) for _ in range(config.n_layer)])
        self.layernorm_final = nn.LayerNorm(config.n_embd)
        self.lm_heads = nn.ModuleList(
            [
                nn.Linear(config.n_embd, config.output_vocab_size, bias=False)
                for _ in range(config.n_codes_given, config.n_codes_total)
            ]
        )

    def forward(self, codes: torch.Tensor, codebook: int) -> torch.Tensor:
        """Logits (B, T, V) float32 for ``codebook`` given codes (B, T, n_codes) of the codebooks before it."""
        T = codes.shape[1]
        x = sum(self.input_embeds_layers[j](codes[:, :, j]) for j in range(codebook + 1))  # (B, T, C)
        x = x + self.position_embeds_layer(torch.arange(T, device=codes.device))[None]
        for block in self.layers:
            x = block(x)
        return self.lm_heads[codebook - self.config.n_codes_given](self.layernorm_final(x)).float()


# transformers keeps a causal-mask buffer per attention layer; we build masks on the fly.
_UNUSED_KEYS = re.compile(r"(^|\.)attn\.bias$")


def build_gpt(config: GPTConfig, state: dict[str, torch.Tensor]) -> CausalGPT | FineGPT:
    """Our network holding ``state`` (a Bark sub-model's weights under transformers' names), not copied."""
    cls = FineGPT if config.n_codes_total else CausalGPT
    with torch.device("meta"):
        ours = cls(config)
    state = {k: v for k, v in state.items() if not _UNUSED_KEYS.search(k)}
    if isinstance(ours, FineGPT):
        # Each fine head is tied to the next codebook's input embedding and so absent from checkpoint files.
        for i in range(config.n_codes_total - config.n_codes_given):
            state.setdefault(f"lm_heads.{i}.weight", state[f"input_embeds_layers.{i + 1}.weight"])
    ours.load_state_dict(state, strict=True, assign=True)
    return ours.eval().requires_grad_(False)


def from_transformers(module: nn.Module) -> CausalGPT | FineGPT:
    """Our network sharing the weights of a transformers Bark sub-model (no copy)."""
    config = GPTConfig.from_dict(module.config.to_dict(), fine=hasattr(module, "lm_heads"))
    state = dict(module.state_dict())
    if hasattr(module, "lm_heads"):
        for i, head in enumerate(module.lm_heads):
            state[f"lm_heads.{i}.weight"] = head.weight
    return build_gpt(config, state)
