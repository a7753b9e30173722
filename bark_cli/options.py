"""Every option of `bark say` and `bark batch`, declared once (see schema.py for what reads each part).

Five frozen dataclasses, each validated in one place (`schema.validate`) when built: where the networks run
(`RuntimeOptions`), how tokens are sampled (`GenerationOptions`), how long text becomes one recording
(`RenderOptions`), the quality gate (`QualityOptions`) and the audio file (`OutputOptions`). The stages get narrow views of the generation
options (`SemanticOptions`, `CoarseOptions`, `FineOptions`).

A new option is one field here plus the code that uses its value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import (
    AUDIO_FORMATS,
    DEFAULT_FINE_TEMP,
    DEFAULT_MIN_EOS_P,
    DEFAULT_MODEL,
    DEFAULT_TEXT_TEMP,
    DEFAULT_WAVEFORM_TEMP,
    MAX_SEMANTIC_STEPS,
    SEMANTIC_RATE_HZ,
)
from .audio.effects import VOLUME_PATTERN, volume_gain
from .schema import option, validate

MAX_TEMPERATURE = 5.0  # far above any useful value; catches "--text-temp 70" typos
MAX_SECONDS = MAX_SEMANTIC_STEPS / SEMANTIC_RATE_HZ  # ~15.4 s: what one semantic generation can hold
MAX_SEED = 2**63 - 1
DEFAULT_SEGMENT_SECONDS = 12.0  # Bark drifts off script on long prompts; ~15.4 s is its hard limit
MIN_SEGMENT_SECONDS = 1.0
MAX_SILENCE = 10.0  # seconds
MAX_BATCH_SIZE = 256
DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
MIN_RATE, MAX_RATE = 0.25, 4.0  # speaking rate: beyond these, speech is no longer understood
MAX_THREADS = 1024

# --help sections
RUNTIME = "Model and device"
GENERATION = "Generation"
LONG = "Long text"
QUALITY = "Quality gate"
OUTPUT = "Output"
MAX_RETAKES = 10
BOOK = "Book"
CLUSTER = "Ray cluster"
RAY_PATTERN = r"local|auto|ray://\S+|[^\s:/]+:\d+"  # what ray.init takes, "local" for a Ray of its own
MAX_WORKERS = 4096

CHAPTERS_PATTERN = r"\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*"
MIN_LUFS, MAX_LUFS = -40.0, -5.0  # integrated loudness targets worth asking for (audiobooks: -23 to -16)
DEFAULT_TRUE_PEAK = -1.0  # dBTP: the usual streaming ceiling (EBU R128 allows -1)
MIN_TRUE_PEAK = -12.0


@dataclass(frozen=True)
class RuntimeOptions:
    """Where and how the networks run."""

    model: str = option(
        DEFAULT_MODEL, "Hugging Face model id (suno/bark-small, suno/bark) or a local checkpoint directory.",
        panel=RUNTIME, pattern=r"(?s).*\S.*", expected="a Hugging Face model id or a local directory", key=True,
        metavar="ID|DIR",
    )  # fmt: skip
    device: str = option(
        "auto", "auto, cpu, cuda, cuda:N or mps.", panel=RUNTIME, pattern=DEVICE_PATTERN,
        expected="auto, cpu, cuda, cuda:N or mps", key=True, metavar="DEVICE", complete="devices",
    )  # fmt: skip
    half: bool = option(False, "Half precision: fp16 on CUDA, bf16 on CPU.", panel=RUNTIME, key=True)
    cpu_offload: bool = option(
        False, "Keep only the running stage's network on the GPU (less GPU memory, a little slower).", panel=RUNTIME
    )
    quantize: str | None = option(
        None, "int8: int8 weights for the semantic and coarse stages on the CPU (half the memory of --half; "
        "slower than --half where its native kernel runs).", panel=RUNTIME, choices=("int8",), key=True,
    )  # fmt: skip
    threads: int | None = option(
        None, "CPU threads (default: the cores no other process is keeping busy, measured at start).",
        panel=RUNTIME, low=1, high=MAX_THREADS,
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class GenerationOptions:
    """How each segment is generated: its voice and how tokens are sampled."""

    voice: str | None = option(
        None, "A voice: shipped preset (v2/en_speaker_6), saved voice name, or .npz file.", short="-v", item=True,
        complete="voices", metavar="NAME",
    )  # fmt: skip  # in cache keys by its content (batch/cache.py voice_digest), not by its name
    text_temp: float = option(
        DEFAULT_TEXT_TEMP, "Semantic stage temperature (0: greedy).", panel=GENERATION,
        low=0.0, high=MAX_TEMPERATURE, item=True, key=True,
    )  # fmt: skip
    waveform_temp: float = option(
        DEFAULT_WAVEFORM_TEMP, "Coarse stage temperature (0: greedy).", panel=GENERATION,
        low=0.0, high=MAX_TEMPERATURE, item=True, key=True,
    )  # fmt: skip
    fine_temp: float = option(
        DEFAULT_FINE_TEMP, "Fine stage temperature (0: greedy).", panel=GENERATION,
        low=0.0, high=MAX_TEMPERATURE, item=True, key=True,
    )  # fmt: skip
    top_k: int | None = option(
        None, "Sample from the k likeliest tokens only (semantic, coarse).", panel=GENERATION, low=1, item=True, key=True
    )
    top_p: float | None = option(
        None, "Nucleus sampling mass in (0, 1] (semantic, coarse).", panel=GENERATION,
        low=0.0, high=1.0, low_open=True, item=True, key=True,
    )  # fmt: skip
    min_eos_p: float = option(
        DEFAULT_MIN_EOS_P, "End speech once its probability reaches this.", panel=GENERATION,
        low=0.0, high=1.0, low_open=True, item=True, key=True,
    )  # fmt: skip
    max_seconds: float | None = option(
        None, "Longest audio per generation, up to 15.39 s.", panel=GENERATION,
        low=0.0, high=MAX_SECONDS, low_open=True, item=True, key=True,
    )  # fmt: skip
    seed: int | None = option(
        None, "Seed: the same seed, text and options give the same audio (default: random for say, shown with "
        "--verbose; 0 for batch).", panel=GENERATION, low=0, high=MAX_SEED, config=False, item=True,
    )  # fmt: skip  # in cache keys as each segment's own seed (pipeline.segment_seed)

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
class RenderOptions:
    """How long text becomes one recording, and how much is generated at once."""

    segment_seconds: float = option(
        DEFAULT_SEGMENT_SECONDS, "Target speech per segment (estimated), up to 15.39 s.", panel=LONG,
        low=MIN_SEGMENT_SECONDS, high=MAX_SECONDS, key=True,
    )  # fmt: skip
    sentence_silence: float = option(
        0.25, "Seconds of silence between segments.", panel=LONG, low=0.0, high=MAX_SILENCE, key=True
    )
    paragraph_silence: float = option(
        0.75, "Seconds of silence at a blank line.", panel=LONG, low=0.0, high=MAX_SILENCE, key=True
    )
    trim_silence: bool = option(False, "Trim each segment's leading/trailing near-silence.", panel=LONG, key=True)
    batch_size: int = option(8, "Segments generated together (longest first).", panel=LONG, low=1, high=MAX_BATCH_SIZE)
    no_cache: bool = option(
        False, "Generate every segment again: neither read nor write the segment cache.", panel=LONG
    )
    rate: float = option(
        1.0, "Speaking rate: 1.2 is 20% faster, pitch kept (FFmpeg's atempo; pauses follow).", panel=OUTPUT,
        low=MIN_RATE, high=MAX_RATE, key=True,
    )  # fmt: skip
    volume: str | None = option(
        None, "Volume: a factor (0.5) or decibels (-3dB).", panel=OUTPUT, pattern=VOLUME_PATTERN,
        expected="a factor (0.5) or decibels (-3dB)", key=True, metavar="GAIN",
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)
        volume_gain(self.volume)  # the range, which a pattern cannot say

    @property
    def gain(self) -> float:
        """The amplitude factor --volume asks for."""
        return volume_gain(self.volume)


@dataclass(frozen=True)
class QualityOptions:
    """The quality gate (quality/checks.py): each segment checked, a failing one generated again."""

    retakes: int = option(
        2, "Generate a segment that fails a check again, up to N more times, and keep the best take "
        "(0: no checks).", panel=QUALITY, low=0, high=MAX_RETAKES, key=True,
    )  # fmt: skip
    strict: bool = option(
        False, "Exit with code 8 when segments remain flagged after their retakes (the output is still "
        "written).", panel=QUALITY,
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ClusterOptions:
    """Where `bark batch` and `bark book` generate: here, or on the actors of a Ray cluster (cluster/)."""

    ray: str | None = option(
        None, "Generate on a Ray cluster: local (a Ray of its own on this machine), auto (the running "
        "cluster), or ray://HOST:PORT. Needs the ray extra (docs/SCALING.md).", panel=CLUSTER, pattern=RAY_PATTERN,
        expected="local, auto, ray://HOST:PORT or HOST:PORT", metavar="ADDRESS", config=False,
    )  # fmt: skip
    workers: int = option(
        1, "With --ray: workers (actors), each with the networks loaded once.", panel=CLUSTER, low=1, high=MAX_WORKERS, config=False
    )
    gpus_per_worker: float = option(
        0.0, "With --ray: GPUs per worker; fractions share one (0.25: four workers on a GPU; 0: CPU workers).",
        panel=CLUSTER, low=0.0, high=8.0, config=False,
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class OutputOptions:
    """The audio file's format."""

    format: str | None = option(
        None, "wav, flac, ogg or mp3: for stdout, for names without a known extension, and for bark batch's "
        "outputs (a known extension wins; otherwise wav).", panel=OUTPUT, choices=AUDIO_FORMATS, key=True,
    )  # fmt: skip
    float32: bool = option(
        False, "32-bit float WAV instead of 16-bit.", panel=OUTPUT, flag="--float", config=False, key=True
    )

    def __post_init__(self) -> None:
        validate(self)


GROUPS = (RuntimeOptions, GenerationOptions, RenderOptions, QualityOptions, OutputOptions)


@dataclass(frozen=True)
class BookOptions:
    """`bark book` only: which chapters, the lexicon, loudness and the book's tags (not in GROUPS: no other
    command takes them). ``key``: they change the assembled book (its record in the work directory)."""

    chapters: str | None = option(
        None, "Chapters to render, as listed by --list: 3-5,8.", panel=BOOK, pattern=CHAPTERS_PATTERN,
        expected="chapter numbers and ranges such as 3-5,8", config=False, key=True,
    )  # fmt: skip
    lexicon: str | None = option(
        None, "TOML pronunciation lexicon applied before segmentation (\"Nguyen\" = \"Win\").", panel=BOOK,
        config=False,
    )  # fmt: skip  # reaches the outputs through the chapters' text, which every key holds
    loudness: float | None = option(
        None, "Normalise every chapter to this integrated loudness (LUFS, ITU-R BS.1770), e.g. -18.",
        panel=BOOK, low=MIN_LUFS, high=MAX_LUFS, config=False, key=True,
    )  # fmt: skip
    true_peak: float = option(
        DEFAULT_TRUE_PEAK, "True-peak ceiling (dBTP) that --loudness never exceeds.", panel=BOOK,
        low=MIN_TRUE_PEAK, high=0.0, config=False, key=True,
    )  # fmt: skip
    acx: bool = option(
        False, "ACX limits: RMS -23 to -18 dB, peak <= -3 dB, noise floor <= -60 dB; 44.1 kHz MP3 192 kbps CBR "
        "per chapter (needs --split).", panel=BOOK, config=False, key=True,
    )  # fmt: skip
    title: str | None = option(None, "Book title (default: the book's own, or the file name).", panel=BOOK, config=False, key=True)
    author: str | None = option(None, "Author (default: the book's own).", panel=BOOK, config=False, key=True)

    def __post_init__(self) -> None:
        validate(self)


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
