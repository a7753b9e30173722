"""The rounds of one `Pipeline.render` call: when each take is looked up, batched, generated and handed on.

A *window* is a set of recordings rendered together (`bark batch`: --batch-size items; `bark say`: one).
A window runs these steps, the same whether it is alone or beside others:

1. Two phases. "firsts": the first segments of its voice-less recordings of more than one segment; each
   such recording then takes its first segment's output as its voice. "rest": every other segment.
2. A phase is a series of rounds. A round starts with a look-up pass over the queued takes: a take found in
   the segment cache is judged by the quality gate at once (a failing one queues the segment's next take,
   looked up in the same pass); the others become the round's batches, formed all at once (rows of one batch
   share their options; longest first, or in text order for streaming) and sent together. As each batch
   comes back, its takes are cached and judged; a failing take queues the next take, for the next round.
   So which takes share a batch follows from the inputs and the cache alone, never from timing or from how
   many workers run the batches.
3. Results are handed on in each recording's order, at the points where a window alone hands them on: at
   the end of the firsts phase, then after each pass and each batch of the rest phase.

Several windows at once (`bark batch --ray`: the cluster's workers then always have batches to run) give a
run of one window after another, exactly: the same batches, bytes, log and order. A window hands on nothing
before the windows ahead of it are done. A take that a window ahead also renders (the same text, voice,
options and seed: a *twin*), which one window after another would find in the cache, is waited for rather
than generated twice.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..batch.cache import voice_digest
from ..quality.checks import check
from ..quality.takes import better, take_seed
from ..schema import key_values
from .segments import Recording, Segment, SegmentResult, voice_from

if TYPE_CHECKING:
    from .render import Pipeline

FIRSTS, REST, DONE = range(3)  # a window's phases


@dataclass(eq=False)
class Window:
    """One window's state as it goes through its phases and rounds."""

    members: list[int]  # its recordings (indices into the render's list)
    firsts: list[int]  # members whose first segment becomes their voice
    phase: int = FIRSTS
    queue: deque = field(default_factory=deque)  # (recording, segment, take) to look up
    todo: list = field(default_factory=list)  # (recording, segment, take, cache key) for the next round
    running: int = 0  # batches of its round not back yet
    waiting: int = 0  # takes of its pass waiting for their twin's
    best: dict = field(default_factory=dict)  # (recording, segment) -> the best take judged so far
    done: dict = field(default_factory=dict)  # recording -> {segment: kept result}
    ready: dict = field(default_factory=dict)  # recording -> its next segment to hand on
    out: deque = field(default_factory=deque)  # (recording, segment, result) to hand on, in order


class Rounds:
    """One render's windows, advanced together; `results` hands on (recording, segment, result)."""

    def __init__(self, pipeline: Pipeline, recordings: list[Recording], windows: list[int], batch_size: int, in_order: bool):
        self.pipeline, self.recordings, self.batch_size, self.in_order = pipeline, recordings, batch_size, in_order
        self.windows = []
        for w in sorted(set(windows)):
            members = [r for r, own in enumerate(windows) if own == w]
            firsts = [r for r in members if recordings[r].voice is None and len(recordings[r].texts) > 1]
            window = Window(members, firsts, done={r: {} for r in members}, ready={r: 0 for r in members})
            window.queue.extend((r, 0, 0) for r in firsts)
            self.windows.append(window)
        self.window_of = {r: window for window in self.windows for r in window.members}
        # Rows of one batch share their options: grouped by them (the key's text sorts the groups).
        self.group = {id(rec.options): str(key_values(rec.options)) for rec in recordings}
        self.length: dict[tuple[int, int], int] = {}  # (recording, segment) -> text tokens, for longest first
        self.sent: deque = deque()  # (window, rows, results iterator), in the order sent
        cache_read = pipeline.cache is not None and pipeline.reuse
        self.twins = self._twins() if cache_read and len(self.windows) > 1 else set()
        self.waiters: dict[str, list[tuple[int, int, int]]] = {}  # cache key -> twins' takes waiting for it
        self.settled: dict[str, SegmentResult] = {}  # cache key -> codes of a take settled now (for twins)

    def _twins(self) -> set[tuple[int, int]]:
        """The (recording, segment) rows that a window ahead also renders. A row's identity is its text,
        options, seed and voice; a voice taken from a first segment is named by that segment's identity."""
        ahead: dict[tuple, int] = {}  # identity -> the first window that renders it
        twins = set()
        for w, window in enumerate(self.windows):
            for r in window.members:
                rec = self.recordings[r]
                given = ("voice", voice_digest(rec.voice))
                first = None
                for i, text in enumerate(rec.texts):
                    voice = given if rec.voice is not None or i == 0 else ("first", first)
                    identity = (voice, text, self.group[id(rec.options)], rec.seeds[i])
                    first = identity if i == 0 else first
                    if ahead.setdefault(identity, w) < w:
                        twins.add((r, i))
        return twins

    def results(self) -> Iterator[tuple[int, int, SegmentResult]]:
        stats = self.pipeline.stats
        head = 0  # the window whose results are handed on now; those behind it wait
        while head < len(self.windows):
            for window in self.windows:
                self._advance(window)
            window = self.windows[head]
            while window.out:
                yield window.out.popleft()
            if window.phase == DONE:
                head += 1
            elif self.sent:
                window, rows, results = self.sent.popleft()
                started = time.perf_counter()
                ran = next(results)
                stats.compute_seconds += time.perf_counter() - started
                self._receive(window, rows, ran)
            else:
                self._unblock()

    def _unblock(self) -> None:
        """Nothing is running, yet a window waits: its twin's take will never come (a cache entry that
        vanished under us). Generate the waiting takes; a run must not hang on a lost bet."""
        waiting = [(r, i, take, key) for key, takes in self.waiters.items() for r, i, take in takes]
        if not waiting:
            raise RuntimeError("the render stalled with nothing to run (a bug: please report it)")
        self.waiters.clear()
        for r, i, take, key in waiting:
            window = self.window_of[r]
            window.waiting -= 1
            window.todo.append((r, i, take, key))

    # --- one window -----------------------------------------------------------------------------------
    def _advance(self, window: Window) -> None:
        """Take ``window`` as far as it goes without a batch's results: passes, rounds sent, phases."""
        while window.phase != DONE:
            self._look_up(window)
            if window.waiting or window.running:
                return
            if window.phase == REST:
                self._flush(window)  # a pass is over
            if window.todo:
                self._send(window)
                return
            if window.phase == FIRSTS:
                for r in window.firsts:
                    first = window.done[r][0]
                    self.recordings[r].voice = voice_from(first.semantic, first.fine)
                window.phase = REST
                window.queue.extend(
                    (r, i, 0) for r in window.members for i in range(len(self.recordings[r].texts))
                    if i not in window.done[r]
                )  # fmt: skip
                self._flush(window)
            else:
                window.phase = DONE

    def _look_up(self, window: Window) -> None:
        pipeline = self.pipeline
        while window.queue:
            r, i, take = window.queue.popleft()
            rec = self.recordings[r]
            key = None
            if pipeline.cache is not None:
                key = pipeline.segment_key(rec.voice, rec.texts[i], rec.options, take_seed(rec.seeds[i], take))
            hit = None
            if key is not None and pipeline.reuse:
                hit = self.settled.get(key) or pipeline.cache.get(key)
            if hit is not None:
                self._settle(window, r, i, take, key, SegmentResult(None, hit.semantic, hit.fine, cached=True))
            elif (r, i) in self.twins:  # a window ahead renders it: one after the other would find it cached
                self.waiters.setdefault(key, []).append((r, i, take))
                window.waiting += 1
            else:
                window.todo.append((r, i, take, key))

    def _send(self, window: Window) -> None:
        """Form the round's batches from ``window.todo``, all at once, and send them."""
        todo, window.todo = window.todo, []
        recordings = self.recordings
        if self.in_order:
            todo.sort(key=lambda row: row[:3])
        else:
            for r, i, _, _ in todo:
                self.length.setdefault((r, i), len(self.pipeline.synthesizer.token_ids(recordings[r].texts[i])))
            todo.sort(key=lambda row: (self.group[id(recordings[row[0]].options)], -self.length[row[:2]], row[:3]))
        batches = []
        while todo:
            group = self.group[id(recordings[todo[0][0]].options)]
            rows = []
            while todo and len(rows) < self.batch_size and self.group[id(recordings[todo[0][0]].options)] == group:
                rows.append(todo.pop(0))
            batches.append(rows)
        results = self.pipeline.synthesizer.generate_many(
            [
                ([Segment(recordings[r].texts[i], recordings[r].voice, take_seed(recordings[r].seeds[i], take)) for r, i, take, _ in rows],
                 recordings[rows[0][0]].options)
                for rows in batches
            ],
            self.pipeline.progress,
        )  # fmt: skip
        for rows in batches:
            self.sent.append((window, rows, results))
        window.running += len(batches)

    def _receive(self, window: Window, rows: list, results: list[SegmentResult]) -> None:
        pipeline = self.pipeline
        for (r, i, take, key), result in zip(rows, results):
            if pipeline.cache is not None:
                pipeline.cache.put(key, result.semantic, result.fine)
            pipeline.stats.generated += 1
            self._settle(window, r, i, take, key, result)
        window.running -= 1
        if window.phase == REST:
            self._flush(window)

    def _settle(self, window: Window, r: int, i: int, take: int, key: str | None, result: SegmentResult) -> None:
        """A take is ready (generated, or from the cache): judge it, and the twins' takes that wait for it."""
        if self.twins and key is not None:
            self.settled[key] = result
            for twin in self.waiters.pop(key, []):
                twin_window = self.window_of[twin[0]]
                twin_window.waiting -= 1
                self._judge(twin_window, *twin, SegmentResult(None, result.semantic, result.fine, cached=True))
        self._judge(window, r, i, take, result)

    def _judge(self, window: Window, r: int, i: int, take: int, result: SegmentResult) -> None:
        """Take number ``take`` of segment ``i`` of recording ``r`` is ready: check it (with the gate on),
        keep it if it is the best so far, and either queue the next take or keep the best one as done."""
        pipeline, rec = self.pipeline, self.recordings[r]
        result = replace(result, seed=take_seed(rec.seeds[i], take), take=take, takes=take + 1)
        if pipeline.retakes:
            if result.audio is None:  # from the cache: the audio checks need it (and it is kept if chosen)
                result = replace(result, audio=pipeline.decode(result.fine))
            report = check(result.audio, rec.texts[i], result.semantic, rec.options.semantic.max_tokens)
            result = replace(result, report=report)
            kept = window.best.get((r, i))
            if kept is None or better(report, kept.report):
                kept = window.best[(r, i)] = result
            if not report.passed and take < pipeline.retakes:
                window.queue.append((r, i, take + 1))
                return
            result = replace(window.best.pop((r, i)), takes=take + 1)
            pipeline.stats.retaken += take > 0
            pipeline.stats.flagged += not result.report.passed
        window.done[r][i] = result
        pipeline.stats.cached += result.cached
        pipeline.progress.advance("segments")

    def _flush(self, window: Window) -> None:
        """Queue to hand on what is done of each recording, in its order (cached codes decoded here)."""
        for r in window.members:
            results = window.done[r]
            while window.ready[r] in results:
                result = results.pop(window.ready[r])
                if result.audio is None:
                    result = replace(result, audio=self.pipeline.decode(result.fine))
                window.out.append((r, window.ready[r], result))
                window.ready[r] += 1
