"""EnCodec's decoder (SEANet, as in Meta's EnCodec and transformers' `EncodecModel`): codes -> waveform.

Only what Bark needs of the codec: the residual quantizer's codebooks (codes -> embeddings) and the decoder
(embeddings -> audio). Its own module, not transformers', so that running a checkpoint never imports
transformers (about 2 s of every `bark say` process). Module names follow transformers' so the
checkpoint's ``codec_model.decoder.*`` weights load as they are (`build_codec`); weight norm (stored as g and v) is
folded into plain weights when loaded. tests/test_encodec.py checks it against transformers' `EncodecModel`.

Shapes: B rows, D embedding width, N frames, C channels, L samples (N * 320 at the end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class CodecConfig:
    """The fields of a checkpoint's ``codec_config`` that the decoder reads."""

    hidden_size: int  # D, the codebook embedding width
    num_filters: int  # channels of the last (audio-rate) block; earlier blocks double it per ratio
    upsampling_ratios: tuple[int, ...]  # 8, 5, 4, 2: 320 samples per frame
    num_residual_layers: int
    num_lstm_layers: int
    kernel_size: int
    last_kernel_size: int
    residual_kernel_size: int
    dilation_growth_rate: int
    compress: int  # residual blocks narrow to channels // compress
    use_causal_conv: bool
    pad_mode: str  # "reflect"
    trim_right_ratio: float
    use_conv_shortcut: bool
    audio_channels: int
    codebook_size: int

    @classmethod
    def from_dict(cls, config: dict) -> CodecConfig:
        """From a checkpoint's ``codec_config`` (EnCodec 24 kHz's values where a key is missing)."""
        values = {name: config.get(name, default) for name, default in ENCODEC_24KHZ.items()}
        values["upsampling_ratios"] = tuple(values["upsampling_ratios"])
        return cls(**values)


# transformers' EncodecConfig defaults: the 24 kHz model inside Bark's checkpoints.
ENCODEC_24KHZ = dict(
    hidden_size=128, num_filters=32, upsampling_ratios=[8, 5, 4, 2], num_residual_layers=1, num_lstm_layers=2,
    kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_growth_rate=2, compress=2,
    use_causal_conv=True, pad_mode="reflect", trim_right_ratio=1.0, use_conv_shortcut=True, audio_channels=1,
    codebook_size=1024,
)


class Conv1d(nn.Module):
    """A conv padded as EnCodec pads it: causal (all padding on the left) or split, plus the extra right
    padding that makes the last window whole."""

    def __init__(self, config: CodecConfig, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, dilation=dilation)
        self.causal, self.pad_mode = config.use_causal_conv, config.pad_mode
        self.stride, self.kernel = stride, (kernel - 1) * dilation + 1  # effective kernel, dilation included
        self.padding_total = self.kernel - stride

    def forward(self, x):  # (B, C, T) -> (B, C', T')
        length = x.shape[-1]
        frames = math.ceil((length - self.kernel + self.padding_total) / self.stride + 1) - 1
        extra = frames * self.stride + self.kernel - self.padding_total - length
        left = self.padding_total if self.causal else self.padding_total - self.padding_total // 2
        right = extra if self.causal else self.padding_total // 2 + extra
        return self.conv(_pad(x, left, right, self.pad_mode))


def _pad(x, left: int, right: int, mode: str):
    """F.pad, with reflect padding allowed on inputs shorter than the padding (zeros put on the right
    first, and taken off again), as EnCodec does."""
    if mode != "reflect":
        return F.pad(x, (left, right), mode)
    extra = max(0, max(left, right) - x.shape[-1] + 1)
    padded = F.pad(F.pad(x, (0, extra)), (left, right), mode)
    return padded[..., : padded.shape[-1] - extra]


class ConvTranspose1d(nn.Module):
    def __init__(self, config: CodecConfig, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(cin, cout, kernel, stride)
        padding = kernel - stride
        self.right = math.ceil(padding * config.trim_right_ratio) if config.use_causal_conv else padding // 2
        self.left = padding - self.right

    def forward(self, x):  # (B, C, T) -> (B, C', T * stride)
        x = self.conv(x)
        return x[..., self.left : x.shape[-1] - self.right]


class LSTM(nn.Module):
    def __init__(self, config: CodecConfig, width: int):
        super().__init__()
        self.lstm = nn.LSTM(width, width, config.num_lstm_layers)

    def forward(self, x):  # (B, C, T)
        x = x.permute(2, 0, 1)  # (T, B, C)
        return (self.lstm(x)[0] + x).permute(1, 2, 0)


class ResnetBlock(nn.Module):
    def __init__(self, config: CodecConfig, width: int, dilation: int):
        super().__init__()
        hidden = width // config.compress
        self.block = nn.ModuleList([
            nn.ELU(), Conv1d(config, width, hidden, config.residual_kernel_size, dilation=dilation),
            nn.ELU(), Conv1d(config, hidden, width, 1),
        ])  # fmt: skip
        self.shortcut = Conv1d(config, width, width, 1) if config.use_conv_shortcut else nn.Identity()

    def forward(self, x):
        y = x
        for layer in self.block:
            y = layer(y)
        return self.shortcut(x) + y


class Decoder(nn.Module):
    """SEANet decoder: (B, D, N) embeddings -> (B, 1, N * 320) audio. Layer order (and so each weight's
    index in ``layers``) as in EnCodec."""

    def __init__(self, config: CodecConfig):
        super().__init__()
        scale = 2 ** len(config.upsampling_ratios)
        layers = [Conv1d(config, config.hidden_size, scale * config.num_filters, config.kernel_size)]
        layers += [LSTM(config, scale * config.num_filters)]
        for ratio in config.upsampling_ratios:
            width = scale * config.num_filters
            layers += [nn.ELU(), ConvTranspose1d(config, width, width // 2, 2 * ratio, ratio)]
            layers += [ResnetBlock(config, width // 2, config.dilation_growth_rate**j) for j in range(config.num_residual_layers)]
            scale //= 2
        layers += [nn.ELU(), Conv1d(config, config.num_filters, config.audio_channels, config.last_kernel_size)]
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Codebook(nn.Module):
    def __init__(self, config: CodecConfig):
        super().__init__()
        self.embed = nn.Parameter(torch.zeros(config.codebook_size, config.hidden_size), requires_grad=False)


class Quantizer(nn.Module):
    def __init__(self, config: CodecConfig, n_codebooks: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Module() for _ in range(n_codebooks)])
        for layer in self.layers:
            layer.codebook = Codebook(config)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(n_q, B, N) codes -> (B, D, N): the sum of each codebook's embedding of its code."""
        out = sum(F.embedding(c, layer.codebook.embed) for c, layer in zip(codes, self.layers))
        return out.permute(0, 2, 1)


class Codec(nn.Module):
    """Codes (8 codebooks at 75 frames/s) -> 24 kHz audio."""

    def __init__(self, config: CodecConfig, n_codebooks: int):
        super().__init__()
        self.quantizer = Quantizer(config, n_codebooks)
        self.decoder = Decoder(config)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, n_q, N) codes -> (B, N * 320) float audio."""
        return self.decoder(self.quantizer.decode(codes.transpose(0, 1)))[:, 0]


def build_codec(config: dict, state: dict[str, torch.Tensor]) -> Codec:
    """The codec from a checkpoint's ``codec_config`` and its ``codec_model`` weights (names without the
    prefix). Weight norm is folded in: EnCodec stores each conv as g and v (``parametrizations.weight.
    original0/1``, or ``weight_g``/``weight_v`` in older files), and weight = g * v / |v| per output
    channel (per input channel for a transposed conv: dim 0 of its weight either way)."""
    kept, norms = {}, {}
    for key, tensor in state.items():
        if key.startswith("quantizer.") and not key.endswith(".embed"):
            continue  # the codebooks' k-means statistics
        if not key.startswith(("decoder.", "quantizer.")):
            continue  # the encoder: Bark only decodes
        for suffix, part in ((".parametrizations.weight.original0", "g"), (".parametrizations.weight.original1", "v"),
                             (".weight_g", "g"), (".weight_v", "v")):  # fmt: skip
            if key.endswith(suffix):
                norms.setdefault(key[: -len(suffix)], {})[part] = tensor
                break
        else:
            kept[key] = tensor
    for module, parts in norms.items():
        kept[module + ".weight"] = torch._weight_norm(parts["v"].float(), parts["g"].float(), 0)
    n_codebooks = sum(key.endswith(".codebook.embed") for key in kept)
    with torch.device("meta"):
        codec = Codec(CodecConfig.from_dict(config), n_codebooks)
    codec.load_state_dict({k: v.float() for k, v in kept.items()}, strict=True, assign=True)
    return codec.eval().requires_grad_(False)
