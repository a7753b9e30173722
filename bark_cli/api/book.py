"""`book`: an EPUB, Markdown or text file into one M4B with chapter marks, or a file per chapter.

Two steps, both safe to interrupt and to run again from cron:

1. Render. Each chapter (its text after the lexicon) is an item of the batch machinery (api/batch.py),
   rendered one chapter at a time into FLAC files in a work directory beside the output: each chapter
   under its own lock, written atomically with a record of what it was made from, so a run again skips
   the finished chapters, and the segment cache gives back every segment already generated (an edited
   sentence or lexicon entry generates only the segments whose text changed).
2. Assemble. The chapters stream, one at a time, through the levelling (--loudness or --acx) into the
   M4B muxer or the per-chapter files, each written atomically. A record of what the outputs were
   assembled from lets a run with nothing new leave them alone.

The whole run holds a lock on the work directory: a second run of the same book (an overlapping cron
job) says so and does nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..batch.cache import content_key
from ..errors import InvalidOptionError, OutputError
from ..options import (
    BookOptions, ClusterOptions, GenerationOptions, OutputOptions, QualityOptions, RenderOptions, RuntimeOptions,
)  # fmt: skip
from ..progress import NullProgress, Progress
from ..schema import key_values

log = logging.getLogger("bark_cli")

WORK_SUFFIX = ".work"  # book.m4b -> book.m4b.work/ ; --split DIR -> DIR/.work/
CHAPTER_FORMAT = "flac"  # the rendered chapters in the work directory: lossless, half the size of WAV
ASSEMBLED_RECORD = "assembled.json"  # in WORK/.bark/
DEFAULT_VOICE = "v2/en_speaker_6"  # one narrator for the whole book when --voice is not given


@dataclass
class ChapterReport:
    number: int
    title: str
    words: int
    status: str = "pending"  # rendered | cached | skipped (done before) | locked | failed
    seconds: float = 0.0  # of audio
    segments: int = 0
    generated: int = 0  # segments generated in this run (the others came from the cache)
    error: str | None = None
    output: str | None = None  # its file, with --split
    levels: dict | None = None  # --loudness or --acx: the levels after levelling, and whether they pass
    # The quality gate's results for the chapter's segments, as the batch runner reports its item:
    # {"retaken": n, "flagged_segments": [0-based indices]}; None when the chapter was not rendered now
    # (skipped: done before) or the gate is off.
    gate: dict | None = None


@dataclass
class BookSummary:
    title: str
    chapters: list[ChapterReport] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # chapters left out: no text
    output: str | None = None  # the M4B, or the --split directory
    assembled: str = "no"  # written | up to date | no (a chapter failed, or another run holds the lock)
    locked: bool = False  # another run holds the book's lock: nothing was done
    segments_generated: int = 0
    segments_cached: int = 0
    segments_retaken: int = 0
    segments_flagged: int = 0
    compute_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(c.status in ("failed", "locked") for c in self.chapters)

    @property
    def flagged(self) -> list[int]:
        """The chapters rendered now with segments that still fail a quality check."""
        return [c.number for c in self.chapters if c.gate and c.gate.get("flagged_segments")]

    @property
    def audio_seconds(self) -> float:
        return sum(c.seconds for c in self.chapters)

    def counts(self) -> dict[str, int]:
        statuses = [c.status for c in self.chapters]
        return {s: statuses.count(s) for s in ("rendered", "cached", "skipped", "locked", "failed")}


def default_voice(language: str | None) -> str:
    """A shipped preset speaking the book's language (speaker 0), or DEFAULT_VOICE."""
    from ..voices.library import voice_names

    if language and language != "en" and f"v2/{language}_speaker_0" in voice_names():
        return f"v2/{language}_speaker_0"
    return DEFAULT_VOICE


def read(path: Path, options: BookOptions = BookOptions()):
    """The book at ``path`` with the lexicon applied and --title/--author given, all its chapters (no
    network is loaded). Exit 9 (BookInputError) when it cannot be read as a book."""
    from ..book.chapters import Chapter, read_book
    from ..book.lexicon import load_lexicon

    lexicon = load_lexicon(Path(options.lexicon) if options.lexicon else None)
    book = read_book(path)
    chapters = [Chapter(c.number, c.title, lexicon.apply(c.text)) for c in book.chapters]
    return dataclasses.replace(
        book, chapters=chapters, title=options.title or book.title, author=options.author or book.author
    )


def _check_extras(path: Path, output: Path | None, options: BookOptions) -> None:
    """Import now, before any rendering, every package of the `book` extra this run will need."""
    from ..book.chapters import EPUB_SUFFIXES
    from ..book.extras import require

    if path.suffix.lower() in EPUB_SUFFIXES:
        require("ebooklib")
    if output is not None:
        require("mutagen")
    if options.loudness is not None or options.acx:
        require("pyloudnorm")


def _work_dir(output: Path | None, split: Path | None, work_dir: Path | None) -> Path:
    if work_dir is not None:
        return work_dir
    return output.with_name(output.name + WORK_SUFFIX) if output is not None else split / WORK_SUFFIX


def _checked(output: Path | None, split: Path | None, options: BookOptions, out: OutputOptions):
    """The --split file format (None for an M4B), after the checks a user can fail before any work."""
    from ..audio.formats import STDOUT, audio_format
    from ..book.m4b import M4B_SUFFIXES
    from ..files import check_writable

    if (output is None) == (split is None):
        raise InvalidOptionError("give -o BOOK.m4b for one audiobook file, or --split DIR for a file per chapter")
    if options.acx and options.loudness is not None:
        raise InvalidOptionError("--acx sets its own levels (RMS -20 dB); leave out --loudness")
    if options.acx and split is None:
        raise InvalidOptionError("--acx makes one MP3 per chapter, as ACX takes them: use --split DIR")
    # --format and --float (perhaps config defaults for `bark say`) choose the --split files only: an M4B is
    # AAC, and --acx writes MP3.
    if output is not None:
        if output.suffix.lower() not in M4B_SUFFIXES:
            raise InvalidOptionError(f"-o {output}: an audiobook is written as .m4b (or .m4a); use --split DIR for other formats")
        check_writable(output)
        return None
    if options.acx:
        return None
    try:
        split.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create --split {split}: {exc.strerror or exc}") from exc
    return audio_format(STDOUT, out.format, out.float32)


def book(
    path: Path,
    output: Path | None = None,
    *,
    split: Path | None = None,
    work_dir: Path | None = None,
    force: bool = False,
    options: BookOptions = BookOptions(),
    generation: GenerationOptions = GenerationOptions(),
    runtime: RuntimeOptions = RuntimeOptions(),
    render: RenderOptions = RenderOptions(),
    quality: QualityOptions = QualityOptions(),
    out: OutputOptions = OutputOptions(),
    log: Callable[[dict], None] = lambda event: None,
    progress: Progress = NullProgress(),
    cluster: ClusterOptions = ClusterOptions(),
) -> BookSummary:
    """Render the book at ``path`` into the M4B ``output``, or a file per chapter in ``split``. ``log``
    gets an event per chapter ("chapter"), per levelled chapter ("levels") and for the output ("book")."""
    from filelock import FileLock, Timeout

    from ..batch.outputs import state_directory
    from ..book.chapters import select

    fmt = _checked(output, split, options, out)
    _check_extras(path, output, options)
    parsed = read(path, options)
    chapters = select(parsed.chapters, options.chapters)
    summary = BookSummary(parsed.title, [ChapterReport(c.number, c.title, c.words) for c in chapters], parsed.skipped)
    summary.output = str(output if output is not None else split)
    for title in parsed.skipped:
        log({"event": "empty", "title": title})
    work = _work_dir(output, split, work_dir)
    state = work / ".bark"
    for directory in (work, state):
        state_directory(directory)
    lock = FileLock(str(state / "book.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        summary.locked = True
        log({"event": "book", "status": "locked", "output": summary.output})
        return summary
    try:
        from ..voices.library import resolve_voice

        voice = generation.voice or default_voice(parsed.language)
        resolve_voice(voice)  # a bad --voice is one error (exit 3) before any work, not a failure per chapter
        generation = dataclasses.replace(generation, voice=voice)
        files = _render(path, chapters, summary, work, force, generation, runtime, render, quality, log, progress, cluster)
        if summary.failed:
            log({"event": "book", "status": "not assembled", "output": summary.output})
            return summary
        from ..book.assemble import assemble, assembled_files, stamp
        from ..book.m4b import BookTags

        tags = BookTags(
            parsed.title, parsed.author, voice, parsed.language, f"Narrated by bark-cli ({runtime.model}), voice {voice}", parsed.cover
        )
        key = content_key({
            "chapters": [(c.number, c.title, stamp(f)) for c, f in zip(chapters, files)], "options": key_values(options),
            "tags": dataclasses.asdict(dataclasses.replace(tags, cover=None)),
            "cover": content_key({"cover": parsed.cover.data.hex()}) if parsed.cover else None,
            "format": dataclasses.asdict(fmt) if fmt is not None else None, "output": summary.output,
        })  # fmt: skip
        record = state / ASSEMBLED_RECORD
        written = None if force else assembled_files(record, key, output.parent if output is not None else split)
        if written is not None:
            if split is not None:
                for report, name in zip(summary.chapters, written):
                    report.output = name
            summary.assembled = "up to date"
            log({"event": "book", "status": "up to date", "output": summary.output})
            return summary
        written = assemble(chapters, files, summary, output, split, fmt, tags, options, len(parsed.chapters), log)
        from ..files import atomic_open

        with atomic_open(record, "w", encoding="utf-8") as stream:
            json.dump({"key": key, "files": written}, stream)
        summary.assembled = "written"
        log({"event": "book", "status": "written", "output": summary.output})
        return summary
    finally:
        lock.release()


def _render(path, chapters, summary, work, force, generation, runtime, render, quality, log, progress, cluster) -> list[Path]:
    """Render the chapters into ``work`` with the batch machinery; their files, in order. One chapter at a
    time (its audio alone is held), on a Ray cluster too: a chapter's round is many batches, spread over
    the workers."""
    from ..audio.formats import audio_format
    from ..batch.inputs import Item
    from .batch import BatchRunner

    reports = {c.number: c for c in summary.chapters}
    items = [Item(n, f"{path.name}#{c.number}", c.text, f"{c.number:03d}.{CHAPTER_FORMAT}") for n, c in enumerate(chapters, 1)]
    by_item = {item.number: chapter for item, chapter in zip(items, chapters)}
    total_words = sum(c.words for c in chapters) or 1
    clock = {"last": time.perf_counter(), "spent": 0.0, "words": 0, "done": 0}

    def on_item(event: dict) -> None:
        chapter = by_item[event["item"]]
        report = reports[chapter.number]
        report.status = event["status"]
        report.error = event.get("error")
        report.segments = event.get("segments", 0)
        report.generated = event.get("generated", 0)
        report.gate = {k: event[k] for k in ("retaken", "flagged_segments") if k in event} or None
        now = time.perf_counter()
        clock["done"] += chapter.words
        if report.status in ("rendered", "cached"):  # the rate of what was rendered now, for the ETA
            clock["spent"] += now - clock["last"]
            clock["words"] += chapter.words
        clock["last"] = now
        left = total_words - clock["done"]
        eta = clock["spent"] / clock["words"] * left if clock["words"] else None
        log({
            "event": "chapter", "chapter": chapter.number, "of": len(chapters), "title": chapter.title,
            "status": report.status, "seconds": event.get("seconds"), "segments": report.segments,
            "generated": report.generated, "error": report.error, "gate": report.gate,
            "done": round(clock["done"] / total_words, 3), "eta_seconds": None if eta is None else round(eta, 1),
        })  # fmt: skip

    fmt = audio_format(Path(f"chapter.{CHAPTER_FORMAT}"))
    runner = BatchRunner(
        work, fmt, generation, runtime, render, OutputOptions(), quality, force=force, manifest=work / "manifest.jsonl",
        log=on_item, progress=progress, inputs=(path,), window=1, in_flight=1, cluster=cluster,
    )  # fmt: skip
    result = runner.run(items)
    summary.segments_generated, summary.segments_cached = result.segments_generated, result.segments_cached
    summary.segments_retaken, summary.segments_flagged = result.segments_retaken, result.segments_flagged
    summary.compute_seconds = result.compute_seconds
    files = [work / item.output for item in items]
    import soundfile

    for chapter, file in zip(chapters, files):
        if reports[chapter.number].status not in ("failed", "locked"):
            info = soundfile.info(str(file))
            reports[chapter.number].seconds = info.frames / info.samplerate
    return files
