"""`bark book --split DIR`: one file per chapter, numbered so they sort, each tagged; or, with --acx,
44.1 kHz MP3 at 192 kbps constant bit rate (PyAV's LAME), as ACX takes them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..audio.formats import AudioFormat, Tags, write_audio
from ..constants import SAMPLE_RATE
from ..files import atomic_open
from .loudness import ACX_BIT_RATE, ACX_SAMPLE_RATE
from .m4b import BookTags

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')  # not portable in a file name
MAX_TITLE_BYTES = 120  # of the title in a file name


def chapter_file_name(number: int, count: int, title: str, extension: str) -> str:
    """``"03 The Storm.mp3"``: the number zero-padded to the widest one, so names sort in book order."""
    safe = " ".join(_UNSAFE.sub(" ", title).split()).strip(" .")
    safe = safe.encode("utf-8")[:MAX_TITLE_BYTES].decode("utf-8", "ignore").strip()
    width = max(2, len(str(count)))
    return f"{number:0{width}d} {safe}.{extension}" if safe else f"{number:0{width}d}.{extension}"


def chapter_tags(tags: BookTags, title: str, number: int, count: int) -> dict[str, str]:
    return {
        "title": title, "artist": tags.author or tags.narrator, "album": tags.title, "track": f"{number}/{count}",
        "composer": tags.narrator, "genre": "Audiobook", "comment": tags.comment,
    }  # fmt: skip


def write_chapter(path: Path, audio: np.ndarray, fmt: AudioFormat, tags: dict[str, str]) -> None:
    """A chapter in a format of audio/formats.py (libsndfile), written atomically."""
    write_audio(path, audio, fmt, Tags(tags["title"], tags["artist"], tags["comment"], tags["album"], tags["track"]))


def write_acx_mp3(path: Path, audio: np.ndarray, tags: dict[str, str]) -> None:
    """A chapter as ACX wants it: MP3, 44.1 kHz, 192 kbps CBR, mono; resampled from 24 kHz."""
    import av
    from scipy.signal import resample_poly

    from .frames import FrameWriter

    resampled = resample_poly(audio.astype(np.float64), ACX_SAMPLE_RATE // 300, SAMPLE_RATE // 300).astype(np.float32)
    with atomic_open(path, "w+b") as stream:
        container = av.open(stream, "w", format="mp3")
        try:
            container.metadata.update(tags)
            mp3 = container.add_stream("libmp3lame", rate=ACX_SAMPLE_RATE, layout="mono")
            mp3.bit_rate = ACX_BIT_RATE  # LAME is constant bit rate unless asked for VBR
            writer = FrameWriter(container, mp3, ACX_SAMPLE_RATE)
            writer.write(resampled)
            writer.close()
        finally:
            container.close()
