"""The wire format between `bark serve` and its clients: messages of a JSON header and numpy arrays.

A message on the stream is

    4 bytes   the header's length in bytes, big-endian
    header    a UTF-8 JSON object; its "arrays" (optional) lists [dtype, shape] for each array that follows
    arrays    each array's bytes in C order, one after another

A conversation: the client sends "hello" (protocol version, runtime options, token on TCP) and the server
answers whether it renders with those options; then any number of "plan" and "render" requests, each
answered in full before the next is read (docs/SERVE.md has every field). Everything read is bounded
before it is allocated, so a bad or hostile message costs the server one error reply, not its memory.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from typing import Any

import numpy as np

# A client and a server of different versions do not talk: the client renders itself. 2: the quality gate's
# retakes and reports.
VERSION = 2
MAX_HEADER = 64 * 2**20  # bytes: a header holds at most a whole book's text
MAX_ARRAYS = 8  # arrays in one message (a segment's audio, semantic tokens, codes; a voice's three)
MAX_ARRAY_BYTES = 256 * 2**20  # one array: far above a 15 s segment's audio (1.4 MB) or a voice
MAX_HELLO = 64 * 2**10  # bytes of a hello's header (it carries no arrays)
DTYPES = {"<f4": np.float32, "<i8": np.int64}  # audio; tokens and codes
_LENGTH = struct.Struct(">I")

Arrays = list[np.ndarray]


class ProtocolError(Exception):
    """A message that is malformed, too large, or not what the conversation expects."""


class Disconnected(ProtocolError):
    """The other side closed the connection: between messages (``clean``) or within one."""

    def __init__(self, clean: bool):
        super().__init__("connection closed" if clean else "connection closed mid-message")
        self.clean = clean


def send(sock: socket.socket, header: dict[str, Any], arrays: Arrays = ()) -> None:
    """Write one message: ``header`` (JSON-able) and ``arrays`` (float32 or int64; others are converted)."""
    wire = [np.ascontiguousarray(a, dtype=np.float32 if a.dtype.kind == "f" else np.int64) for a in arrays]
    if wire:
        header = {**header, "arrays": [[a.dtype.str, list(a.shape)] for a in wire]}
    data = json.dumps(header, ensure_ascii=False, allow_nan=False).encode("utf-8")
    sock.sendall(_LENGTH.pack(len(data)) + data)
    for array in wire:
        sock.sendall(memoryview(array).cast("B"))


def receive(sock: socket.socket, max_header: int = MAX_HEADER, max_arrays: int = MAX_ARRAYS) -> tuple[dict[str, Any], Arrays]:
    """Read one message: (header, arrays). Disconnected on a clean end of stream, ProtocolError on anything
    malformed or over the limits (lower ones for a hello, which anyone on localhost may send over TCP)."""
    (length,) = _LENGTH.unpack(_read(sock, _LENGTH.size, at_start=True))
    if length > max_header:
        raise ProtocolError(f"header of {length} bytes (at most {max_header})")
    try:
        header = json.loads(_read(sock, length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"header is not UTF-8 JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    specs = header.pop("arrays", [])
    if not isinstance(specs, list) or len(specs) > max_arrays:
        raise ProtocolError(f"'arrays' must be a list of at most {max_arrays} [dtype, shape] pairs")
    shapes = [_array_spec(spec) for spec in specs]
    return header, [np.frombuffer(_read(sock, math.prod(shape) * dtype().itemsize), dtype).reshape(shape) for dtype, shape in shapes]


def _array_spec(spec: Any) -> tuple[type, tuple[int, ...]]:
    ok = isinstance(spec, list) and len(spec) == 2 and spec[0] in DTYPES and isinstance(spec[1], list)
    if not ok or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in spec[1]) or len(spec[1]) > 4:
        raise ProtocolError(f"bad array description {spec!r}: expected [dtype, shape] with dtype in {sorted(DTYPES)}")
    dtype, shape = DTYPES[spec[0]], tuple(spec[1])
    if math.prod(shape) * dtype().itemsize > MAX_ARRAY_BYTES:
        raise ProtocolError(f"array of shape {shape} is over {MAX_ARRAY_BYTES} bytes")
    return dtype, shape


def _read(sock: socket.socket, n: int, at_start: bool = False) -> bytearray:
    """Exactly ``n`` bytes (a bytearray, so arrays made from it are writable)."""
    data = bytearray(n)
    view, got = memoryview(data), 0
    while got < n:
        chunk = sock.recv_into(view[got:])
        if chunk == 0:
            raise Disconnected(clean=at_start and got == 0)
        got += chunk
    return data


def runtime_fields(runtime) -> dict[str, Any]:
    """RuntimeOptions as "hello" carries them: a local checkpoint directory made absolute (the server's
    working directory is not the client's); a hub id as it is."""
    from pathlib import Path

    from ..schema import declared

    model = Path(runtime.model).expanduser()
    fields = {o.name: getattr(runtime, o.name) for o in declared(type(runtime))}
    if model.is_dir():
        fields["model"] = str(model.resolve())
    return fields
