"""CPU forms of the GPTs' linears: oneDNN-prepacked bf16 (``--half``) and weight-only int8 (``--quantize int8``).

Each replaces ``nn.Linear`` modules in place, so the networks in gpt.py run unchanged. Shapes: (..., K)
activations to (..., N) outputs, weights (N, K).
"""

from __future__ import annotations

import torch
from torch import nn

from .gpt import MLP


class PackedLinear(nn.Module):
    """A bf16 linear whose weight oneDNN has reordered once, ahead of time, into its blocked layout.

    A plain bf16 ``F.linear`` on the CPU reorders the weight on every call; a decode step (1 to a few
    rows) then costs about twice the time to read the weight. Prepacked, it runs near that floor (same
    results, bit for bit). These are the kernels torch.compile's CPU backend emits for frozen weights.
    ``activation="gelu"`` applies the exact (erf) GELU inside the kernel: one op instead of two, and on an
    887-position prefill the separate GELU cost a fifth as much as the linear before it.
    """

    def __init__(self, linear: nn.Linear, activation: str = "none"):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), 1)
        self.bias = None if linear.bias is None else linear.bias.detach()
        self.activation = activation
        self.algorithm = "none" if activation == "gelu" else ""  # oneDNN's name for erf GELU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
    return _replace_linears(net.to(torch.bfloat16), Int8Linear)


def can_prepack() -> bool:
    """Whether this torch has the oneDNN linear kernels and they run here."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        probe = nn.Linear(8, 8, dtype=torch.bfloat16)
        return PackedLinear(probe)(torch.ones(1, 8, dtype=torch.bfloat16)).shape == (1, 8)
    except (RuntimeError, AttributeError):
        return False


def prepack_linears(net: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` of a bf16 CPU network with its prepacked form (see PackedLinear), the
    GELU of each MLP fused into the linear before it."""
    for mlp in (m for m in net.modules() if isinstance(m, MLP)):
        mlp.in_proj, mlp.gelu = PackedLinear(mlp.in_proj, activation="gelu"), nn.Identity()
    return _replace_linears(net, PackedLinear)
