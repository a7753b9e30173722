"""`bark book`'s second step: the rendered chapters (FLAC files in the work directory) streamed one at a time
through the levelling (--loudness or --acx) into the M4B muxer or a file per chapter, and the record that
lets a run with nothing new leave the outputs alone (api/book.py runs the steps)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..options import BookOptions


def stamp(path: Path) -> list[int]:
    """What identifies a rendered chapter's file: it is replaced (a new inode, time) whenever re-rendered."""
    status = path.stat()
    return [status.st_ino, status.st_size, status.st_mtime_ns]


def assembled_files(record: Path, key: str, directory: Path) -> list[str] | None:
    """The files an earlier run assembled from exactly ``key``, if its record says so and they are all
    still in ``directory``; else None (assemble again)."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        files = data["files"]
        if data["key"] != key or not all(isinstance(f, str) for f in files):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if all((directory / f).is_file() for f in files) else None


def levelled(chapters, files, summary, options: BookOptions, log) -> Iterator[tuple[object, np.ndarray]]:
    """Each chapter's audio in turn (one in memory at a time), levelled as the options ask."""
    import soundfile

    from . import loudness

    reports = {c.number: c for c in summary.chapters}
    for chapter, file in zip(chapters, files):
        audio, _ = soundfile.read(str(file), dtype="float32")
        levelled = None
        if options.acx:
            audio, levelled = loudness.to_acx(audio)
        elif options.loudness is not None:
            audio, levelled = loudness.to_loudness(audio, options.loudness, options.true_peak)
        if levelled is not None:
            report = reports[chapter.number]
            report.levels = {**levelled.measured, "gain_db": levelled.gain_db, "limited": levelled.limited, "passed": levelled.passed}
            log({"event": "levels", "chapter": chapter.number, "title": chapter.title, "acx": options.acx,
                 "target": options.loudness, **report.levels})  # fmt: skip
        yield chapter, audio


def clear_stale(path: Path) -> None:
    """Remove the temporary files a killed run left beside ``path`` (safe: we hold the book's lock)."""
    from ..files import stale_temporaries

    for stale in stale_temporaries(path):
        stale.unlink(missing_ok=True)


def assemble(chapters, files, summary, output, split, fmt, tags, options: BookOptions, total: int, log) -> list[str]:
    """Write the M4B, or the --split files (with --acx: ACX's MP3s); the names of the files written."""
    from .export import chapter_file_name, chapter_tags, write_acx_mp3, write_chapter
    from .m4b import write_m4b

    stream = levelled(chapters, files, summary, options, log)
    if output is not None:
        clear_stale(output)
        write_m4b(output, ((chapter.title, audio) for chapter, audio in stream), tags)
        return [output.name]
    reports, names = {c.number: c for c in summary.chapters}, []
    for chapter, audio in stream:
        name = chapter_file_name(chapter.number, total, chapter.title, "mp3" if options.acx else fmt.name)
        reports[chapter.number].output = name
        names.append(name)
        file_tags = chapter_tags(tags, chapter.title, chapter.number, total)
        clear_stale(split / name)
        if options.acx:
            write_acx_mp3(split / name, audio, file_tags)
        else:
            write_chapter(split / name, audio, fmt, file_tags)
    return names
