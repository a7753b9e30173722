"""Audio out: formats and tags, files written atomically, a WAV on stdout, or raw PCM streamed as it comes."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import InvalidOptionError, OutputClosedError, OutputError
from ..files import atomic_open, check_writable
from ..signals import deferred

STDOUT = Path("-")
# Format name (constants.AUDIO_FORMATS) -> (libsndfile container, subtype). 16-bit PCM unless lossy.
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
COMMENT_CHARS = 300  # the text in the comment tag is cut at a word boundary past this
SFC_SET_ADD_PEAK_CHUNK = 0x1050  # sndfile.h; soundfile does not name it


@dataclass(frozen=True)
class AudioFormat:
    name: str  # wav | flac | ogg | mp3
    container: str  # libsndfile format
    subtype: str  # libsndfile subtype


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str
    comment: str
    album: str | None = None  # bark book --split: the book's title ...
    tracknumber: str | None = None  # ... and the chapter's number ("3/12")


def audio_format(path: Path, name: str | None = None, float32: bool = False) -> AudioFormat:
    """The format for ``path``: a known extension decides; ``name`` (--format) serves stdout and other
    names; stdout defaults to wav.

    Checked before any generation: an unknown extension without --format and --float outside wav are
    usage errors; mp3 without libsndfile support cannot be written here.
    """
    suffix = path.suffix.lower().lstrip(".")
    if path != STDOUT and suffix in FORMATS:
        name = suffix
    elif name is None:
        if path != STDOUT:
            known = ", ".join(f".{f}" for f in FORMATS)
            raise InvalidOptionError(
                f"cannot write {path}: unknown audio extension {path.suffix or '(none)'!r}; use {known} or --format"
            )
        name = "wav"
    container, subtype = FORMATS[name]  # --format was validated against the same names (options.py)
    if float32:
        if name != "wav":
            raise InvalidOptionError(f"--float writes 32-bit float WAV; it does not apply to {name}")
        subtype = "FLOAT"
    import soundfile

    if container not in soundfile.available_formats():
        version = soundfile.__libsndfile_version__
        raise OutputError(f"this libsndfile ({version}) cannot write {name}; use wav, flac or ogg")
    return AudioFormat(name, container, subtype)


def make_tags(text: str, model: str) -> Tags:
    words = " ".join(text.split())
    if len(words) > COMMENT_CHARS:
        words = words[:COMMENT_CHARS].rsplit(" ", 1)[0] + " …"
    title = " ".join(words.split()[:8])
    return Tags(title=title, artist=f"bark-cli ({model})", comment=words)


def encode(audio: np.ndarray, fmt: AudioFormat, tags: Tags | None) -> bytes:
    """The whole file of mono float ``audio`` (N,), encoded in memory.

    In memory, then written by us: soundfile writes to a Python stream through callbacks inside C, where
    a write error becomes pages of cffi tracebacks and a signal is swallowed; signals wait for the end of
    the encoding (signals.py).
    """
    import soundfile

    buffer = io.BytesIO()
    with deferred(), soundfile.SoundFile(buffer, "w", SAMPLE_RATE, 1, fmt.subtype, format=fmt.container) as sound:
        if fmt.subtype == "FLOAT":
            # libsndfile stamps float WAVs with a PEAK chunk holding the time of writing: same seed, same bytes.
            soundfile._snd.sf_command(sound._file, SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
        if tags is not None:
            sound.title, sound.artist, sound.comment = tags.title, tags.artist, tags.comment
            for name in ("album", "tracknumber"):
                if getattr(tags, name) is not None:
                    setattr(sound, name, getattr(tags, name))
        sound.write(np.clip(audio, -1.0, 1.0))
    return buffer.getvalue()


def check_output(path: Path) -> None:
    if path != STDOUT:
        check_writable(path)


def write_audio(path: Path, audio: np.ndarray, fmt: AudioFormat, tags: Tags | None = None, stdout: BinaryIO | None = None) -> None:
    """Write mono float ``audio`` (N,) to ``path`` atomically, or as one complete file to ``stdout``."""
    data = encode(audio, fmt, tags)
    if path == STDOUT:
        send(stdout, data)
        return
    with atomic_open(path) as stream:
        stream.write(data)


def pcm16(audio: np.ndarray) -> bytes:
    """16-bit little-endian PCM bytes of float audio, converted by libsndfile exactly as in a 16-bit WAV."""
    import soundfile

    buffer = io.BytesIO()
    with deferred():  # see encode
        soundfile.write(buffer, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buffer.getvalue()


def send(stdout: BinaryIO, data: bytes) -> None:
    """Write ``data`` at once, past stdout's buffer (a listener hears each segment as it is made); a closed
    pipe is no error, any other failure (``> /dev/full``) an OutputError."""
    try:
        stdout.flush()
        try:
            fd = stdout.fileno()
        except (AttributeError, io.UnsupportedOperation):  # an in-memory stream takes everything at once
            stdout.write(data)
            return
        _write_all(fd, memoryview(data))
    except BrokenPipeError as exc:
        raise OutputClosedError("stdout was closed") from exc
    except OSError as exc:
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from exc


def _write_all(fd: int, view: memoryview) -> None:
    """Write every byte to ``fd``, past partial writes (a pipe, a signal) and a non-blocking descriptor
    (a parent may share one with O_NONBLOCK set: wait until it can take more instead of dropping the rest)."""
    import select

    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])
