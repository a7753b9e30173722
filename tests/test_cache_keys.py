"""The cache keys hold every option that changes what is generated or written.

For each option of the schema, one segment is rendered with its default and with another value: whenever
the codes differ, the segment's cache key must differ too (else a re-run would reuse the wrong codes, as
`--quantize` once did). The key is read from the schema, so this holds for options added later.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bark_cli.options import GenerationOptions, RuntimeOptions
from bark_cli.pipeline import Pipeline, Recording
from bark_cli.schema import declared
from bark_cli.voices.library import resolve_voice
from test_options import other_value

TEXT = "hello my name is suno"
BASE = GenerationOptions(max_seconds=1, seed=3)


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory):
    from tiny_bark import build_tiny_bark

    return build_tiny_bark(tmp_path_factory.mktemp("other-bark"), seed=1)


def _codes_and_key(runtime: RuntimeOptions, options: GenerationOptions, synthesizer=None):
    pipeline = Pipeline(runtime, synthesizer=synthesizer)
    voice = resolve_voice(options.voice) if options.voice else None
    recording = Recording([TEXT], voice, options, options.seed)
    [(_, _, result)] = list(pipeline.render([recording], batch_size=1))
    return result.fine, pipeline.segment_key(voice, TEXT, options, recording.seeds[0])


def _variants(tiny_checkpoint, other_checkpoint, tiny_voice):
    """(name, runtime, generation) for every option set to another value."""
    runtime = RuntimeOptions(model=str(tiny_checkpoint), device="cpu")
    values = {"model": str(other_checkpoint), "device": "auto", "voice": str(tiny_voice)}
    for option in declared(RuntimeOptions):
        yield option.name, dataclasses.replace(runtime, **{option.name: values.get(option.name, other_value(option))}), BASE
    for option in declared(GenerationOptions):
        yield option.name, runtime, dataclasses.replace(BASE, **{option.name: values.get(option.name, other_value(option))})


def test_every_option_that_changes_the_codes_changes_the_key(tiny_checkpoint, other_checkpoint, tiny_voice, synthesizer):
    runtime = RuntimeOptions(model=str(tiny_checkpoint), device="cpu")
    codes, key = _codes_and_key(runtime, BASE, synthesizer)
    changed = []
    for name, other_runtime, options in _variants(tiny_checkpoint, other_checkpoint, tiny_voice):
        same_networks = synthesizer if other_runtime == runtime else None
        other_codes, other_key = _codes_and_key(other_runtime, options, same_networks)
        if other_codes.shape != codes.shape or not np.array_equal(other_codes, codes):
            changed.append(name)
            assert other_key != key, f"{name} changes the codes but not the cache key"
    # The check above means something: most options do change the codes.
    assert {"model", "half", "quantize", "voice", "seed", "text_temp", "waveform_temp", "fine_temp"} <= set(changed)
