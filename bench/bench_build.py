"""Random-weight Bark networks with the real shapes, built in memory (no hub, no files but a vocab).

Both sides of the benchmark get the same weights: every worker process builds the model from the same
seed, and ``torch.manual_seed`` + CPU init are deterministic.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

# name -> (layers, heads, width) of the three GPTs. bark-small and bark are the hub checkpoints' shapes;
# tiny is the shape of tests/tiny_bark.py (smoke tests only: its numbers mean nothing).
SHAPES = {
    "small": (12, 12, 768),
    "large": (24, 16, 1024),
    "tiny": (2, 2, 32),
}

SEMANTIC_VOCAB = (129_600, 10_048)  # (input, output): text ids are offset by 10,048; infer token 129,599
COARSE_VOCAB = (12_096, 12_096)
FINE_VOCAB = (1_056, 1_056)
SEMANTIC_EOS = 10_000  # end-of-speech row of the semantic LM head
SEMANTIC_TOKENS = 10_000  # semantic tokens 0..9,999
COARSE_CODES = (10_000, 12_048)  # coarse LM-head rows of the two codebooks (2 x 1,024 codes)

# Norm given to the LM-head rows a stage samples from. The final layer norm's output h has |h|^2 = C, so
# a row w of random direction gives logits of standard deviation |w| whatever the width: 6 (8.6 at
# temperature 0.7) puts the best of 10,000 logits ~30 above a zeroed row, whose probability is then
# ~1e-13 per step (measured). With the default init (std 0.02) the logits of a random model are nearly
# uniform, and a zeroed row (end of speech; coarse ids past both codebooks) would still be drawn about
# once per 10^4 semantic steps, or on a few % of coarse codebook-1 steps. Shapes and compute are unchanged.
ROW_NORM = 6.0

# Text for the semantic prompt (its length does not change the cost: the prompt is always 257 positions).
TEXT = "hello my name is suno and uh i like pizza"
_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?'-", *"abcdefghijklmnopqrstuvwxyz"]
_VOCAB += ["hello", "my", "name", "is", "suno", "and", "uh", "i", "like", "pizza"]


def _sub_config(size: str, vocab: tuple[int, int], **extra) -> dict:
    layers, heads, width = SHAPES[size]
    return dict(
        block_size=1024,
        input_vocab_size=vocab[0],
        output_vocab_size=vocab[1],
        num_layers=layers,
        num_heads=heads,
        hidden_size=width,
        dropout=0.0,
        bias=extra.pop("bias", False),
        **extra,
    )


def codec_config(size: str):
    from transformers import EncodecConfig

    if size == "tiny":
        # tests/tiny_bark.py's codec: the real hop (8*5*4*2 = 320 samples) and 1,024 codes, tiny widths.
        return EncodecConfig(hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=1024, upsampling_ratios=[8, 5, 4, 2])
    return EncodecConfig()  # the defaults are EnCodec 24 kHz, the codec inside the Bark checkpoints


def bark_config(size: str):
    from transformers import BarkConfig

    return BarkConfig(
        semantic_config=_sub_config(size, SEMANTIC_VOCAB),
        coarse_acoustics_config=_sub_config(size, COARSE_VOCAB),
        fine_acoustics_config=_sub_config(size, FINE_VOCAB, bias=True, n_codes_total=8, n_codes_given=1),
        codec_config=codec_config(size).to_dict(),
    )


def _set_row_norms(weight: torch.Tensor, norm: float) -> None:
    weight.mul_(norm / weight.norm(dim=1, keepdim=True))  # (rows, C): each row rescaled to ``norm``


def shape_logits(bark) -> None:
    """Make end of speech unreachable and coarse ids past both codebooks never drawn (see ROW_NORM)."""
    semantic = bark.semantic.lm_head.weight  # (10,048, C)
    _set_row_norms(semantic[:SEMANTIC_TOKENS], ROW_NORM)
    semantic[SEMANTIC_EOS].zero_()  # generation length = the token budget
    coarse = bark.coarse_acoustics.lm_head.weight  # (12,096, C)
    lo, hi = COARSE_CODES
    _set_row_norms(coarse[lo:hi], ROW_NORM)
    # transformers' alternating-codebook processor leaves ids 12,048+ open on codebook-1 steps; a trained
    # model never picks them (tests/tiny_bark.py zeroes them for the same reason).
    coarse[hi:].zero_()


@torch.no_grad()
def build_bark(size: str, seed: int = 0):
    """A transformers ``BarkModel`` (float32, eval) with random weights of the ``size`` shapes."""
    import transformers
    from transformers import BarkModel

    transformers.utils.logging.set_verbosity_error()
    torch.manual_seed(seed)
    bark = BarkModel(bark_config(size)).eval().requires_grad_(False)
    shape_logits(bark)
    return bark


@torch.no_grad()
def build_coarse(size: str, seed: int = 0):
    """The coarse network alone (transformers ``BarkCoarseModel``), for the decode-step floor."""
    from transformers import BarkCoarseConfig
    from transformers.models.bark.modeling_bark import BarkCoarseModel

    torch.manual_seed(seed)
    return BarkCoarseModel(BarkCoarseConfig(**_sub_config(size, COARSE_VOCAB))).eval().requires_grad_(False)


def tokenizer():
    """A real ``BertTokenizer`` over a small vocabulary (Bark uses bert-base-multilingual-cased; any
    vocabulary whose ids stay below the semantic model's 10,048 offset range behaves the same)."""
    from transformers import BertTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.txt"
        path.write_text("\n".join(_VOCAB) + "\n", encoding="utf-8")
        return BertTokenizer(str(path), do_lower_case=False)


def step_weight_bytes(net: torch.nn.Module) -> int:
    """Bytes of the weights one batch-1 coarse decode step has to read: every linear of the blocks
    (weights and biases) plus the 1,024 LM-head rows of the codebook it samples (bark-cli computes only
    those logits). Embeddings are looked up, not read whole."""
    total = 0
    for module in net.layers.modules():
        if isinstance(module, torch.nn.Linear):
            for p in (module.weight, module.bias):
                if p is not None:
                    total += p.numel() * p.element_size()
    head = net.lm_head.weight
    return total + 1024 * head.shape[1] * head.element_size()
