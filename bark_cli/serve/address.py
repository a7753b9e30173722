"""Where a `bark serve` listens, and how a client finds it: files in the user's runtime directory.

    $XDG_RUNTIME_DIR/bark-cli/     mode 0700, owned by the user (checked by server and client alike)
        bark.sock                  the Unix socket (mode 0600)
        tcp.json                   with --port: {"host", "port", "token", "pid"} (mode 0600)
        serve.lock                 held by the running server: one server per user at a time

The server holds the lock, binds and removes its files (`server_lock`, `listening`); clients look them
up (`find_server`). Without XDG_RUNTIME_DIR, platformdirs picks the platform's runtime directory (or a checked fallback
under /tmp). No other user can connect to the socket or read the token; the TCP port is bound to
127.0.0.1 only, and every connection must present the token.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ServerError

SOCKET_NAME = "bark.sock"
TCP_NAME = "tcp.json"
LOCK_NAME = "serve.lock"
LOCALHOST = "127.0.0.1"
BACKLOG = 64  # connections waiting their turn


@dataclass(frozen=True)
class Address:
    """A server's address: a Unix socket path, or localhost TCP with its token."""

    path: Path | None = None
    port: int | None = None
    token: str | None = None

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else f"{LOCALHOST}:{self.port}"


def runtime_dir(create: bool = False) -> Path:
    """bark's runtime directory, checked to be the user's alone (0700); ServerError otherwise.
    ``create``: make it (and its parent) when missing."""
    import warnings

    import platformdirs

    with warnings.catch_warnings():  # platformdirs warns when it falls back to /tmp; we check the result
        warnings.simplefilter("ignore")
        try:
            directory = Path(platformdirs.user_runtime_dir("bark-cli"))
        except (OSError, RuntimeError, ValueError) as exc:
            raise ServerError(f"no usable runtime directory ({exc}); set XDG_RUNTIME_DIR") from None
    if create:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerError(f"cannot create the runtime directory {directory}: {exc.strerror}") from None
    check_private(directory)
    return directory


def check_private(directory: Path) -> None:
    """The directory must be a real directory of this user that nobody else may enter (mode 0700)."""
    try:
        status = os.lstat(directory)
    except FileNotFoundError:
        return  # nothing there: no server, and nothing to trust or distrust
    except OSError as exc:
        raise ServerError(f"cannot read the runtime directory {directory}: {exc.strerror}") from None
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
        raise ServerError(f"{directory} is not a directory of this user: remove it, or set XDG_RUNTIME_DIR")
    if status.st_mode & 0o077:
        raise ServerError(f"{directory} is open to other users (mode {stat.S_IMODE(status.st_mode):o}): chmod 700 it")


def socket_path(directory: Path) -> Path:
    return directory / SOCKET_NAME


def read_tcp(directory: Path) -> Address | None:
    """The TCP server announced in ``directory`` (its process still alive), or None."""
    try:
        info = json.loads((directory / TCP_NAME).read_text(encoding="utf-8"))
        port, token, pid = int(info["port"]), str(info["token"]), int(info["pid"])
        os.kill(pid, 0)  # a server killed with SIGKILL leaves its file behind
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Address(port=port, token=token)


def write_tcp(directory: Path, port: int, token: str) -> Path:
    """Announce a TCP server, readable by this user only."""
    from ..files import atomic_open

    path = directory / TCP_NAME
    previous = os.umask(0o177)
    try:
        with atomic_open(path, "w", encoding="utf-8") as f:
            json.dump({"host": LOCALHOST, "port": port, "token": token, "pid": os.getpid()}, f)
    finally:
        os.umask(previous)
    return path


def find_server() -> Address | None:
    """The running server a client should try: the Unix socket, else an announced TCP server; None."""
    try:
        directory = runtime_dir()
    except ServerError:
        return None  # a directory we cannot trust is never used
    path = socket_path(directory)
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            return Address(path=path)
    except OSError:
        pass
    return read_tcp(directory)


@contextlib.contextmanager
def server_lock(directory: Path) -> Iterator[None]:
    """Hold the user's server lock (released by the kernel however the process ends)."""
    from filelock import FileLock, Timeout

    lock = FileLock(directory / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ServerError(f"a bark serve is already running for this user (its files are in {directory})") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def listening(directory: Path, port: int | None, token: str | None) -> Iterator[tuple[socket.socket, Address]]:
    """A listening socket and its address; its files are removed when the block ends. We hold the lock,
    so a socket or tcp.json already there is a dead server's."""
    owned: list[Path] = []
    try:
        if port is None:
            path = socket_path(directory)
            path.unlink(missing_ok=True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            previous = os.umask(0o177)  # the socket is born 0600: no moment where another user could connect
            try:
                listener.bind(str(path))
            finally:
                os.umask(previous)
            owned.append(path)
            address = Address(path=path)
        else:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOCALHOST, port))
            address = Address(port=listener.getsockname()[1], token=token)
            owned.append(write_tcp(directory, address.port, token))
        listener.listen(BACKLOG)
    except OSError as exc:
        for path in owned:
            path.unlink(missing_ok=True)
        where = f"{LOCALHOST}:{port}" if port is not None else str(socket_path(directory))
        raise ServerError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    try:
        with listener:
            yield listener, address
    finally:
        for path in owned:
            path.unlink(missing_ok=True)


def peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's user on a Unix socket (Linux), else None (unknown)."""
    if conn.family != socket.AF_UNIX or not hasattr(socket, "SO_PEERCRED"):
        return None
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid
