"""Our EnCodec decoder (runtime/encodec.py) against transformers' EncodecModel on the same weights."""

from __future__ import annotations

import pytest
import torch

from bark_cli.runtime.checkpoint import CODEC, read_config, read_weights, sub_state
from bark_cli.runtime.encodec import build_codec


@pytest.mark.parametrize("frames", [1, 7, 150])
def test_decoder_matches_transformers_encodec(tiny_checkpoint, oracle, frames):
    codec = build_codec(read_config(tiny_checkpoint)["codec_config"], sub_state(read_weights(tiny_checkpoint), CODEC))
    codes = torch.randint(0, 1024, (2, 8, frames), generator=torch.Generator().manual_seed(frames))
    with torch.no_grad():
        expected = oracle.codec_model.decoder(oracle.codec_model.quantizer.decode(codes.transpose(0, 1)))[:, 0]
        ours = codec(codes)
    assert ours.shape == (2, frames * 320)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


def test_the_real_24khz_shapes_and_older_weight_norm_names():
    """EnCodec 24 kHz as Bark's checkpoints hold it (32 codebooks, 2 LSTM layers, widths 32..512), with weight
    norm stored the way older files store it (weight_g / weight_v)."""
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    reference = EncodecModel(EncodecConfig()).eval()
    for layer in reference.quantizer.layers:
        layer.codebook.embed.normal_()
    state = {}
    for key, tensor in reference.state_dict().items():
        key = key.replace(".parametrizations.weight.original0", ".weight_g").replace(".parametrizations.weight.original1", ".weight_v")
        state[key] = tensor
    codec = build_codec(EncodecConfig().to_dict(), state)
    assert len(codec.quantizer.layers) == 32
    codes = torch.randint(0, 1024, (1, 8, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference.decoder(reference.quantizer.decode(codes.transpose(0, 1)))[:, 0]
        torch.testing.assert_close(codec(codes), expected, atol=1e-5, rtol=1e-4)

