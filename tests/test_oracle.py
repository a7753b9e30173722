"""Our stages against transformers' Bark sub-models on the same weights.

Logits agree to 1e-4 in fp32 and greedy decoding gives identical tokens, for one row and for a batch of
three rows of different lengths. transformers runs one voice per batch and pads short rows' coarse codes
with extra generated frames that its non-causal fine model then sees, so each of our batched rows is
compared with transformers run on that row alone, and the semantic and coarse stages with transformers'
own batch as well.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers.models.bark.generation_configuration_bark import (
    BarkCoarseGenerationConfig,
    BarkFineGenerationConfig,
    BarkSemanticGenerationConfig,
)

from bark_cli.stages.coarse import generate_coarse
from bark_cli.constants import SEMANTIC_PAD_TOKEN
from bark_cli.stages.fine import generate_fine
from bark_cli.options import GenerationOptions
from bark_cli.stages.sampling import make_generators
from bark_cli.stages.semantic import generate_semantic
from bark_cli.voices.voice import load_voice_file

TEXTS = ["hello my name is suno", "i like pizza [laughs] and uh the water", "bonjour"]
GREEDY = GenerationOptions(text_temp=0, waveform_temp=0, fine_temp=0, max_seconds=1.5)
MAX_TOKENS = GREEDY.semantic.max_tokens


def _configs(oracle):
    generation = oracle.generation_config
    return (
        BarkSemanticGenerationConfig(**generation.semantic_config),
        BarkCoarseGenerationConfig(**generation.coarse_acoustics_config),
        BarkFineGenerationConfig(**generation.fine_acoustics_config),
    )


def _history(voice):
    if voice is None:
        return None
    return {k: torch.from_numpy(getattr(voice, k)) for k in ("semantic_prompt", "coarse_prompt", "fine_prompt")}


def _oracle_semantic(oracle, synthesizer, texts, voice):
    semantic_config, _, _ = _configs(oracle)
    from transformers import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(oracle.name_or_path)  # transformers' own, for its own side
    tokens = tokenizer(texts, add_special_tokens=False, padding="max_length", max_length=256, return_tensors="pt")
    out = oracle.semantic.generate(
        tokens["input_ids"],
        semantic_generation_config=semantic_config,
        history_prompt=_history(voice),
        attention_mask=tokens["attention_mask"],
        do_sample=False,
        max_new_tokens=MAX_TOKENS,
        min_eos_p=GREEDY.min_eos_p,
    )
    rows = []
    for row in out.numpy():
        end = np.flatnonzero(row == SEMANTIC_PAD_TOKEN)
        rows.append(row[: end[0]] if len(end) else row)
    return rows


def _oracle_coarse(oracle, semantic_rows, voice):
    semantic_config, coarse_config, _ = _configs(oracle)
    width = max(len(r) for r in semantic_rows)
    padded = np.full((len(semantic_rows), width), SEMANTIC_PAD_TOKEN, dtype=np.int64)
    for i, r in enumerate(semantic_rows):
        padded[i, : len(r)] = r
    out, lengths = oracle.coarse_acoustics.generate(
        torch.from_numpy(padded),
        semantic_generation_config=semantic_config,
        coarse_generation_config=coarse_config,
        history_prompt=_history(voice),
        return_output_lengths=True,
        do_sample=False,
    )
    rows = []
    for row, n in zip(out.numpy(), lengths.tolist()):
        flat = row[:n] - 10_000
        codes = flat.reshape(-1, 2).T
        rows.append(codes - np.array([[0], [1024]]))
    return rows


def _oracle_fine(oracle, coarse_codes, voice):
    semantic_config, coarse_config, fine_config = _configs(oracle)
    flat = (coarse_codes + np.array([[0], [1024]])).T.reshape(1, -1) + 10_000
    out = oracle.fine_acoustics.generate(
        torch.from_numpy(flat),
        semantic_generation_config=semantic_config,
        coarse_generation_config=coarse_config,
        fine_generation_config=fine_config,
        history_prompt=_history(voice),
        temperature=None,
    )
    return out[0].numpy()


@pytest.fixture(scope="module", params=[None, "voice"], ids=["no-voice", "voice"])
def voice(request, tiny_voice):
    return None if request.param is None else load_voice_file(tiny_voice)


@pytest.fixture(params=["dynamic", "static"])
def mode(request):
    """The decode path (runtime/decode.py): rows leaving as they end, or the static steps a CUDA graph
    replays, run eagerly here."""
    return request.param


def _ours_semantic(synthesizer, texts, voice, mode="dynamic"):
    ids = [synthesizer.token_ids(t) for t in texts]
    generators = make_generators([0] * len(texts), "cpu")
    return generate_semantic(synthesizer.networks.semantic, ids, [voice] * len(texts), GREEDY.semantic, generators, mode=mode)


def test_prefill_and_cached_logits_match(synthesizer, oracle):
    net, ref = synthesizer.networks.semantic, oracle.semantic
    torch.manual_seed(0)
    tokens = torch.randint(0, 10_000, (3, 40))
    with torch.no_grad():
        expected = ref(input_ids=tokens, use_cache=False).logits  # (3, 40, V)
        cache = net.new_cache(3, 64)
        prefill = net(net.embed(tokens[:, :30]), cache, all_logits=True)
        steps = [net(net.embed(tokens[:, t : t + 1]), cache) for t in range(30, 40)]
    torch.testing.assert_close(prefill, expected[:, :30], atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.stack(steps, 1), expected[:, 30:], atol=1e-4, rtol=0)


def test_left_padded_rows_match_unpadded(synthesizer):
    """A row padded on the left (per-row voices of different lengths) gives the logits it gives alone."""
    net = synthesizer.networks.coarse
    torch.manual_seed(1)
    short, long_ = torch.randint(0, 12_000, (1, 20)), torch.randint(0, 12_000, (1, 28))
    batch = torch.cat([torch.cat([torch.zeros(1, 8, dtype=torch.long), short], 1), long_])
    with torch.no_grad():
        alone = [net(net.embed(t), net.new_cache(1, 40)) for t in (short, long_)]
        together = net(net.embed(batch), net.new_cache(2, 40, torch.tensor([8, 0])))
    torch.testing.assert_close(together, torch.cat(alone), atol=1e-4, rtol=0)


def test_fine_logits_match(synthesizer, oracle):
    torch.manual_seed(2)
    codes = torch.randint(0, 1024, (2, 1024, 8))
    with torch.no_grad():
        for codebook in (2, 7):
            expected = oracle.fine_acoustics(codebook, codes).logits
            torch.testing.assert_close(synthesizer.networks.fine(codes, codebook), expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("texts", [TEXTS[:1], TEXTS], ids=["batch1", "batch3"])
def test_semantic_greedy_tokens_match(synthesizer, oracle, voice, texts, mode):
    ours = _ours_semantic(synthesizer, texts, voice, mode)
    expected = _oracle_semantic(oracle, synthesizer, texts, voice)
    assert [len(r) for r in ours] == [len(r) for r in expected]
    if len(texts) > 1:
        assert len({len(r) for r in ours}) > 1, "the batch should mix lengths"
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)


def test_long_coarse_and_fine_match(synthesizer, oracle, voice, mode):
    """Past 10 windows the semantic window and the history slide: the kept KV cache must be dropped."""
    rng = np.random.default_rng(3)
    semantic = [rng.integers(0, 10_000, 260), rng.integers(0, 10_000, 190)]
    generators = make_generators([0] * 2, "cpu")
    ours = generate_coarse(synthesizer.networks.coarse, semantic, [voice] * 2, GREEDY.coarse, generators, mode=mode)
    expected = _oracle_coarse(oracle, semantic, voice)
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)
    # Fine over several 1,024-frame windows, rows of different lengths in one batch.
    coarse = [rng.integers(0, 1024, (2, 1900)), rng.integers(0, 1024, (2, 700))]
    fine = generate_fine(synthesizer.networks.fine, coarse, [voice] * 2, GREEDY.fine, make_generators([0] * 2, "cpu"))
    for i in range(2):
        np.testing.assert_array_equal(fine[i], _oracle_fine(oracle, coarse[i], voice))


def test_coarse_and_fine_greedy_tokens_match(synthesizer, oracle, voice, mode):
    semantic = _ours_semantic(synthesizer, TEXTS, voice, mode)
    assert len({len(r) for r in semantic}) > 1, "the batch should mix lengths"
    generators = make_generators([0] * 3, "cpu")
    ours = generate_coarse(synthesizer.networks.coarse, semantic, [voice] * 3, GREEDY.coarse, generators, mode=mode)
    batched = _oracle_coarse(oracle, semantic, voice)
    for i, row in enumerate(semantic):
        np.testing.assert_array_equal(ours[i], batched[i])
        np.testing.assert_array_equal(ours[i], _oracle_coarse(oracle, [row], voice)[0])
    fine = generate_fine(synthesizer.networks.fine, ours, [voice] * 3, GREEDY.fine, make_generators([0] * 3, "cpu"))
    for i in range(3):
        np.testing.assert_array_equal(fine[i][:2], ours[i])
        np.testing.assert_array_equal(fine[i], _oracle_fine(oracle, ours[i], voice))


def test_prepacked_bf16_linears_match_plain_bf16(synthesizer):
    """--half on the CPU swaps each linear for oneDNN's prepacked bf16 kernel: same function, bf16 rounding."""
    import copy

    from bark_cli.runtime.cpu.linears import can_prepack, prepack_linears

    if not can_prepack():
        pytest.skip("no oneDNN bf16 linear kernels in this torch build")
    plain = copy.deepcopy(synthesizer.networks.coarse).to(torch.bfloat16)
    packed = prepack_linears(copy.deepcopy(plain))
    tokens = torch.randint(0, 12_000, (2, 50), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        a = plain(plain.embed(tokens), plain.new_cache(2, 64), all_logits=True)
        b = packed(packed.embed(tokens), packed.new_cache(2, 64), all_logits=True)
    scale = a.abs().max()
    assert (a - b).abs().max() <= 0.02 * scale


def test_int8_linears_stay_close_to_fp32(synthesizer):
    """--quantize int8: per-row int8 weights; logits move by a few percent of their range, no more."""
    import copy

    from bark_cli.runtime.cpu.linears import quantize_linears

    net = synthesizer.networks.semantic
    quantized = quantize_linears(copy.deepcopy(net))
    tokens = torch.randint(0, 10_000, (2, 40), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        a = net(net.embed(tokens), net.new_cache(2, 64), all_logits=True)
        b = quantized(quantized.embed(tokens), quantized.new_cache(2, 64), all_logits=True)
    assert (a - b).abs().max() <= 0.05 * (a.max() - a.min())


@pytest.mark.parametrize("form", ["fp32", "prepacked-bf16", "int8"])
def test_codebook_head_slices_give_the_full_heads_logits(synthesizer, form):
    """The coarse stage computes only the sampled codebook's 1,024 logits: the same values as that slice
    of the whole head, in every form the networks run in."""
    import copy

    from bark_cli.constants import COARSE_CODEBOOK_VOCAB
    from bark_cli.runtime.cpu.linears import can_prepack, prepack_linears, quantize_linears

    net = copy.deepcopy(synthesizer.networks.coarse)
    assert len(net.head_slices) == len(COARSE_CODEBOOK_VOCAB)
    if form == "prepacked-bf16":
        if not can_prepack():
            pytest.skip("no oneDNN bf16 linear kernels in this torch build")
        net = prepack_linears(net.to(torch.bfloat16))
    elif form == "int8":
        net = quantize_linears(net)
    tokens = torch.randint(0, 12_000, (2, 30), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        full = net(net.embed(tokens), net.new_cache(2, 32), all_logits=True)  # (2, 30, 12,096)
        for start, end in COARSE_CODEBOOK_VOCAB:
            part = net(net.embed(tokens), net.new_cache(2, 32), all_logits=True, vocab=(start, end))
            torch.testing.assert_close(part, full[..., start:end], atol=1e-4 * full.abs().max().item(), rtol=0)
