"""CPU forms of the GPTs' linears: oneDNN-prepacked bf16 (``--half``) and weight-only int8 (``--quantize int8``).

Each replaces ``nn.Linear`` modules in place, so the networks in gpt.py run unchanged. Shapes: (..., K)
activations to (..., N) outputs, weights (N, K).
"""

from __future__ import annotations

import torch
from torch import nn

from ..gpt import MLP, Block, CausalGPT
from ..kv_cache import KVCache
from .native import BlockWeights, NativeKernels, packed_layout_matches
from .residency import to_releasing


class PackedLinear(nn.Module):
    """A bf16 linear whose weight oneDNN has reordered once, ahead of time, into its blocked layout.

    A plain bf16 ``F.linear`` on the CPU reorders the weight on every call; a decode step (1 to a few
    rows) then costs about twice the time to read the weight. Prepacked, it runs near that floor (same
    results, bit for bit). These are the kernels torch.compile's CPU backend emits for frozen weights.
    ``activation="gelu"`` applies the exact (erf) GELU inside the kernel: one op instead of two, and on an
    887-position prefill the separate GELU cost a fifth as much as the linear before it.

    With ``native`` kernels, a single row (a batch-1 decode step) goes to bark_cli.native's kernel, which
    reads the same packed buffer faster, when oneDNN chose the layout that kernel reads.
    """

    def __init__(self, linear: nn.Linear, activation: str = "none", native: NativeKernels | None = None):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, 1)
        self.bias = None if linear.bias is None else linear.bias.detach()
        self.activation = activation
        self.algorithm = "none" if activation == "gelu" else ""  # oneDNN's name for erf GELU
        self.native = native if native is not None and packed_layout_matches(weight, self.packed) else None
        self.packed_ptr = torch.ops.mkldnn.data_ptr(self.packed) if self.native is not None else 0

    def __deepcopy__(self, memo):
        # A copy would keep this module's addresses (packed_ptr, NativeBlock's weights): copy before packing.
        raise TypeError("a prepacked network cannot be copied: copy it before prepack_linears")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.native is not None and x.numel() == self.in_features and x.dtype == torch.bfloat16:
            return self.native.linear_bf16(x, self.packed_ptr, self.bias, self.out_features, self.activation == "gelu")
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, self.activation, [], self.algorithm)


class Int8Linear(nn.Module):
    """A linear with int8 weights (one bf16 scale per output row) and bf16 activations, for the CPU.

    A batch-1 decode step reads every weight once: int8 halves the bytes of bf16. torch's weight-only
    int8 kernel measured 2x faster than prepacked bf16 for one row, slower from about six rows.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        weight = linear.weight.detach().float()  # (N, K)
        scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0  # (N,) symmetric, per output row
        self.weight = (weight / scales[:, None]).round().clamp(-127, 127).to(torch.int8)
        self.scales = scales.to(torch.bfloat16)
        self.bias = None if linear.bias is None else linear.bias.detach().to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1]
        y = torch._weight_int8pack_mm(x.reshape(-1, x.shape[-1]).to(torch.bfloat16), self.weight, self.scales)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape, -1)


def _replace_linears(net: nn.Module, make) -> nn.Module:
    """Swap every ``nn.Linear`` below ``net`` for ``make(linear)``, in place."""
    for name, child in net.named_children():
        if isinstance(child, nn.Linear):
            setattr(net, name, make(child))
        else:
            _replace_linears(child, make)
    return net


def quantize_linears(net: nn.Module) -> nn.Module:
    """Every ``nn.Linear`` of a CPU network as an `Int8Linear`; the rest of it in bf16."""
    # Without --half the network still holds the checkpoint's float32 pages: release them as they go.
    return _replace_linears(to_releasing(net, torch.device("cpu"), torch.bfloat16), Int8Linear)


def can_prepack() -> bool:
    """Whether this torch has the oneDNN linear kernels and they run here."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        probe = nn.Linear(8, 8, dtype=torch.bfloat16)
        return PackedLinear(probe)(torch.ones(1, 8, dtype=torch.bfloat16)).shape == (1, 8)
    except (RuntimeError, AttributeError):
        return False


class NativeBlock(nn.Module):
    """A prepacked `Block` whose batch-1 decode step (one position, one row) is one native call
    (``bark_block_bf16`` in kernels/decode_bf16.c); everything else goes to the block itself."""

    def __init__(self, block: Block, native: NativeKernels):
        super().__init__()
        self.block, self.native = block, native
        attn, mlp, ln1, ln2 = block.attn, block.mlp, block.layernorm_1, block.layernorm_2

        def address(tensor):  # valid while self.block holds the tensor
            return None if tensor is None else tensor.data_ptr()

        self.weights = BlockWeights(
            address(ln1.weight), address(ln1.bias), attn.att_proj.packed_ptr, address(attn.att_proj.bias),
            attn.out_proj.packed_ptr, address(attn.out_proj.bias), address(ln2.weight), address(ln2.bias),
            mlp.in_proj.packed_ptr, address(mlp.in_proj.bias), mlp.out_proj.packed_ptr, address(mlp.out_proj.bias),
            attn.out_proj.out_features, attn.n_head, ln1.eps,
        )  # fmt: skip

    @staticmethod
    def fits(block: Block) -> bool:
        """Whether the kernel takes this prepacked block: native linears, and widths the kernel handles."""
        attn, mlp = block.attn, block.mlp
        linears = (attn.att_proj, attn.out_proj, mlp.in_proj, mlp.out_proj)
        width, head = attn.out_proj.out_features, attn.out_proj.out_features // attn.n_head
        norms = (block.layernorm_1, block.layernorm_2)
        return (
            all(isinstance(linear, PackedLinear) and linear.native is not None for linear in linears)
            and mlp.in_proj.activation == "gelu"
            and width % 32 == 0 and head % 16 == 0 and head <= 256
            and all(norm.weight is not None and norm.weight.dtype == torch.bfloat16 for norm in norms)
        )  # fmt: skip

    def forward(self, x, layer: int = 0, cache: KVCache | None = None, mask=None, is_causal: bool = False, last_only: bool = False):
        if cache is None or x.shape[:2] != (1, 1) or x.dtype != torch.bfloat16 or not cache.kv.is_contiguous():
            return self.block(x, layer, cache, mask, is_causal, last_only)
        start = 0 if cache.pad_left is None else int(cache.pad_left[0])
        return self.native.block_bf16(self.weights, x, cache.kv[layer], start, cache.length)


def prepack_linears(net: nn.Module, native: NativeKernels | None = None) -> nn.Module:
    """Replace every ``nn.Linear`` of a bf16 CPU network with its prepacked form (see PackedLinear), the
    GELU of each MLP fused into the linear before it. With ``native`` kernels (bark_cli.native), one row
    goes to them: each linear's, and each causal block's whole decode step (NativeBlock)."""
    for mlp in (m for m in net.modules() if isinstance(m, MLP)):
        mlp.in_proj, mlp.gelu = PackedLinear(mlp.in_proj, activation="gelu", native=native), nn.Identity()
    net = _replace_linears(net, lambda linear: PackedLinear(linear, native=native))
    if native is not None and isinstance(net, CausalGPT):  # the fine GPT has no decode steps
        for i, block in enumerate(net.layers):
            if NativeBlock.fits(block):
                net.layers[i] = NativeBlock(block, native)
    return net
