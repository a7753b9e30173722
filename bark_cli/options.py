"""Options of a generation, as frozen dataclasses, validated in one place (`validate`).

Field names match the CLI flags (``--text-temp`` -> ``text_temp``). `GenerationOptions` is what a user
sets; each stage gets its own small options object derived from it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from .constants import (
    DEFAULT_FINE_TEMP,
    DEFAULT_MIN_EOS_P,
    DEFAULT_MODEL,
    DEFAULT_TEXT_TEMP,
    DEFAULT_WAVEFORM_TEMP,
    MAX_SEMANTIC_STEPS,
    SEMANTIC_RATE_HZ,
)
from .errors import InvalidOptionError

MAX_TEMPERATURE = 5.0  # far above any useful value; catches "--text-temp 70" typos
MAX_SECONDS = MAX_SEMANTIC_STEPS / SEMANTIC_RATE_HZ  # ~15.4 s: what one semantic generation can hold
MAX_SEED = 2**63 - 1
DEFAULT_SEGMENT_SECONDS = 12.0  # Bark drifts off script on long prompts; ~15.4 s is its hard limit
MIN_SEGMENT_SECONDS = 1.0
DEFAULT_SENTENCE_SILENCE = 0.25  # seconds
DEFAULT_PARAGRAPH_SILENCE = 0.75  # seconds
DEFAULT_BATCH_SIZE = 8
MAX_SILENCE = 10.0  # seconds
MAX_BATCH_SIZE = 256
QUANTIZE_CHOICES = (None, "int8")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class SemanticOptions:
    temperature: float  # 0 means greedy (argmax)
    top_k: int | None  # keep the k most likely tokens (None: all)
    top_p: float | None  # nucleus sampling mass (None: all)
    min_eos_p: float  # stop once p(end of speech) reaches this
    max_tokens: int  # semantic tokens at most (49.9 per second of audio)


@dataclass(frozen=True)
class CoarseOptions:
    temperature: float
    top_k: int | None
    top_p: float | None


@dataclass(frozen=True)
class FineOptions:
    temperature: float  # 0 means greedy


@dataclass(frozen=True)
class GenerationOptions:
    """How to sample; one field per CLI flag of the same name."""

    text_temp: float = DEFAULT_TEXT_TEMP  # semantic stage temperature
    waveform_temp: float = DEFAULT_WAVEFORM_TEMP  # coarse stage temperature
    fine_temp: float = DEFAULT_FINE_TEMP  # fine stage temperature
    top_k: int | None = None  # semantic and coarse stages
    top_p: float | None = None  # semantic and coarse stages
    min_eos_p: float = DEFAULT_MIN_EOS_P
    max_seconds: float | None = None  # per generation; None: the model's limit (~15.4 s)
    seed: int | None = None  # None: a fresh random seed (reported with -v)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def semantic(self) -> SemanticOptions:
        max_tokens = MAX_SEMANTIC_STEPS
        if self.max_seconds is not None:
            max_tokens = max(1, min(MAX_SEMANTIC_STEPS, round(self.max_seconds * SEMANTIC_RATE_HZ)))
        return SemanticOptions(self.text_temp, self.top_k, self.top_p, self.min_eos_p, max_tokens)

    @property
    def coarse(self) -> CoarseOptions:
        return CoarseOptions(self.waveform_temp, self.top_k, self.top_p)

    @property
    def fine(self) -> FineOptions:
        return FineOptions(self.fine_temp)


@dataclass(frozen=True)
class RuntimeOptions:
    """Where and how the networks run; one field per CLI flag of the same name."""

    model: str = DEFAULT_MODEL  # hub id or local directory
    device: str = "auto"  # auto | cpu | cuda[:N] | mps
    half: bool = False  # fp16 on CUDA, bf16 on CPU
    cpu_offload: bool = False  # keep only the running stage's network on the accelerator
    quantize: str | None = None  # "int8": int8 weights for the semantic and coarse networks (CPU)

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class RenderOptions:
    """How long text becomes one recording; one field per CLI flag of the same name."""

    segment_seconds: float = DEFAULT_SEGMENT_SECONDS  # target (and most) estimated speech per segment
    sentence_silence: float = DEFAULT_SENTENCE_SILENCE  # seconds of silence between segments
    paragraph_silence: float = DEFAULT_PARAGRAPH_SILENCE  # seconds of silence where a blank line was
    trim_silence: bool = False  # cut each segment's leading and trailing near-silence first
    batch_size: int = DEFAULT_BATCH_SIZE  # segments run through the stages together

    def __post_init__(self) -> None:
        validate(self)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_number(name: str, value, low: float, high: float, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidOptionError(f"{_flag(name)} must be a number, got {value!r}")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise InvalidOptionError(f"{_flag(name)} must be in {bracket}{low:.4g}, {high:.4g}], got {value:g}")


def validate(options: GenerationOptions | RuntimeOptions | RenderOptions) -> None:
    """Check every field; raise InvalidOptionError naming the flag and the allowed range."""
    if isinstance(options, RenderOptions):
        _check_number("segment_seconds", options.segment_seconds, MIN_SEGMENT_SECONDS, MAX_SECONDS)
        _check_number("sentence_silence", options.sentence_silence, 0.0, MAX_SILENCE)
        _check_number("paragraph_silence", options.paragraph_silence, 0.0, MAX_SILENCE)
        batch = options.batch_size
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH_SIZE:
            raise InvalidOptionError(f"--batch-size must be a whole number from 1 to {MAX_BATCH_SIZE}, got {batch!r}")
        return
    if isinstance(options, RuntimeOptions):
        if not isinstance(options.model, str) or not options.model.strip():
            raise InvalidOptionError("--model must name a Hugging Face model id or a local directory")
        if not DEVICE_PATTERN.match(str(options.device)):
            raise InvalidOptionError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {options.device!r}")
        if options.quantize not in QUANTIZE_CHOICES:
            raise InvalidOptionError(f"--quantize must be int8, got {options.quantize!r}")
        return
    for name in ("text_temp", "waveform_temp", "fine_temp"):
        _check_number(name, getattr(options, name), 0.0, MAX_TEMPERATURE)
    if options.top_k is not None:
        if isinstance(options.top_k, bool) or not isinstance(options.top_k, int) or options.top_k < 1:
            raise InvalidOptionError(f"--top-k must be a whole number of at least 1, got {options.top_k!r}")
    if options.top_p is not None:
        _check_number("top_p", options.top_p, 0.0, 1.0, low_open=True)
    _check_number("min_eos_p", options.min_eos_p, 0.0, 1.0, low_open=True)
    if options.max_seconds is not None:
        _check_number("max_seconds", options.max_seconds, 0.0, MAX_SECONDS, low_open=True)
    if options.seed is not None:
        if isinstance(options.seed, bool) or not isinstance(options.seed, int) or not 0 <= options.seed <= MAX_SEED:
            raise InvalidOptionError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {options.seed!r}")


def option_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]
