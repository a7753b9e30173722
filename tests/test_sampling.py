"""The sampling helpers every stage shares, on distributions whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch

from bark_cli.stages.sampling import draw, filter_logits, make_generators, probabilities

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


def test_temperature_zero_draws_the_argmax_without_touching_the_generators():
    probs = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    generators = make_generators([1, 2], torch.device("cpu"))
    states = [g.get_state() for g in generators]
    assert draw(probs, 0.0, generators).tolist() == [1, 0]
    assert all(torch.equal(g.get_state(), s) for g, s in zip(generators, states))


def test_draws_follow_the_distribution_and_never_pick_a_filtered_token():
    probs = probabilities(filter_logits(logits_of(0.6, 0.3, 0.1), None, 0.8), 1.0)  # the 0.1 token is out
    generator = make_generators([7], torch.device("cpu"))
    counts = torch.zeros(3)
    for _ in range(4000):
        counts[draw(probs, 1.0, generator)] += 1
    assert counts[2] == 0
    assert abs(counts[0] / 4000 - 2 / 3) < 0.03  # 0.6 / 0.9, within about 4 standard deviations


def test_each_row_draws_from_its_own_generator():
    """A row's tokens depend on its own seed only, not on the rows beside it in the batch."""
    probs = torch.full((1, 50, 1000), 1 / 1000)  # (B, T, V): many positions at once, as the fine stage draws
    alone = draw(probs, 1.0, make_generators([11], torch.device("cpu")))
    for neighbours in ([11, 3], [5, 11]):
        batch = draw(probs.expand(2, -1, -1), 1.0, make_generators(neighbours, torch.device("cpu")))
        assert torch.equal(batch[neighbours.index(11)], alone[0])
    other = draw(probs, 1.0, make_generators([12], torch.device("cpu")))
    assert not torch.equal(other, alone)


@pytest.mark.parametrize("shape", [(3, 17), (2, 5, 17)])
def test_draw_returns_one_token_per_row_or_position(shape):
    probs = torch.softmax(torch.randn(shape, generator=torch.Generator().manual_seed(0)), dim=-1)
    tokens = draw(probs, 0.7, make_generators(list(range(shape[0])), torch.device("cpu")))
    assert tokens.shape == shape[:-1] and tokens.dtype == torch.long and int(tokens.max()) < shape[-1]
