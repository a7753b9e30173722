"""Windows rendered at once (what `bark batch --ray` does to keep its workers busy) against the same windows one
after the other (a local `bark batch`), in this process on the tiny checkpoints: the same results in the same
order, the same takes generated and found in the cache, retakes and repeated segments included
(pipeline/rounds.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bark_cli.batch.cache import SegmentCache
from bark_cli.options import GenerationOptions, RuntimeOptions
from bark_cli.pipeline import Pipeline, Recording, Synthesizer

OPTIONS = GenerationOptions(max_seconds=1.0)
RUNAWAY = GenerationOptions(max_seconds=3.0)  # on the endless checkpoint: every take runs to the cap, retaken
# Items of one window each (window of 2): "the man said hello." is a one-segment item in window 0 and the
# first segment of a two-segment item in window 1 (its twin); the item "i like pizza. the water is good." is
# rendered in windows 1 and 2, its second segment voiced by its own first one in both.
ITEMS = [
    ["the man said hello."],
    ["hello my name is suno.", "the boy said hi."],
    ["the man said hello.", "i like pizza."],
    ["i like pizza.", "the water is good."],
    ["i like pizza.", "the water is good."],
    ["the boy said hi."],
]
WINDOW = 2


def _recordings(options) -> list[Recording]:
    return [Recording(list(texts), None, options, seed=1) for texts in ITEMS]


def _one_after_another(synthesizer, cache, retakes, options=OPTIONS):
    pipeline = Pipeline(RuntimeOptions(model="given"), cache, synthesizer=synthesizer, retakes=retakes)
    recordings, out = _recordings(options), []
    for start in range(0, len(recordings), WINDOW):
        window = recordings[start : start + WINDOW]
        out += [(start + r, i, result) for r, i, result in pipeline.render(window, batch_size=2)]
    return out, pipeline.stats


def _at_once(synthesizer, cache, retakes, options=OPTIONS):
    pipeline = Pipeline(RuntimeOptions(model="given"), cache, synthesizer=synthesizer, retakes=retakes)
    windows = [r // WINDOW for r in range(len(ITEMS))]
    return list(pipeline.render(_recordings(options), batch_size=2, windows=windows)), pipeline.stats


@pytest.fixture(scope="module")
def endless_synthesizer(endless_checkpoint):
    return Synthesizer.load(RuntimeOptions(model=str(endless_checkpoint), device="cpu"))


@pytest.mark.parametrize("which,retakes", [("synthesizer", 0), ("synthesizer", 2), ("endless_synthesizer", 1)])
def test_windows_at_once_are_windows_one_after_another(request, tmp_path, which, retakes, monkeypatch):
    synthesizer = request.getfixturevalue(which)
    runtime_key = {"model": "tiny", "device": "cpu"}  # the key's runtime part, without a hub look-up
    monkeypatch.setattr(Pipeline, "runtime_key", property(lambda self: runtime_key))
    options = RUNAWAY if which == "endless_synthesizer" else OPTIONS
    alone, alone_stats = _one_after_another(synthesizer, SegmentCache(tmp_path / "a"), retakes, options)
    together, together_stats = _at_once(synthesizer, SegmentCache(tmp_path / "b"), retakes, options)
    assert [(r, i) for r, i, _ in together] == [(r, i) for r, i, _ in alone]
    for (_, _, a), (_, _, b) in zip(alone, together):
        np.testing.assert_array_equal(a.audio, b.audio)
        assert (a.cached, a.take, a.takes, a.seed) == (b.cached, b.take, b.takes, b.seed)
    assert together_stats.generated == alone_stats.generated
    assert (together_stats.cached, together_stats.retaken) == (alone_stats.cached, alone_stats.retaken)
    # The twins came from the window ahead, as the cache gave them to the later window when alone.
    got = {(r, i): result for r, i, result in together}
    assert got[2, 0].cached and not got[0, 0].cached  # "the man said hello." in window 1
    assert got[4, 0].cached and got[4, 1].cached  # item 5 repeats item 4, voice and all
    if which == "endless_synthesizer":  # every take runs away: each segment is retaken, in rounds
        assert all(result.takes == 2 for _, _, result in together)
        assert together_stats.generated == 2 * 7  # the 7 segments not repeated, two takes each


def test_without_the_cache_a_window_generates_its_own(synthesizer, monkeypatch):
    """--no-cache: one window after another generates the repeats again, and so do windows at once."""
    monkeypatch.setattr(Pipeline, "runtime_key", property(lambda self: {"model": "tiny"}))
    alone, alone_stats = _one_after_another(synthesizer, None, 0)
    together, together_stats = _at_once(synthesizer, None, 0)
    assert together_stats.generated == alone_stats.generated == sum(len(t) for t in ITEMS)
    for (_, _, a), (_, _, b) in zip(alone, together):
        np.testing.assert_array_equal(a.audio, b.audio)
