"""The pipeline that `bark say` and `bark batch` both drive.

A `Recording` is one text to render (a `bark say`, or one batch item): its segments' texts, its voice,
its generation options and its base seed. `Pipeline.render` takes any number of recordings and hands
back every segment's audio, each recording's in order, taking codes from the segment cache or generating
them through semantic -> coarse -> fine -> codec on one `Synthesizer`. The rules, stated once:

- Seeds: segment seed = (base seed + CRC-32 of the segment's UTF-8 text + n) mod 2^63, where n counts the
  earlier segments of the same recording with the same text. The base seed is --seed, or a JSONL item's
  own "seed"; without one, `bark say` draws a random one (shown with -v) and `bark batch` uses 0. A
  segment's seed depends on its own text, not on its position: editing, adding or removing one sentence
  leaves every other segment's seed, and so its cached codes, as they were.
- Voice: with no voice, a recording's first segment is generated first and its own output becomes the
  voice of the others, so one text keeps one speaker while the rest stay independent and batchable.
- Batches: the segments of every recording given at once share the stage batches (rows of one batch share
  their generation options), longest first so rows of a batch end together, or in text order for
  streaming (the first audio comes sooner). Each row samples from its own generator, so a segment's codes
  do not depend on its batch.
- Cache: `segment_key` (see batch/cache.py); --no-cache neither reads nor writes it.
- Quality gate (quality/): with ``retakes``, every take is checked as it is ready; a failing one queues the
  segment's next take (its own seed, quality/takes.py), batched with whatever else is waiting and looked up
  in the cache first, so a re-run repeats no take. The best take is kept. A first segment that becomes the
  voice of the others is settled (retaken if need be) before they start.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .batch.cache import SegmentCache, content_key, voice_digest
from .options import GenerationOptions, RuntimeOptions
from .progress import NullProgress, Progress
from .quality.checks import Report, check
from .quality.takes import SEED_MODULUS, better, take_seed
from .runtime.threads import single_thread
from .schema import key_values
from .text.normalize import count_tokens, text_token_ids
from .text.segmenter import TextSegment, split_text
from .voices.voice import FIRST_SEGMENT_VOICE, Voice

if TYPE_CHECKING:
    from .runtime.loading import Networks

# torch and the stages are imported where the networks are used, not here: a `bark say` that a running
# `bark serve` renders (serve/client.py) builds its Recording with this module and never loads torch.


def segment_seeds(seed: int, texts: list[str]) -> list[int]:
    """Each segment's seed, by the seeds rule of the module docstring."""
    seen: dict[str, int] = {}
    seeds = []
    for text in texts:
        n = seen.get(text, 0)
        seen[text] = n + 1
        seeds.append((seed + zlib.crc32(text.encode("utf-8")) + n) % SEED_MODULUS)
    return seeds


@dataclass(frozen=True)
class Segment:
    """One generation's worth of text (<= 256 tokens), its voice and its own seed."""

    text: str
    voice: Voice | None = None
    seed: int = 0


@dataclass(frozen=True)
class SegmentResult:
    audio: np.ndarray  # (N * 320,) float32 at 24 kHz
    semantic: np.ndarray  # (T,) semantic tokens
    fine: np.ndarray  # (8, N) codes; fine[:2] are the coarse codes
    cached: bool = False  # the codes came from the segment cache
    seed: int | None = None  # the seed of the take kept (quality/takes.py)
    take: int = 0  # the number of the take kept (0: the first)
    takes: int = 1  # takes made of this segment
    report: Report | None = None  # the quality gate's checks of the take kept (None: gate off)


class Synthesizer:
    """The loaded networks: runs one batch of segments through every stage. ``decoding`` is how the semantic
    and coarse decode steps run (runtime/decode.py; default: the best path for the device)."""

    def __init__(self, networks: Networks, decoding: str | None = None):
        from .runtime.decode import DECODE_MODES, default_mode

        self.networks = networks
        self.decoding = decoding or default_mode(networks.device)
        if self.decoding not in DECODE_MODES or (self.decoding == "graph" and networks.device.type != "cuda"):
            raise ValueError(f"decoding {self.decoding!r} on {networks.device.type}")

    @classmethod
    def load(cls, options: RuntimeOptions) -> Synthesizer:
        from .runtime.loading import load_networks

        return cls(load_networks(options))

    @property
    def tokenizer(self):
        return self.networks.tokenizer

    def token_ids(self, text: str) -> np.ndarray:
        return text_token_ids(self.networks.tokenizer, text)

    def generate(
        self, segments: list[Segment], options: GenerationOptions, progress: Progress = NullProgress()
    ) -> list[SegmentResult]:
        """Run all ``segments`` through every stage as one batch; results in the same order."""
        from .runtime.decode import attention_kernels
        from .stages.coarse import generate_coarse
        from .stages.fine import generate_fine
        from .stages.sampling import make_generators
        from .stages.semantic import generate_semantic

        nets = self.networks
        ids = [self.token_ids(s.text) for s in segments]
        voices = [s.voice for s in segments]
        generators = make_generators([s.seed for s in segments], nets.device)
        mode = self.decoding
        with attention_kernels(nets.device):
            with nets.on_device(nets.semantic):
                semantic = generate_semantic(nets.semantic, ids, voices, options.semantic, generators, progress, mode)
            with nets.on_device(nets.coarse):
                coarse = generate_coarse(nets.coarse, semantic, voices, options.coarse, generators, progress, mode)
            with nets.on_device(nets.fine):
                fine = generate_fine(nets.fine, coarse, voices, options.fine, generators, progress)
        progress.start("codec", len(fine), "segments")
        audio = []
        for codes in fine:
            audio.append(self.decode(codes))
            progress.advance("codec")
        progress.finish("codec")
        return [SegmentResult(a, s, f) for a, s, f in zip(audio, semantic, fine)]

    parallel = 1  # batches formed per round of Pipeline._fill (cluster/workers.py's takes all at once)

    def generate_many(
        self, batches: list[tuple[list[Segment], GenerationOptions]], progress: Progress = NullProgress()
    ) -> Iterator[list[SegmentResult]]:
        """Each batch's results, in order, as each is done (here: one after the other)."""
        for segments, options in batches:
            yield self.generate(segments, options, progress)

    def peak_gpu_mib(self) -> float | None:
        """The most GPU memory held at once so far (MiB), on CUDA; None elsewhere."""
        device = self.networks.device
        if device.type != "cuda":
            return None
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20

    def decode(self, fine: np.ndarray) -> np.ndarray:
        from .stages.codec import decode

        threads = single_thread() if self.networks.device.type == "cpu" else contextlib.nullcontext()
        with self.networks.on_device(self.networks.codec), threads:  # same bytes whatever --threads is
            return decode(self.networks.codec, fine)


def voice_from(semantic: np.ndarray, fine: np.ndarray) -> Voice | None:
    """A segment's own output (semantic tokens, 8 codebooks) as a voice prompt; None for no speech."""
    if semantic.size == 0 or fine.shape[1] == 0:
        return None
    return Voice(FIRST_SEGMENT_VOICE, semantic, fine[:2], fine)


@dataclass
class Recording:
    """One text to render: its segments' texts, its voice (None: its first segment's), options, base seed."""

    texts: list[str]
    voice: Voice | None
    options: GenerationOptions
    seed: int
    seeds: list[int] = field(init=False)  # each segment's (the seeds rule)

    def __post_init__(self) -> None:
        self.seeds = segment_seeds(self.seed, self.texts)


@dataclass
class RenderStats:
    generated: int = 0  # takes generated through the stages (retakes included)
    cached: int = 0  # segments whose kept take came from the cache
    retaken: int = 0  # segments that needed more than one take
    flagged: int = 0  # segments whose kept take still fails a check
    compute_seconds: float = 0.0  # generating and decoding


class Pipeline:
    """Renders recordings with one checkpoint and runtime; the networks load on the first segment that needs
    them (`bark batch` with everything cached, or `bark split`, load the tokenizer only)."""

    def __init__(
        self,
        runtime: RuntimeOptions,
        cache: SegmentCache | None = None,
        progress: Progress = NullProgress(),
        reuse: bool = True,
        synthesizer: Synthesizer | None = None,
        retakes: int = 0,
    ):
        """``cache``: where segment codes are kept (None: nowhere); ``reuse`` False generates every segment
        again and refreshes the cache (bark batch --force); ``synthesizer``: networks already loaded
        with ``runtime`` (else they load when first needed); ``retakes``: the quality gate's retakes per
        segment (0: no checks)."""
        self.runtime, self.cache, self.progress, self.reuse = runtime, cache, progress, reuse
        self.retakes = retakes
        self.stats = RenderStats()
        self._synthesizer = synthesizer
        self._tokenizer = None
        self._runtime_key: dict | None = None

    @property
    def synthesizer(self) -> Synthesizer:
        if self._synthesizer is None:
            self._synthesizer = Synthesizer.load(self.runtime)
        return self._synthesizer

    @property
    def loaded(self) -> bool:
        """Whether the networks have been loaded (a run with everything cached may never need them)."""
        return self._synthesizer is not None

    @property
    def tokenizer(self):
        if self._synthesizer is not None:
            return self._synthesizer.tokenizer
        if self._tokenizer is None:
            from .runtime.loading import load_tokenizer

            self._tokenizer = load_tokenizer(self.runtime.model)
        return self._tokenizer

    def plan(self, text: str, segment_seconds: float, language: str | None = None) -> list[TextSegment]:
        """``text`` split into segments that each fit one generation (text/segmenter.py)."""
        return split_text(text, lambda t: count_tokens(self.tokenizer, t), segment_seconds, language)

    @property
    def runtime_key(self) -> dict:
        """The runtime options that decide the codes, resolved: the checkpoint's fingerprint for its name,
        the device type for "auto"."""
        if self._runtime_key is None:
            from .runtime.device import resolve_device
            from .runtime.hub import checkpoint_dir, fingerprint

            resolved = replace(
                self.runtime,
                model=fingerprint(checkpoint_dir(self.runtime.model)) + ":" + self.runtime.model,
                device=resolve_device(self.runtime.device).type,
            )
            self._runtime_key = key_values(resolved)
        return self._runtime_key

    def segment_key(self, voice: Voice | None, text: str, options: GenerationOptions, seed: int) -> str:
        """The cache key of one segment's codes (batch/cache.py)."""
        return content_key(
            {**self.runtime_key, **key_values(options), "voice": voice_digest(voice), "text": text, "seed": seed}
        )

    def render(
        self, recordings: list[Recording], batch_size: int, in_order: bool = False
    ) -> Iterator[tuple[int, int, SegmentResult]]:
        """Yield (recording index, segment index, result) for every segment, each recording's segments in
        order, each as soon as it and the ones before it are done. Voice-less recordings get their voice
        (``recording.voice``) from their first segment here."""
        done: list[dict[int, SegmentResult]] = [{} for _ in recordings]
        ready = [0] * len(recordings)
        self.progress.start("segments", sum(len(r.texts) for r in recordings), "segments")

        def flush() -> Iterator[tuple[int, int, SegmentResult]]:
            for r, results in enumerate(done):
                while ready[r] in results:
                    result = results.pop(ready[r])
                    if result.audio is None:  # from the cache: decode its codes
                        started = time.perf_counter()
                        result = replace(result, audio=self.synthesizer.decode(result.fine))
                        self.stats.compute_seconds += time.perf_counter() - started
                    yield r, ready[r], result
                    ready[r] += 1

        firsts = [(r, 0) for r, rec in enumerate(recordings) if rec.voice is None and len(rec.texts) > 1]
        for _ in self._fill(recordings, firsts, done, batch_size, in_order):
            pass
        for r, _ in firsts:
            recordings[r].voice = voice_from(done[r][0].semantic, done[r][0].fine)
        yield from flush()
        rest = [(r, i) for r, rec in enumerate(recordings) for i in range(len(rec.texts)) if i not in done[r] and i >= ready[r]]
        for _ in self._fill(recordings, rest, done, batch_size, in_order):
            yield from flush()
        self.progress.finish("segments")

    def _fill(self, recordings, rows, done, batch_size: int, in_order: bool) -> Iterator[None]:
        """Put the kept take of every (recording, segment) row into ``done``: each take from the cache when
        it is there, the others generated batch by batch; a take that fails the quality gate queues the
        segment's next take (up to ``retakes``). Yields after each step so the caller can hand results on."""
        best: dict[tuple[int, int], SegmentResult] = {}
        queue = [(r, i, 0) for r, i in rows]  # (recording, segment, take) to look up, then to generate
        todo: list[tuple[int, int, int, str | None]] = []  # (recording, segment, take, cache key) to generate
        # Rows of one batch share their options: group by them (in text order, a group per run of equal ones).
        group = {id(rec.options): str(key_values(rec.options)) for rec in recordings}
        length: dict[tuple[int, int], int] = {}
        while queue or todo:
            while queue:
                r, i, take = queue.pop(0)
                rec = recordings[r]
                seed = take_seed(rec.seeds[i], take)
                key = None if self.cache is None else self.segment_key(rec.voice, rec.texts[i], rec.options, seed)
                hit = self.cache.get(key) if key is not None and self.reuse else None
                if hit is None:
                    todo.append((r, i, take, key))
                    continue
                cached = SegmentResult(None, hit.semantic, hit.fine, cached=True)
                self._judge(recordings, r, i, take, cached, best, done, queue)
            yield
            if not todo:
                continue
            if in_order:
                todo.sort(key=lambda row: row[:3])
            else:
                for r, i, _, _ in todo:
                    length.setdefault((r, i), len(self.synthesizer.token_ids(recordings[r].texts[i])))
                todo.sort(key=lambda row: (group[id(recordings[row[0]].options)], -length[row[:2]], row[:3]))
            # A round of batches formed before any is run: one here; on a Ray cluster (cluster/) every batch of
            # ``todo``, spread over its workers. Retakes join the next round.
            batches = []
            while todo and len(batches) < self.synthesizer.parallel:
                options = recordings[todo[0][0]].options
                batch = []
                while todo and len(batch) < batch_size and group[id(recordings[todo[0][0]].options)] == group[id(options)]:
                    batch.append(todo.pop(0))
                segments = [
                    Segment(recordings[r].texts[i], recordings[r].voice, take_seed(recordings[r].seeds[i], take))
                    for r, i, take, _ in batch
                ]
                batches.append((batch, segments, options))
            started = time.perf_counter()
            ran = self.synthesizer.generate_many([(segments, options) for _, segments, options in batches], self.progress)
            for (batch, _, _), results in zip(batches, ran):
                self.stats.compute_seconds += time.perf_counter() - started
                for (r, i, take, key), result in zip(batch, results):
                    if self.cache is not None:
                        self.cache.put(key, result.semantic, result.fine)
                    self.stats.generated += 1
                    self._judge(recordings, r, i, take, result, best, done, queue)
                yield
                started = time.perf_counter()

    def _judge(self, recordings, r: int, i: int, take: int, result: SegmentResult, best, done, queue) -> None:
        """Take number ``take`` of segment ``i`` of recording ``r`` is ready: check it (with the gate on),
        keep it if it is the best so far, and either queue the next take or put the kept one into ``done``."""
        rec = recordings[r]
        result = replace(result, seed=take_seed(rec.seeds[i], take), take=take, takes=take + 1)
        if self.retakes:
            if result.audio is None:  # from the cache: the audio checks need it (and it is kept if chosen)
                started = time.perf_counter()
                result = replace(result, audio=self.synthesizer.decode(result.fine))
                self.stats.compute_seconds += time.perf_counter() - started
            report = check(result.audio, rec.texts[i], result.semantic, rec.options.semantic.max_tokens)
            result = replace(result, report=report)
            kept = best.get((r, i))
            if kept is None or better(report, kept.report):
                kept = best[(r, i)] = result
            if not report.passed and take < self.retakes:
                queue.append((r, i, take + 1))
                return
            result = replace(best.pop((r, i)), takes=take + 1)
            self.stats.retaken += take > 0
            self.stats.flagged += not result.report.passed
        done[r][i] = result
        self.stats.cached += result.cached
        self.progress.advance("segments")
