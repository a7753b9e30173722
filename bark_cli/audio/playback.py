"""Playing audio on the default output device, segment by segment as each is made (sounddevice, PortAudio).

A `Sink` takes the joined recording's chunks in order (float32 mono at 24 kHz), the same chunks `--raw`
streams to stdout; `close` returns once everything written has been heard. `Player` writes them to a
PortAudio output stream from a thread of its own, so the next segment is generated while one plays.
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import PlaybackError

INSTEAD = "write a file instead with -o out.wav, or pipe --raw into a player"
JOIN_POLL_SECONDS = 0.1  # how often a wait for the player looks up, so Ctrl-C is seen at once


class Sink(Protocol):
    def write(self, chunk: np.ndarray) -> None: ...  # float32 (N,), played after what came before

    def close(self) -> None: ...  # returns when everything written has been played

    def abort(self) -> None: ...  # stop now, dropping what is left (Ctrl-C, an error)


def _sounddevice():
    """The sounddevice module; PlaybackError when it or its PortAudio library is missing."""
    try:
        import sounddevice
    except ImportError:
        raise PlaybackError(f"cannot play audio: the sounddevice package is not installed; {INSTEAD}") from None
    except OSError as exc:  # sounddevice loads PortAudio when imported
        raise PlaybackError(f"cannot play audio: {exc} (install libportaudio2); {INSTEAD}") from None
    return sounddevice


class Player:
    """The default output device, opened at once (so a missing device is said before any work)."""

    def __init__(self) -> None:
        sd = _sounddevice()
        try:
            sd.query_devices(kind="output")  # raises when there is no default output device
            self._stream = sd.OutputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32")
        except Exception as exc:  # sounddevice raises PortAudioError or ValueError, worded by PortAudio
            raise PlaybackError(f"cannot play audio: no output device ({exc}); {INSTEAD}") from None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            with self._stream:  # started here, stopped (after what it holds has played) at the end
                while (chunk := self._queue.get()) is not None:  # not iter(get, None): arrays compare by element
                    self._stream.write(chunk.reshape(-1, 1))  # (N, 1): frames x channels
        except BaseException as exc:  # reported by the caller's next write or close
            self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise PlaybackError(f"audio playback failed: {self._error}; {INSTEAD}")

    def write(self, chunk: np.ndarray) -> None:
        self._check()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bark-playback", daemon=True)
            self._thread.start()
        self._queue.put(np.ascontiguousarray(np.clip(chunk, -1.0, 1.0), dtype=np.float32))

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            while self._thread.is_alive():  # a bare join would hold off Ctrl-C until the end
                self._thread.join(JOIN_POLL_SECONDS)
        self._check()

    def abort(self) -> None:
        try:
            self._stream.abort()  # the writer's blocked write returns; its thread ends (daemon)
        except Exception:  # never started, or the device is gone: nothing is playing anyway
            pass
        self._queue.put(None)


def open_player() -> Sink:
    """The default output device as a Sink; PlaybackError, saying how to write a file instead, when
    there is none."""
    return Player()
