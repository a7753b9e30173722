"""Progress reporting: stages call ``start``/``advance``/``finish``; the CLI shows them with rich on stderr."""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Progress(Protocol):
    def start(self, stage: str, total: int | None, unit: str) -> None: ...

    def advance(self, stage: str, amount: int = 1) -> None: ...

    def finish(self, stage: str) -> None: ...


class NullProgress:
    """Reports nothing (library use, --quiet, stderr not a terminal)."""

    def start(self, stage: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, stage: str, amount: int = 1) -> None:
        pass

    def finish(self, stage: str) -> None:
        pass


class RichProgress:
    """One line per stage: name, bar, count with its unit, elapsed time. Draws on stderr only."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._tasks: dict[str, int] = {}
        self._started: dict[str, float] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, stage: str, total: int | None, unit: str) -> None:
        self._started[stage] = time.perf_counter()
        if stage in self._tasks:  # a later batch of segments through the same stage
            task = self._tasks[stage]
            current = self._progress.tasks[task].total
            self._progress.update(task, total=None if total is None or current is None else current + total)
            self._progress.start_task(task)
            return
        self._tasks[stage] = self._progress.add_task(stage, total=total, unit=unit)

    def advance(self, stage: str, amount: int = 1) -> None:
        self._progress.advance(self._tasks[stage], amount)

    def finish(self, stage: str) -> None:
        task = self._tasks[stage]
        completed = self._progress.tasks[task].completed
        self._progress.update(task, total=completed, completed=completed)
        self._progress.stop_task(task)

    def print(self, message: str) -> None:
        # Messages hold user text (a batch output named "[/oops].wav"): never read as rich markup.
        self._progress.console.print(message, markup=False, highlight=False)
