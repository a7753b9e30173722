"""The sampling helpers every stage shares, on distributions whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch

from bark_cli.stages.sampling import draw, filter_logits, make_generators, probabilities, uniforms

CPU = torch.device("cpu")

NEG = float("-inf")


def logits_of(*probs: float) -> torch.Tensor:
    return torch.tensor([[math.log(p) for p in probs]])


def test_top_p_keeps_the_smallest_set_holding_the_mass_and_the_token_that_crosses_it():
    logits = logits_of(0.5, 0.3, 0.15, 0.05)  # cumulative 0.5, 0.8, 0.95, 1.0
    for top_p, kept in ((0.45, 1), (0.75, 2), (0.9, 3), (0.99, 4), (1e-9, 1)):
        expected = [i >= kept for i in range(4)]
        assert torch.isinf(filter_logits(logits, None, top_p)[0]).tolist() == expected, top_p
    assert torch.equal(filter_logits(logits, None, 1.0), logits)  # 1: everything


def test_top_k_keeps_k_tokens_and_its_edges():
    logits = torch.tensor([[0.1, 3.0, 2.0, -1.0], [5.0, 4.0, 3.0, 2.0]])
    kept = ~torch.isinf(filter_logits(logits, 2, None))
    assert kept.tolist() == [[False, True, True, False], [True, True, False, False]]
    assert torch.equal(filter_logits(logits, 4, None), logits) and torch.equal(filter_logits(logits, 9, None), logits)
    assert (~torch.isinf(filter_logits(logits, 1, None))).sum(dim=1).tolist() == [1, 1]


def test_top_p_then_top_k_as_the_reference_orders_them():
    logits = logits_of(0.4, 0.3, 0.2, 0.1)
    kept = ~torch.isinf(filter_logits(logits, 2, 0.8))  # top-p keeps 3, top-k then 2
    assert kept.tolist() == [[True, True, False, False]]


def test_probabilities_at_a_temperature_and_at_zero():
    logits = torch.tensor([[0.0, math.log(3.0)]])
    torch.testing.assert_close(probabilities(logits, 1.0), torch.tensor([[0.25, 0.75]]))
    torch.testing.assert_close(probabilities(logits, 0.5), torch.tensor([[0.1, 0.9]]))
    # 0 (greedy) reads as 1, so the end-of-speech probability rule still sees real probabilities.
    torch.testing.assert_close(probabilities(logits, 0.0), probabilities(logits, 1.0))


def test_temperature_zero_draws_the_argmax():
    probs = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert draw(probs, 0.0, None).tolist() == [1, 0]


def test_each_row_draws_its_own_count_from_its_own_generator():
    generators = make_generators([1, 2], CPU)
    draws = uniforms(generators, [3, 5], CPU)
    assert draws.shape == (2, 5) and (draws[0, 3:] == 0).all() and (draws[:, :3] > 0).all()
    alone = [torch.rand(n, generator=g) for n, g in zip([3, 5], make_generators([1, 2], CPU))]
    assert torch.equal(draws[0, :3], alone[0]) and torch.equal(draws[1], alone[1])
    # Each generator moved on by exactly its row's count: the next stage's draws follow on from there.
    reference = make_generators([1], CPU)[0]
    torch.rand(3, generator=reference)
    assert torch.equal(generators[0].get_state(), reference.get_state())


def test_draws_follow_the_distribution_and_never_pick_a_filtered_token():
    probs = probabilities(filter_logits(logits_of(0.6, 0.3, 0.1), None, 0.8), 1.0)  # the 0.1 token is out
    draws = uniforms(make_generators([7], CPU), 4000, CPU)  # (1, 4000)
    counts = torch.zeros(3)
    for u in draws[0]:
        counts[draw(probs, 1.0, u[None])] += 1
    assert counts[2] == 0
    assert abs(counts[0] / 4000 - 2 / 3) < 0.03  # 0.6 / 0.9, within about 4 standard deviations


def test_each_row_draws_from_its_own_generator():
    """A row's tokens depend on its own seed only, not on the rows beside it in the batch."""
    probs = torch.full((1, 50, 1000), 1 / 1000)  # (B, T, V): many positions at once, as the fine stage draws
    alone = draw(probs, 1.0, uniforms(make_generators([11], CPU), 50, CPU))
    for neighbours in ([11, 3], [5, 11]):
        batch = draw(probs.expand(2, -1, -1), 1.0, uniforms(make_generators(neighbours, CPU), 50, CPU))
        assert torch.equal(batch[neighbours.index(11)], alone[0])
    other = draw(probs, 1.0, uniforms(make_generators([12], CPU), 50, CPU))
    assert not torch.equal(other, alone)


@pytest.mark.parametrize("shape", [(3, 17), (2, 5, 17)])
def test_draw_returns_one_token_per_row_or_position(shape):
    probs = torch.softmax(torch.randn(shape, generator=torch.Generator().manual_seed(0)), dim=-1)
    positions = shape[1] if len(shape) == 3 else 1
    draws = uniforms(make_generators(list(range(shape[0])), CPU), positions, CPU).reshape(shape[:-1])
    tokens = draw(probs, 0.7, draws)
    assert tokens.shape == shape[:-1] and tokens.dtype == torch.long and int(tokens.max()) < shape[-1]
