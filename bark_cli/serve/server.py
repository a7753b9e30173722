"""`bark serve`: the networks loaded once, rendering `bark say` requests for this user, one at a time.

The server loads the checkpoint, then listens (address.py) and takes one connection at a time: the others
wait in the listen queue, so no two requests share a batch and no client's audio can reach another.
Within a connection, requests are answered in order (protocol.py). A request that fails (bad options, a
bad voice, a malformed message, an internal error) gets an error reply with the exit code `bark say` would
have given, and the server goes on; a client that leaves mid-request ends only its own request.

Only the networks are shared between requests: each request gets a fresh `Pipeline` and `Recording`,
as an in-process `bark say` does, so the server's audio is the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from ..errors import BarkError, DeviceError, InvalidOptionError, ServerError, out_of_memory
from ..options import GenerationOptions, QualityOptions, RenderOptions, RuntimeOptions
from ..pipeline import Pipeline, Recording, Synthesizer
from ..schema import build, key_values
from . import DEFAULT_IDLE_TIMEOUT
from .address import Address, listening, peer_uid, runtime_dir, server_lock
from .protocol import MAX_HELLO, VERSION, Disconnected, ProtocolError, receive, runtime_fields, send

log = logging.getLogger("bark_cli")

HELLO_TIMEOUT = 10.0  # seconds for a new connection to say hello (before its token is checked)
REQUEST_TIMEOUT = 60.0  # seconds a connected client may take to send its next message: a silent one cannot hold the server


class BadRequest(ProtocolError):
    """A well-formed message whose fields are missing or of the wrong type."""


class ClientGone(Exception):
    """Sending to the client failed: it left. Its request ends; the server goes on."""


def serve(
    runtime: RuntimeOptions,
    port: int | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ready: Callable[[Address], None] = lambda address: None,
) -> None:
    """Load the networks, listen on the user's Unix socket (or 127.0.0.1:``port``, 0 for any free port,
    with a token), call ``ready`` with the address, and render requests until ``idle_timeout`` seconds
    pass without one (0: until stopped). ServerError when another server runs or nothing can be bound."""
    directory = runtime_dir(create=True)
    with server_lock(directory):
        started = time.perf_counter()
        synthesizer = Synthesizer.load(runtime)
        log.info("networks loaded in %.2f s", time.perf_counter() - started)
        token = secrets.token_urlsafe(32) if port is not None else None
        with listening(directory, port, token) as (listener, address):
            ready(address)
            Server(synthesizer, runtime, token).run(listener, idle_timeout)


_KINDS = {str: "text", int: "a whole number", (int, float): "a number", bool: "true or false", list: "a list", dict: "an object"}


def _get(header: dict, name: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    """``header[name]`` if it is of ``kind`` (a bool is not a number), else BadRequest; None if ``optional``."""
    value = header.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise BadRequest(f"'{name}' is missing or not {_KINDS.get(kind, kind)}")
    return value


class _ForwardedProgress:
    """The stages' progress, sent to the client as it happens (it shows it as an in-process run would)."""

    def __init__(self, send: Callable[[dict], None]):
        self._send = send

    def start(self, stage: str, total: int | None, unit: str) -> None:
        self._send({"progress": "start", "stage": stage, "total": total, "unit": unit})

    def advance(self, stage: str, amount: int = 1) -> None:
        self._send({"progress": "advance", "stage": stage, "amount": int(amount)})

    def finish(self, stage: str) -> None:
        self._send({"progress": "finish", "stage": stage})


class Server:
    """Answers connections with one loaded `Synthesizer`; ``token``: what a TCP client must present."""

    def __init__(self, synthesizer: Synthesizer, runtime: RuntimeOptions, token: str | None = None):
        self.synthesizer, self.runtime, self.token = synthesizer, runtime, token
        self.fields = runtime_fields(runtime)

    def run(self, listener: socket.socket, idle_timeout: float) -> None:
        listener.settimeout(idle_timeout or None)
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                log.info("no request for %g s: stopping", idle_timeout)
                return
            with conn:
                self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        """One connection: hello, then requests until the client closes it. Never raises for the client's
        doing; KeyboardInterrupt and Terminated (stopping the server) go through."""
        try:
            uid = peer_uid(conn)
            if uid is not None and uid != os.getuid():  # the socket's mode already keeps them out
                log.warning("refused a connection from user %d", uid)
                return
            conn.settimeout(HELLO_TIMEOUT)
            if not self._hello(conn, *receive(conn, MAX_HELLO, max_arrays=0)):
                return
            while True:
                conn.settimeout(REQUEST_TIMEOUT)
                try:
                    header, arrays = receive(conn)
                except Disconnected as exc:
                    if not exc.clean:
                        log.info("client left mid-message")
                    return
                conn.settimeout(None)  # replies may block on a slow reader (a pipe into a player): let them
                self._request(conn, header, arrays)
        except ClientGone:
            log.info("client left mid-request")
        except ProtocolError as exc:
            log.info("bad request: %s", exc)
            with contextlib.suppress(OSError, ValueError):
                send(conn, {"error": f"bad request: {exc}", "exit_code": InvalidOptionError.exit_code})
        except OSError as exc:  # the client vanished or stayed silent past REQUEST_TIMEOUT
            log.info("connection ended: %s", exc)
        except Exception as exc:  # a bug in answering one client must not stop the server for the others
            log.error("connection failed: %s: %s", type(exc).__name__, exc)

    def _send(self, conn: socket.socket, header: dict, arrays=()) -> None:
        try:
            send(conn, header, arrays)
        except OSError as exc:
            raise ClientGone(str(exc)) from exc

    def _hello(self, conn: socket.socket, header: dict, arrays) -> bool:
        if header.get("op") != "hello":
            raise BadRequest("the first message must be a hello")
        if self.token is not None and not hmac.compare_digest(str(header.get("token")).encode(), self.token.encode()):
            log.warning("refused a connection with a wrong token")
            self._send(conn, {"error": "wrong token", "exit_code": ServerError.exit_code})
            return False
        reason = self._mismatch(header)
        self._send(conn, {"ok": reason is None, "reason": reason, "pid": os.getpid()})
        return reason is None

    def _mismatch(self, header: dict) -> str | None:
        """Why this server cannot render for the client's runtime options (None: it can)."""
        if header.get("version") != VERSION:
            return f"the server speaks protocol {VERSION}, the client {header.get('version')!r}"
        theirs = header.get("runtime")
        if not isinstance(theirs, dict):
            return "no runtime options"
        # The options that decide the audio (declared ``key``) must be ours; the others (--cpu-offload) only
        # say how this process would have run, and the networks are loaded already.
        for name in key_values(self.runtime):
            ours = self.fields[name]
            if name != "device" and theirs.get(name) != ours:
                return f"the server runs {name} {ours!r}, the client asks for {theirs.get(name)!r}"
        from ..runtime.device import resolve_device

        try:
            device = resolve_device(_get(theirs, "device", str))
        except (DeviceError, BadRequest, RuntimeError) as exc:
            return f"device: {exc}"
        ours = self.synthesizer.networks.device
        if (device.type, device.index or 0) != (ours.type, ours.index or 0):
            return f"the server runs on {ours}, the client asks for {device}"
        return None

    def _request(self, conn: socket.socket, header: dict, arrays) -> None:
        op = header.get("op")
        started = time.perf_counter()
        try:
            if op == "plan":
                self._plan(conn, header)
            elif op == "render":
                self._render(conn, header, arrays)
            else:
                raise BadRequest(f"unknown op {op!r}")
        except (ClientGone, ProtocolError):
            raise
        except BarkError as exc:
            log.info("%s request failed: %s", op, exc)
            self._send(conn, {"error": str(exc), "exit_code": exc.exit_code})
        except Exception as exc:  # a bug or a resource (memory): this request fails, the server goes on
            oom = out_of_memory(exc)
            if oom is not None:
                log.info("%s request failed: %s", op, oom)
                self._send(conn, {"error": str(oom), "exit_code": oom.exit_code})
                return
            log.error("%s request failed: %s: %s", op, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self._send(conn, {"error": f"the server failed: {type(exc).__name__}: {exc}", "exit_code": ServerError.exit_code})
        else:
            log.info("%s request answered in %.2f s", op, time.perf_counter() - started)

    def _plan(self, conn: socket.socket, header: dict) -> None:
        from ..api.say import check_text

        text = _get(header, "text", str)
        render = RenderOptions(segment_seconds=_get(header, "segment_seconds", (int, float)))
        language = _get(header, "language", str, optional=True)
        check_text(text)
        segments = Pipeline(self.runtime, synthesizer=self.synthesizer).plan(text, render.segment_seconds, language)
        self._send(conn, {"segments": [dataclasses.asdict(s) for s in segments]})

    def _render(self, conn: socket.socket, header: dict, arrays) -> None:
        from ..batch.cache import SegmentCache
        from ..progress import NullProgress
        from ..voices.voice import VOICE_KEYS, validate_voice

        texts = _get(header, "texts", list)
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise BadRequest("'texts' must be a non-empty list of non-empty texts")
        seed = _get(header, "seed", int)  # the base seed (drawn by the client when --seed is not given)
        generation = build(GenerationOptions, {**_get(header, "generation", dict), "seed": seed})  # checks all
        render = RenderOptions(batch_size=_get(header, "batch_size", int))
        in_order, no_cache = _get(header, "in_order", bool), _get(header, "no_cache", bool)
        retakes = _get(header, "retakes", int, optional=True)
        quality = QualityOptions() if retakes is None else QualityOptions(retakes=retakes)  # checked as the flag is
        voice_name = _get(header, "voice", str, optional=True)
        if (voice_name is None) != (len(arrays) == 0) or len(arrays) not in (0, len(VOICE_KEYS)):
            raise BadRequest(f"a voice is a name and {len(VOICE_KEYS)} arrays ({', '.join(VOICE_KEYS)})")
        voice = validate_voice(voice_name, dict(zip(VOICE_KEYS, arrays))) if voice_name is not None else None

        progress = _ForwardedProgress(lambda h: self._send(conn, h)) if header.get("progress") is True else NullProgress()
        cache = None if no_cache else SegmentCache()
        pipeline = Pipeline(self.runtime, cache, progress, synthesizer=self.synthesizer, retakes=quality.retakes)
        recording = Recording(texts, voice, generation, seed)
        for _, i, result in pipeline.render([recording], render.batch_size, in_order=in_order):
            reply = {"segment": i, "cached": result.cached, "seed": result.seed, "take": result.take, "takes": result.takes}
            reply["report"] = None if result.report is None else result.report.to_json()
            self._send(conn, reply, [result.audio, result.semantic, result.fine])
        self._send(conn, {"done": True, **dataclasses.asdict(pipeline.stats)})
