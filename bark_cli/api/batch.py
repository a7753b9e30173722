"""`batch`: many items rendered unattended, resumable and safe to run from cron.

Before anything renders, every item's files are placed and checked (batch/outputs.py: inside --out-dir,
symlinks resolved; away from bark's own files and the inputs; no two items on one file). Then, for each
window of ``--batch-size`` items: take each item's lock (another run holding it: "locked"), skip items
whose output already matches their inputs ("skipped"), plan the rest into segments, and hand them all to
the pipeline as one set of recordings (pipeline/: the cache, the first segments that become voices,
shared stage batches). Each item is written atomically as soon as its last segment is done, with a record
in OUT_DIR/.bark/ naming its inputs. Whatever goes wrong with one item (its text, voice, files, lock, a
full disk) fails that item alone; a damaged record counts as missing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.formats import AudioFormat, audio_format, make_tags, write_audio
from ..audio.joins import Joiner
from ..audio.subtitles import write_subtitles
from ..batch.cache import SegmentCache, content_key, voice_digest
from ..batch.inputs import Item
from ..batch.manifest import ItemLog, Summary
from ..batch.outputs import FilePlan, ItemFiles, clear_damaged, state_directory
from ..constants import SAMPLE_RATE
from ..errors import BarkError, InvalidOptionError, OutputError
from ..files import atomic_open, check_writable, stale_temporaries
from ..options import ClusterOptions, GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions
from ..pipeline import Pipeline, Recording
from ..progress import NullProgress, Progress
from ..schema import key_values
from ..text.segmenter import TextSegment
from .say import check_text, language_of, log_flagged

STATE_DIR = ".bark"  # inside --out-dir: per-output locks and records of what each output was made from
ITEM_ERRORS = (BarkError, OSError, ValueError, MemoryError)  # what fails one item, not the run

log = logging.getLogger("bark_cli")


@dataclass
class _Work:
    """An item being rendered in this window."""

    item: Item
    files: ItemFiles
    key: str  # of everything its output is made from (its record holds it)
    lock: object
    segments: list[TextSegment]
    recording: Recording
    joiner: Joiner
    fmt: AudioFormat  # the output's extension's, as with -o; else --format's
    chunks: list[np.ndarray] = field(default_factory=list)
    generated: int = 0  # segments generated now (the rest came from the cache)
    retaken: int = 0  # segments the quality gate had generated again
    flagged: list[int] = field(default_factory=list)  # segments (0-based) that still fail a check


def on_cluster(runtime: RuntimeOptions, cluster: ClusterOptions):
    """The runtime and synthesizer of a run: locally (None: the pipeline loads the networks) or, with
    --ray, the workers' runtime and a synthesizer that sends the batches to them."""
    if cluster.ray is None:
        if cluster.workers != 1 or cluster.gpus_per_worker:
            raise InvalidOptionError("--workers and --gpus-per-worker need --ray")
        return runtime, None
    from ..cluster.workers import RaySynthesizer, connect, worker_runtime

    runtime = worker_runtime(runtime, cluster)
    connect(cluster)
    return runtime, RaySynthesizer(runtime, cluster)


class BatchRunner:
    def __init__(
        self,
        out_dir: Path,
        fmt: AudioFormat,
        generation: GenerationOptions,
        runtime: RuntimeOptions,
        render: RenderOptions,
        out: OutputOptions = OutputOptions(),
        quality: QualityOptions = QualityOptions(),
        *,
        force: bool = False,
        subtitles: str | None = None,
        manifest: Path | None = None,
        log: Callable[[dict], None] = lambda event: None,
        progress: Progress = NullProgress(),
        cache: SegmentCache | None = None,
        inputs: tuple[Path, ...] = (),
        window: int | None = None,
        in_flight: int | None = None,
        cluster: ClusterOptions = ClusterOptions(),
    ):
        """``inputs``: the input files, which no output may overwrite; ``window``: items rendered together
        (default --batch-size; `bark book` renders one chapter at a time, so one chapter's audio is held);
        ``in_flight``: windows rendered at once (default: one here, a few per worker on a Ray cluster);
        ``cluster``: with ``ray`` set, the stage batches run on a Ray cluster's workers (cluster/).
        Raises OutputError, before any work, when the state directory or the manifest cannot be written."""
        self.out_dir, self.fmt, self.generation, self.render, self.out = out_dir, fmt, generation, render, out
        self.quality = quality
        self.force, self.subtitles, self.log, self.progress = force, subtitles, log, progress
        # The same windows on a Ray cluster as here: which segments share a batch can move their last bits
        # (pipeline/__init__.py), so the bytes stay a local run's whatever the number of workers.
        self.window = window or render.batch_size
        self.model = runtime.model
        cache = None if render.no_cache else cache or SegmentCache()
        runtime, synthesizer = on_cluster(runtime, cluster)
        self.in_flight = in_flight or (synthesizer.windows if synthesizer is not None else 1)
        self.pipeline = Pipeline(runtime, cache, progress, reuse=not force, synthesizer=synthesizer, retakes=quality.retakes)
        self.manifest = manifest or out_dir / "manifest.jsonl"
        self.state = out_dir / STATE_DIR
        for directory in (self.state, self.state / "locks", self.state / "done"):
            state_directory(directory)
        check_writable(self.manifest, "cannot write the manifest")
        reserved = {path: f"the input {path}" for path in inputs}
        if os.path.realpath(self.manifest) in {os.path.realpath(p) for p in reserved}:
            raise OutputError(f"--manifest {self.manifest} is also an input file")
        self.plan = FilePlan(out_dir, self.state, {**reserved, self.manifest: "the manifest"})
        self.files: dict[int, ItemFiles] = {}
        self.summary = Summary()
        self.item_log = ItemLog(self.manifest, self.summary, log)

    # --- per item ------------------------------------------------------------------------------------
    def _item_key(self, item: Item, voice, options: GenerationOptions, fmt: AudioFormat) -> str:
        """Everything the item's output file is made from: its text, voice content and every option
        declared with ``key`` (options.py), with the runtime's resolved (pipeline.Pipeline.runtime_key)."""
        fields = {
            **self.pipeline.runtime_key, **key_values(options), **key_values(self.render), **key_values(self.out),
            **key_values(self.quality),
            "seed": options.seed, "voice": voice_digest(voice), "text": item.text,
            "format": dataclasses.asdict(fmt), "subtitles": self.subtitles,
        }  # fmt: skip
        return content_key(fields)

    def _record(self, files: ItemFiles) -> Path:
        return self.state / "done" / (files.state + ".json")

    def _recorded_key(self, files: ItemFiles) -> str | None:
        """The key in the output's record; None when there is none, or it is damaged (then logged)."""
        path = self._record(files)
        try:
            key = json.loads(path.read_text(encoding="utf-8"))["key"]
            if isinstance(key, str):
                return key
            why = "its key is not text"
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:  # unreadable, not UTF-8 or JSON, no key
            why = f"{type(exc).__name__}: {exc}"
        log.warning("warning: damaged record %s (%s): rendering %s again", path, why, files.output.name)
        return None

    def _start(self, item: Item) -> _Work | None:
        """Lock and plan one item, or finish it here (failed, locked or skipped)."""
        from filelock import FileLock, Timeout

        from ..voices.library import resolve_voice

        if item.error:
            self.item_log.finish(item, "failed", error=item.error)
            return None
        files = self.files[item.number]
        lock = None
        try:
            lock_path = self.state / "locks" / (files.state + ".lock")
            if lock_path.is_symlink() or (lock_path.exists() and not lock_path.is_file()):
                raise OutputError(f"lock {lock_path} is not a regular file; remove it")
            lock = FileLock(str(lock_path))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                self.item_log.finish(item, "locked")
                return None
            options = dataclasses.replace(self.generation, **item.options)
            if options.seed is None:
                options = dataclasses.replace(options, seed=0)  # the seeds rule: batch's default base seed
            voice = resolve_voice(options.voice) if options.voice is not None else None
            # A JSONL "output" of x.mp3 is an mp3, as -o x.mp3 is; other names take --format (default wav).
            fmt = audio_format(Path(item.output), self.fmt.name, self.out.float32)
            key = self._item_key(item, voice, options, fmt)
            if not self.force and files.output.is_file() and self._recorded_key(files) == key:
                lock.release()
                self.item_log.finish(item, "skipped")
                return None
            check_text(item.text)
            files.output.parent.mkdir(parents=True, exist_ok=True)
            for path in (files.output, files.subtitles):
                if path is not None:
                    check_writable(path)
                    for stale in stale_temporaries(path):  # left by a killed run; we hold the lock
                        stale.unlink(missing_ok=True)
            segments = self.pipeline.plan(item.text, self.render.segment_seconds, language_of(options.voice))
            recording = Recording([s.text for s in segments], voice, options, options.seed)
            r = self.render
            joiner = Joiner(len(segments), r.sentence_silence, r.paragraph_silence, r.trim_silence, r.rate, r.gain)
            return _Work(item, files, key, lock, segments, recording, joiner, fmt)
        except ITEM_ERRORS as exc:
            if lock is not None and lock.is_locked:
                lock.release()
            self.item_log.finish(item, "failed", error=str(exc) or type(exc).__name__)
            return None

    # --- output ---------------------------------------------------------------------------------------
    def _write(self, work: _Work) -> None:
        item, files = work.item, work.files
        try:
            write_audio(files.output, np.concatenate(work.chunks), work.fmt, make_tags(item.text, self.model))
            if files.subtitles is not None:
                write_subtitles(files.subtitles, work.joiner.spans, [s.text for s in work.segments])
            record = self._record(files)
            clear_damaged(record)
            with atomic_open(record, "w", encoding="utf-8") as stream:
                json.dump({"key": work.key, "source": item.source}, stream)
            seconds = work.joiner.position / SAMPLE_RATE
            self.summary.audio_seconds += seconds
            status = "rendered" if work.generated else "cached"
            gate = {"retaken": work.retaken, "flagged_segments": work.flagged} if self.quality.retakes else {}
            self.summary.flagged += bool(work.flagged)
            self.item_log.finish(
                item, status, seconds=round(seconds, 3), segments=len(work.segments), generated=work.generated, **gate
            )
        except ITEM_ERRORS as exc:
            self.item_log.finish(item, "failed", error=str(exc) or type(exc).__name__)
        finally:
            work.lock.release()

    def _add(self, work: _Work, i: int, result) -> None:
        """Segment ``i`` of ``work`` is done: join it, report it, and write the item after its last one."""
        work.chunks.extend(work.joiner.add(result.audio, work.segments[i].paragraph_end))
        work.generated += not result.cached
        work.retaken += result.takes > 1
        if result.report is not None and not result.report.passed:
            work.flagged.append(i)
            log_flagged(i, work.segments[i].text, result, f"item {work.item.number}: ")
        if i == len(work.segments) - 1:
            self._write(work)

    def run(self, items: list[Item]) -> Summary:
        self.summary.items = len(items)
        for item in items:  # every item's files, before anything renders
            if item.error is None:
                try:
                    self.files[item.number] = self.plan.claim(item, self.subtitles)
                except ValueError as exc:
                    item.error = str(exc)
        window, span = self.window, self.window * self.in_flight
        self.progress.start("items", len(items), "items")
        for start in range(0, len(items), span):
            # ``in_flight`` windows at once (on a Ray cluster), rendered as if one after the other
            # (pipeline/rounds.py): a window's items are started, and their lines logged, when the windows
            # before it are done, as a run of one window at a time logs them.
            works, windows, held = [], [], []
            try:
                for w, begin in enumerate(range(start, min(start + span, len(items)), window)):
                    held.append([])
                    self.item_log.holding = held[w] if w else None
                    for item in items[begin : begin + window]:
                        work = self._start(item)
                        if work is not None:
                            works.append(work)
                            windows.append(w)
                self.item_log.holding = None
                released = 0  # the windows whose held lines are logged
                recordings = [w.recording for w in works]
                for r, i, result in self.pipeline.render(recordings, self.render.batch_size, windows=windows):
                    while released <= windows[r]:
                        self.item_log.release(held[released])
                        released += 1
                    self._add(works[r], i, result)
                for lines in held[released:]:
                    self.item_log.release(lines)
            except BaseException:
                self.item_log.holding = None
                for w in works:
                    if w.lock.is_locked:
                        w.lock.release()
                raise
            self.progress.advance("items", min(span, len(items) - start))
        self.progress.finish("items")
        stats = self.pipeline.stats
        self.summary.segments_generated, self.summary.segments_cached = stats.generated, stats.cached
        self.summary.segments_retaken, self.summary.segments_flagged = stats.retaken, stats.flagged
        self.summary.compute_seconds = stats.compute_seconds
        return self.summary


def batch(
    inputs: list[str],
    out_dir: Path,
    *,
    by: str | None = None,
    force: bool = False,
    subtitles: str | None = None,
    manifest: Path | None = None,
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    render: RenderOptions = RenderOptions(),
    quality: QualityOptions = QualityOptions(),
    out: OutputOptions = OutputOptions(),
    log: Callable[[dict], None] = lambda event: None,
    progress: Progress = NullProgress(),
    cluster: ClusterOptions = ClusterOptions(),
) -> Summary:
    """Render every item of ``inputs`` (text files, JSONL, "-" for stdin; see batch/inputs.py) into
    ``out_dir``; ``log`` gets one event per item. Items that fail are counted, the others rendered."""
    from ..audio.formats import STDOUT, audio_format
    from ..batch.inputs import read_items

    fmt = audio_format(STDOUT, out.format, out.float32)
    items = read_items(inputs, by, fmt.name)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create --out-dir {out_dir}: {exc.strerror or exc}") from exc
    runner = BatchRunner(
        out_dir, fmt, generation, runtime, render, out, quality, force=force, subtitles=subtitles, manifest=manifest,
        log=log, progress=progress, inputs=tuple(Path(p) for p in inputs if p != "-"), cluster=cluster,
    )  # fmt: skip
    return runner.run(items)
