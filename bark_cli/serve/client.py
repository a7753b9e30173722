"""The client side of `bark serve`: `bark say` hands its segments to a running server and writes the audio.

`connect` finds the user's server (address.py) and asks whether it renders with this call's runtime
options; when there is none, or it runs other options, or it does not answer, `bark say` works in its own
process (why is logged with --verbose). Once the server has said yes, a failure is the server's: ServerError (12).

`RemotePipeline` has the part of `Pipeline`'s interface that `api.say` uses (plan, render, stats), so the
text is cut, rendered and joined by the same code either way, and the bytes written are the same. This
module imports no torch: a call through the server starts in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
from collections.abc import Iterator

from ..errors import EXIT_CODES, BarkError, ServerError
from ..options import GenerationOptions, RuntimeOptions
from ..pipeline import Recording, RenderStats, SegmentResult
from ..progress import NullProgress, Progress
from ..quality.checks import Report
from ..schema import declared
from ..text.segmenter import TextSegment
from .address import LOCALHOST, Address, find_server
from .protocol import VERSION, ProtocolError, receive, runtime_fields, send

log = logging.getLogger("bark_cli")


class Connection:
    """A conversation with a server that has agreed to render with our runtime options."""

    def __init__(self, sock: socket.socket, address: Address):
        self.sock, self.address = sock, address

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def pipeline(self, no_cache: bool = False, progress: Progress = NullProgress(), retakes: int = 0) -> RemotePipeline:
        return RemotePipeline(self, no_cache, progress, retakes)

    def send(self, header: dict, arrays=()) -> None:
        try:
            send(self.sock, header, arrays)
        except OSError as exc:
            raise self._gone(exc) from None

    def receive(self) -> tuple[dict, list]:
        """The next reply; an error reply raised as the error it reports."""
        try:
            header, arrays = receive(self.sock)
        except (OSError, ProtocolError) as exc:
            raise self._gone(exc) from None
        if "error" in header:
            raise _reported(header)
        return header, arrays

    def _gone(self, exc: Exception) -> ServerError:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        return ServerError(f"the server at {self.address} went away in the middle of the request ({why})")


def _reported(header: dict) -> BarkError:
    """A server's error reply as the error `bark say` would have raised itself (its message, its code)."""
    error = BarkError(str(header.get("error")))
    code = header.get("exit_code")
    error.exit_code = code if code in {c for c, _ in EXIT_CODES} and code != 0 else ServerError.exit_code
    return error


def connect(runtime: RuntimeOptions) -> Connection | None:
    """The user's running server, agreed to render with ``runtime``; None when there is none to use."""
    address = find_server()
    if address is None:
        return None
    sock = None
    try:
        if address.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(address.path))
        else:
            sock = socket.create_connection((LOCALHOST, address.port))
        send(sock, {"op": "hello", "version": VERSION, "token": address.token, "runtime": runtime_fields(runtime)})
        reply, _ = receive(sock)
    except (OSError, ProtocolError) as exc:  # a dead server's socket, or one stopping now
        log.info("not using the server at %s: %s", address, exc)
        if sock is not None:
            sock.close()
        return None
    if not reply.get("ok"):
        log.info("not using the server at %s: %s", address, reply.get("reason") or reply.get("error"))
        sock.close()
        return None
    log.info("rendering on the server at %s (pid %s)", address, reply.get("pid"))
    return Connection(sock, address)


@contextlib.contextmanager
def connected(runtime: RuntimeOptions, no_server: bool = False) -> Iterator[Connection | None]:
    """`connect`, closed when the block ends; None with ``no_server``."""
    connection = None if no_server else connect(runtime)
    try:
        yield connection
    finally:
        if connection is not None:
            connection.close()


class RemotePipeline:
    """What `api.say` needs of a `Pipeline`, with the server doing the work (module docstring)."""

    loaded = False  # no networks in this process (api.say asks before reporting GPU memory)

    def __init__(
        self, connection: Connection, no_cache: bool = False, progress: Progress = NullProgress(), retakes: int = 0
    ):
        self.connection, self.no_cache, self.progress, self.retakes = connection, no_cache, progress, retakes
        self.stats = RenderStats()

    def plan(self, text: str, segment_seconds: float, language: str | None = None) -> list[TextSegment]:
        self.connection.send({"op": "plan", "text": text, "segment_seconds": segment_seconds, "language": language})
        reply, _ = self.connection.receive()
        try:
            return [TextSegment(**s) for s in reply["segments"]]
        except (KeyError, TypeError) as exc:
            raise self.connection._gone(ProtocolError(f"a malformed plan ({exc})")) from None

    def render(
        self, recordings: list[Recording], batch_size: int, in_order: bool = False
    ) -> Iterator[tuple[int, int, SegmentResult]]:
        """As `Pipeline.render`, for one recording: each segment's result, in order, as the server sends it."""
        (recording,) = recordings
        voice = recording.voice
        self.connection.send(
            {
                "op": "render", "texts": recording.texts, "seed": recording.seed, "batch_size": batch_size,
                "in_order": in_order, "no_cache": self.no_cache, "retakes": self.retakes,
                "voice": None if voice is None else voice.name,
                "generation": {o.name: getattr(recording.options, o.name) for o in declared(GenerationOptions)},
                "progress": not isinstance(self.progress, NullProgress),
            },
            [] if voice is None else [voice.semantic_prompt, voice.coarse_prompt, voice.fine_prompt],
        )  # fmt: skip
        expected = 0
        while True:
            reply, arrays = self.connection.receive()
            if "progress" in reply:
                self._progress(reply)
            elif reply.get("done"):
                self.stats = RenderStats(**{f.name: reply[f.name] for f in dataclasses.fields(RenderStats)})
                if expected != len(recording.texts):
                    raise self.connection._gone(ProtocolError(f"{expected} of {len(recording.texts)} segments came"))
                return
            elif reply.get("segment") == expected and len(arrays) == 3:
                audio, semantic, fine = arrays
                report = Report.from_json(reply["report"]) if reply.get("report") else None
                take = {k: reply[k] for k in ("seed", "take", "takes")}
                yield 0, expected, SegmentResult(audio, semantic, fine, bool(reply.get("cached")), **take, report=report)
                expected += 1
            else:
                raise self.connection._gone(ProtocolError(f"an unexpected reply {sorted(reply)}"))

    def _progress(self, reply: dict) -> None:
        kind, stage = reply["progress"], reply.get("stage")
        if kind == "start":
            self.progress.start(stage, reply.get("total"), reply.get("unit", ""))
        elif kind == "advance":
            self.progress.advance(stage, reply.get("amount", 1))
        elif kind == "finish":
            self.progress.finish(stage)
