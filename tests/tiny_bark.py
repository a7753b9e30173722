"""Build a tiny random-weight Bark checkpoint in the real transformers format.

The checkpoint has all four networks and a real ``BertTokenizer`` (from a small vocab file) and is saved
with ``save_pretrained``, exactly the layout of ``suno/bark-small`` on the hub, only tiny. The GPT weight
matrices are scaled up after init so the logits are sharp: with the default init (std 0.02) the logits of
a 2-layer, 32-wide network are nearly tied and two correct implementations diverge under greedy decoding
after a few tokens from 1e-6 float differences.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

# Words of the test vocabulary. Real Bark uses bert-base-multilingual-cased (119,547 entries); the ids
# only have to stay below the semantic model's text offset range, which any small vocab does.
VOCAB_WORDS = (
    "hello my name is suno and uh i like pizza laughs sighs music bonjour the a of to in it that was "
    "he for on are with as his they be at one have this from or had by word but what some we can out "
    "other were all there when up use your how said an each she which do their time if will way about "
    "many then them write would like so these her long make thing see him two has look more day could "
    "go come did number sound no most people my over know water than call first who may down side been "
    "now find any new work part take get place made live where after back little only round man year "
    "came show every good me give our under name very through just form sentence great think say help "
    "low line differ turn cause much mean before move right boy old too same tell does set three want "
    "air well also play small end put home read hand port large spell add even land here must big high "
    "such follow act why ask men change went light kind off need house picture try us again animal point"
).split()
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCTUATION = list(".,!?;:'\"-()[]♪…—") + ["##s", "##ed", "##ing", "##ly"]

# Tiny network shape shared by the three GPTs.
TINY_LAYERS = 2
TINY_HEADS = 2
TINY_WIDTH = 32
# Multiplier for the GPT weight matrices after init (see module docstring).
SHARPEN = 10.0
# Extra weight on the semantic model's end-of-speech logit row so that generations end at varied points
# (about 20 to 80 tokens greedily): the EOS rule and batches of mixed lengths are then exercised.
EOS_BOOST = 2.0


def sentence(i: int) -> str:
    """Six words of the tiny vocabulary, a different sentence for each ``i`` (texts for tests and benches)."""
    return " ".join(VOCAB_WORDS[(i * 7 + k) % len(VOCAB_WORDS)] for k in range(6)) + "."


def write_vocab(path: Path) -> None:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    digits = [str(d) for d in range(10)]
    entries = SPECIAL_TOKENS + PUNCTUATION + letters + digits + ["##" + c for c in letters + digits]
    entries += [w for w in dict.fromkeys(VOCAB_WORDS) if w not in entries]
    path.write_text("\n".join(entries) + "\n", encoding="utf-8")


def _sub_config(input_vocab: int, output_vocab: int, **extra) -> dict:
    return dict(
        block_size=1024,
        input_vocab_size=input_vocab,
        output_vocab_size=output_vocab,
        num_layers=TINY_LAYERS,
        num_heads=TINY_HEADS,
        hidden_size=TINY_WIDTH,
        dropout=0.0,
        bias=False if not extra.pop("with_bias", False) else True,
        **extra,
    )


def build_tiny_bark(directory: Path, seed: int = 0, endless: bool = False) -> Path:
    """Write a tiny random Bark checkpoint (networks, generation config, tokenizer) into ``directory``.

    ``endless``: a variant whose semantic end-of-speech logit can never win, so every generation runs to
    its token cap (the quality gate's runaway). Its semantic model has layer-norm biases (a config flag of
    real Bark checkpoints) so that one hidden unit is a constant 1 for the EOS logit to read: LayerNorm
    output is zero-mean, so without a bias no weight gives a logit of fixed sign."""
    from transformers import (
        BarkConfig,
        BarkModel,
        BertTokenizer,
        EncodecConfig,
    )
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    import transformers

    transformers.utils.logging.disable_progress_bar()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)

    config = BarkConfig(
        # Real vocab sizes: text ids are offset by 10,048 and the infer token is 129,599.
        semantic_config=_sub_config(129_600, 10_048, with_bias=endless),
        coarse_acoustics_config=_sub_config(12_096, 12_096),
        fine_acoustics_config=_sub_config(1_056, 1_056, with_bias=True, n_codes_total=8, n_codes_given=1),
        # The real codec's hop (8*5*4*2 = 320 samples) and codebooks (1,024 codes), tiny widths.
        codec_config=EncodecConfig(
            hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=1024, upsampling_ratios=[8, 5, 4, 2]
        ).to_dict(),
    )
    model = BarkModel(config).eval()
    with torch.no_grad():
        for sub in (model.semantic, model.coarse_acoustics, model.fine_acoustics):
            for name, param in sub.named_parameters():
                if param.dim() == 2 and "embeds" not in name:
                    param.mul_(SHARPEN)
        model.semantic.lm_head.weight[10_000].mul_(EOS_BOOST)
        if endless:
            model.semantic.layernorm_final.weight[0] = 0.0
            model.semantic.layernorm_final.bias[0] = 1.0  # hidden unit 0 is 1 at every position
            model.semantic.lm_head.weight[10_000] = 0.0
            model.semantic.lm_head.weight[10_000, 0] = -1e4  # the EOS logit: always -10,000
        # Coarse logits past both codebooks (ids 12,048+) are never chosen by a trained model. suno's
        # reference never considers them; transformers' alternating-codebook processor leaves them open on
        # codebook-1 steps. Zero logits keep random weights from picking them, so the two agree.
        model.coarse_acoustics.lm_head.weight[12_048:].zero_()
        # EnCodec's codebooks start at zero (a trained codec learns them), which would make the decoded audio
        # the same whatever the codes: give every code its own random embedding, so audio follows the codes.
        for layer in model.codec_model.quantizer.layers:
            layer.codebook.embed.normal_()
    model.save_pretrained(directory)
    # save_pretrained does not write the nested Bark generation config that hub checkpoints carry.
    generation_config = BarkGenerationConfig().to_dict()
    (directory / "generation_config.json").write_text(json.dumps(generation_config, indent=2), encoding="utf-8")

    write_vocab(directory / "vocab.txt")
    tokenizer = BertTokenizer(str(directory / "vocab.txt"), do_lower_case=False)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == "__main__":
    import sys

    print(build_tiny_bark(Path(sys.argv[1])))
