"""The M4B: AAC in MP4 (PyAV, which bundles FFmpeg), one chapter mark per chapter, the book's tags and
cover (mutagen). Chapters stream through one at a time; the file appears whole or not at all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..constants import SAMPLE_RATE
from ..files import atomic_open
from .chapters import Cover
from .extras import require

M4B_BIT_RATE = 64_000  # AAC-LC, mono speech at 24 kHz: transparent enough, ~29 MB an hour
M4B_SUFFIXES = (".m4b", ".m4a", ".mp4")
GENRE = "Audiobook"
AUDIOBOOK_MEDIA_KIND = 2  # iTunes "stik": audiobook
# ISO 639-1 -> ISO 639-2 for the languages Bark speaks: MP4 marks a track's language with the latter.
LANGUAGES = {
    "en": "eng", "de": "deu", "es": "spa", "fr": "fra", "hi": "hin", "it": "ita", "ja": "jpn", "ko": "kor",
    "pl": "pol", "pt": "por", "ru": "rus", "tr": "tur", "zh": "zho",
}  # fmt: skip


@dataclass(frozen=True)
class BookTags:
    title: str
    author: str | None
    narrator: str  # the voice
    language: str | None  # ISO 639-1
    comment: str
    cover: Cover | None = None


@dataclass(frozen=True)
class Mark:
    title: str
    start: int  # samples at 24 kHz from the start of the book
    end: int


def write_m4b(path: Path, chapters: Iterable[tuple[str, np.ndarray]], tags: BookTags) -> list[Mark]:
    """Encode ``chapters`` ((title, mono float32 audio at 24 kHz), in order, each dropped once encoded)
    into the M4B ``path``; returns the chapter marks written."""
    import av

    mp4 = require("mutagen.mp4")
    marks: list[Mark] = []
    with atomic_open(path, "w+b") as stream:
        container = av.open(stream, "w", format="ipod")
        try:
            audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            audio.bit_rate = M4B_BIT_RATE
            if tags.language in LANGUAGES:
                audio.metadata["language"] = LANGUAGES[tags.language]
            from .frames import FrameWriter

            writer = FrameWriter(container, audio, SAMPLE_RATE)
            for title, samples in chapters:
                start = marks[-1].end if marks else 0
                marks.append(Mark(title, start, start + len(samples)))
                writer.write(samples)
            writer.close()
            # MP4 keeps its chapters in the index written last, so they can be given after the audio.
            container.set_chapters([
                {"id": n, "start": m.start, "end": m.end, "time_base": Fraction(1, SAMPLE_RATE), "metadata": {"title": m.title}}
                for n, m in enumerate(marks, 1)
            ])  # fmt: skip
        finally:
            container.close()
        stream.seek(0)
        _tag(mp4, stream, tags)
    return marks


def _tag(mp4, stream, tags: BookTags) -> None:
    """Title, author, narrator, language, genre and cover, as audiobook players read them."""
    file = mp4.MP4(stream)
    if file.tags is None:
        file.add_tags()
    t = file.tags
    t["©nam"] = t["©alb"] = [tags.title]
    if tags.author:
        t["©ART"] = t["aART"] = [tags.author]
    t["©wrt"] = [tags.narrator]  # the composer field: where audiobook players look for the narrator
    t["----:com.apple.iTunes:NARRATOR"] = [tags.narrator.encode("utf-8")]
    if tags.language:
        t["----:com.apple.iTunes:LANGUAGE"] = [tags.language.encode("utf-8")]
    t["©gen"], t["©cmt"], t["stik"] = [GENRE], [tags.comment], [AUDIOBOOK_MEDIA_KIND]
    if tags.cover is not None:
        kind = mp4.MP4Cover.FORMAT_PNG if tags.cover.media_type == "image/png" else mp4.MP4Cover.FORMAT_JPEG
        t["covr"] = [mp4.MP4Cover(tags.cover.data, imageformat=kind)]
    stream.seek(0)
    file.save(stream)
