"""What `bark batch` says of each item: the caller's log event, a line in the manifest (one short O_APPEND
write per item, timestamped), and the run's counts (`Summary`).

On a Ray cluster several windows render at once (pipeline/rounds.py); the lines of a window ahead are held
until the windows before it are done, so the manifest and the log read as a local run's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .inputs import Item

log = logging.getLogger("bark_cli")


@dataclass
class Summary:
    items: int = 0
    rendered: int = 0  # written, with at least one segment generated now
    cached: int = 0  # written from cached segments only
    skipped: int = 0  # output already matched its inputs
    locked: int = 0  # another run was rendering it
    failed: int = 0
    flagged: int = 0  # items written with segments that still fail a quality check
    segments_generated: int = 0  # takes generated (retakes included)
    segments_cached: int = 0
    segments_retaken: int = 0
    segments_flagged: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0



class ItemLog:
    def __init__(self, manifest: Path, summary: Summary, log_event: Callable[[dict], None]):
        self.manifest, self.summary, self.log_event = manifest, summary, log_event
        self.failed = False  # the manifest could not be appended to (said once)
        self.holding: list | None = None  # where `finish` keeps the lines of a window not yet rendering

    def finish(self, item: Item, status: str, **details) -> None:
        """Item ``item`` ended as ``status`` (a Summary count's name), with ``details`` for its line."""
        if self.holding is not None:  # a window behind the one rendering: logged when its turn comes
            self.holding.append((item, status, details))
            return
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        event = {"event": "item", "item": item.number, "source": item.source, "output": item.output, "status": status}
        event.update(details)
        self.log_event(event)
        line = json.dumps({**event, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False) + "\n"
        try:
            with open(self.manifest, "a", encoding="utf-8") as stream:
                stream.write(line)
        except OSError as exc:  # a full disk: the items still render, and the log says what happened
            if not self.failed:
                log.warning("warning: cannot append to the manifest %s: %s", self.manifest, exc.strerror or exc)
            self.failed = True

    def release(self, lines: list[tuple]) -> None:
        """The held lines of a window, now that the windows before it are done."""
        for item, status, details in lines:
            self.finish(item, status, **details)
