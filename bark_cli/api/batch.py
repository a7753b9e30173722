"""`bark batch`: many items rendered unattended, resumable and safe to run from cron.

For each window of items: take each item's lock (another run holding it: "locked"), skip items whose
output already matches their inputs ("skipped"), split the rest into segments, then generate the
segments that are not in the cache, items' segments sharing the stage batches: first the first segment
of every item without a voice (it becomes that item's voice), then all other segments. Each item is
written atomically as soon as its segments are done, with a record beside it naming its inputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..audio.formats import AudioFormat, make_tags, write_audio
from ..batch.inputs import Item
from ..batch.cache import SegmentCache, segment_key, voice_digest
from ..constants import SAMPLE_RATE
from ..errors import BarkError
from ..files import atomic_open
from ..audio.joins import Joiner, trim_silence
from ..options import GenerationOptions, RenderOptions, RuntimeOptions
from ..pipeline import SEED_MODULUS, Segment, voice_from
from ..progress import NullProgress, Progress
from ..text.segmenter import TextSegment, split_text
from ..audio.subtitles import Cue, write_subtitles

STATE_DIR = ".bark"  # inside --out-dir: per-output locks and records of what each output was made from


@dataclass
class Summary:
    rendered: int = 0  # written, with at least one segment generated now
    cached: int = 0  # written from cached segments only
    skipped: int = 0  # output already matched its inputs
    locked: int = 0  # another run was rendering it
    failed: int = 0
    segments_generated: int = 0
    segments_cached: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0


@dataclass
class _Work:
    """An item being rendered in this window."""

    item: Item
    key: str
    lock: object
    voice: object  # Voice | None: the given voice, then the first segment's output
    options: GenerationOptions
    seed: int
    segments: list[TextSegment]
    codes: dict[int, tuple] = field(default_factory=dict)  # segment index -> (semantic, fine, audio or None)
    generated: int = 0


def segment_seed(item_seed: int, text: str) -> int:
    """A segment's seed from its own text, so editing one sentence re-renders only that segment."""
    return (item_seed + zlib.crc32(text.encode("utf-8"))) % SEED_MODULUS


class BatchRunner:
    def __init__(
        self,
        out_dir: Path,
        fmt: AudioFormat,
        generation: GenerationOptions,
        runtime: RuntimeOptions,
        render: RenderOptions,
        *,
        voice: str | None = None,
        force: bool = False,
        subtitles: str | None = None,
        manifest: Path | None = None,
        log: Callable[[dict], None] = lambda event: None,
        progress: Progress = NullProgress(),
        cache: SegmentCache | None = None,
    ):
        from ..runtime.loading import checkpoint_dir, fingerprint, half_dtype, load_tokenizer, resolve_device

        self.out_dir, self.fmt, self.generation, self.runtime, self.render = out_dir, fmt, generation, runtime, render
        self.voice, self.force, self.subtitles, self.log, self.progress = voice, force, subtitles, log, progress
        self.cache = cache or SegmentCache()
        self.manifest = manifest or out_dir / "manifest.jsonl"
        self.state = out_dir / STATE_DIR
        (self.state / "locks").mkdir(parents=True, exist_ok=True)
        (self.state / "done").mkdir(parents=True, exist_ok=True)
        device = resolve_device(runtime.device)
        dtype = half_dtype(device) if runtime.half else "float32"
        self.runtime_tag = f"{device.type}/{str(dtype).removeprefix('torch.')}"
        # With the weights (a cache hit when they are there): the fingerprint covers the weight files.
        self.model_tag = fingerprint(checkpoint_dir(runtime.model)) + ":" + runtime.model
        self.tokenizer = load_tokenizer(runtime.model)
        self.synthesizer = None  # loaded on the first segment that must be generated
        self.summary = Summary()

    # --- per item ------------------------------------------------------------------------------------
    def _options(self, item: Item) -> GenerationOptions:
        return dataclasses.replace(self.generation, **item.options)

    def _item_key(self, item: Item, voice, options: GenerationOptions, seed: int) -> str:
        fields = {
            "model": self.model_tag, "runtime": self.runtime_tag, "voice": voice_digest(voice), "text": item.text,
            "options": dataclasses.asdict(options), "seed": seed, "render": dataclasses.asdict(self.render),
            "format": dataclasses.asdict(self.fmt), "subtitles": self.subtitles,
        }  # fmt: skip
        return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _record(self, item: Item) -> Path:
        return self.state / "done" / (item.output.replace("/", "%2F") + ".json")

    def _finish(self, item: Item, status: str, **details) -> None:
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        event = {"event": "item", "item": item.number, "source": item.source, "output": item.output, "status": status}
        event.update(details)
        self.log(event)
        line = json.dumps({**event, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False) + "\n"
        with open(self.manifest, "a", encoding="utf-8") as stream:  # one short O_APPEND write per item
            stream.write(line)

    def _start(self, item: Item) -> _Work | None:
        """Lock and plan one item, or finish it here (failed, locked or skipped)."""
        from filelock import FileLock, Timeout

        from ..text.normalize import count_tokens, normalize
        from ..voices.library import resolve_voice

        if item.error:
            self._finish(item, "failed", error=item.error)
            return None
        lock = FileLock(str(self.state / "locks" / (item.output.replace("/", "%2F") + ".lock")))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            self._finish(item, "locked")
            return None
        try:
            voice_name = item.voice if item.voice is not None else self.voice
            voice = resolve_voice(voice_name) if voice_name else None
            options = self._options(item)
            seed = item.seed if item.seed is not None else (self.generation.seed or 0)
            key = self._item_key(item, voice, options, seed)
            output = self.out_dir / item.output
            record = self._record(item)
            if not self.force and output.is_file() and record.is_file() and json.loads(record.read_text()).get("key") == key:
                lock.release()
                self._finish(item, "skipped")
                return None
            if not normalize(item.text):
                raise BarkError("the text is empty")
            output.parent.mkdir(parents=True, exist_ok=True)
            for stale in output.parent.glob(f".{output.name}.*.part"):  # left by a killed run; we hold the lock
                stale.unlink(missing_ok=True)
            segments = split_text(
                item.text, lambda t: count_tokens(self.tokenizer, t), self.render.segment_seconds
            )
            return _Work(item, key, lock, voice, options, seed, segments)
        except (BarkError, OSError, ValueError) as exc:
            lock.release()
            self._finish(item, "failed", error=str(exc))
            return None

    # --- segments -------------------------------------------------------------------------------------
    def _generate(self, jobs: list[tuple[_Work, int]]) -> None:
        """Fill ``work.codes[i]`` for each (work, segment index), from the cache or generated in batches."""
        todo: dict[str, list] = {}
        for work, i in jobs:
            text = work.segments[i].text
            seed = segment_seed(work.seed, text)
            options = {k: v for k, v in dataclasses.asdict(work.options).items() if k != "seed"}
            key = segment_key(self.model_tag, self.runtime_tag, work.voice, text, options, seed)
            hit = None if self.force else self.cache.get(key)
            if hit is not None:
                work.codes[i] = (hit.semantic, hit.fine, None)
                self.summary.segments_cached += 1
            else:
                todo.setdefault(json.dumps(options, sort_keys=True), []).append((work, i, key, Segment(text, work.voice, seed)))
        for group in todo.values():
            group.sort(key=lambda job: -len(job[3].text))  # longest first: rows of a batch end together
            for start in range(0, len(group), self.render.batch_size):
                batch = group[start : start + self.render.batch_size]
                started = time.perf_counter()
                results = self._synthesizer().generate([job[3] for job in batch], batch[0][0].options, self.progress)
                self.summary.compute_seconds += time.perf_counter() - started
                for (work, i, key, _), result in zip(batch, results):
                    self.cache.put(key, result.semantic, result.fine)
                    work.codes[i] = (result.semantic, result.fine, result.audio)
                    work.generated += 1
                    self.summary.segments_generated += 1

    def _synthesizer(self):
        if self.synthesizer is None:
            from ..pipeline import Synthesizer

            self.synthesizer = Synthesizer.load(self.runtime)
        return self.synthesizer

    def _audio(self, semantic, fine, audio):
        if audio is not None:
            return audio
        from ..stages.codec import decode

        networks = self._synthesizer().networks
        with networks.on_device(networks.codec):
            return decode(networks.codec, fine)

    # --- output ---------------------------------------------------------------------------------------
    def _write(self, work: _Work) -> None:
        item = work.item
        try:
            joiner = Joiner(len(work.segments))
            chunks = []
            for i, segment in enumerate(work.segments):
                audio = self._audio(*work.codes[i])
                if self.render.trim_silence:
                    audio = trim_silence(audio)
                pause = self.render.paragraph_silence if segment.paragraph_end else self.render.sentence_silence
                chunks.extend(joiner.add(audio, pause))
            import numpy as np

            output = self.out_dir / item.output
            write_audio(output, np.concatenate(chunks), self.fmt, make_tags(item.text, self.runtime.model))
            if self.subtitles:
                cues = [Cue(a, b, s.text) for (a, b), s in zip(joiner.spans, work.segments)]
                write_subtitles(output.with_suffix("." + self.subtitles), cues)
            with atomic_open(self._record(item), "w", encoding="utf-8") as stream:
                json.dump({"key": work.key, "source": item.source}, stream)
            seconds = joiner.position / SAMPLE_RATE
            self.summary.audio_seconds += seconds
            status = "rendered" if work.generated else "cached"
            self._finish(item, status, seconds=round(seconds, 3), segments=len(work.segments), generated=work.generated)
        except (BarkError, OSError) as exc:
            self._finish(item, "failed", error=str(exc))
        finally:
            work.lock.release()

    def run(self, items: list[Item]) -> Summary:
        window = max(1, self.render.batch_size)
        self.progress.start("items", len(items), "items")
        for start in range(0, len(items), window):
            chunk = items[start : start + window]
            works = [w for w in (self._start(item) for item in chunk) if w is not None]
            try:
                # First segments of voice-less items first: each becomes its item's voice.
                self._generate([(w, 0) for w in works if w.voice is None])
                for w in works:
                    if w.voice is None:
                        semantic, fine, _ = w.codes[0]
                        w.voice = voice_from(semantic, fine)
                self._generate([(w, i) for w in works for i in range(len(w.segments)) if i not in w.codes])
            except BaseException:
                for w in works:
                    w.lock.release()
                raise
            for w in works:
                self._write(w)
            self.progress.advance("items", len(chunk))
        self.progress.finish("items")
        return self.summary

