"""`bark serve`: the same bytes as in-process work, one request at a time, bad requests survived, a vanished
server reported in one line (exit 12), the socket and token kept to the user."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bark_cli.errors import ServerError
from bark_cli.options import GenerationOptions, RenderOptions, RuntimeOptions
from bark_cli.serve.address import find_server, runtime_dir
from bark_cli.serve.protocol import MAX_HEADER, VERSION, Disconnected, ProtocolError, receive, runtime_fields, send

ONE = "hello my name is suno"
TWO = "I like pizza and the water."
MANY = " ".join(f"Sentence number {n} is here." for n in range(40))  # many 1 s segments: a long request


# --- the real thing: `bark serve` and `bark say` as subprocesses --------------------------------------------


def _bark(*args: str) -> list[str]:
    return [sys.executable, "-m", "bark_cli", *args]


@pytest.fixture(scope="module")
def served(tiny_checkpoint, tmp_path_factory):
    """A `bark serve` subprocess on the tiny checkpoint, in a runtime directory of its own; its env for clients."""
    run = tmp_path_factory.mktemp("run")
    run.chmod(0o700)  # else platformdirs passes it over for a shared one
    env = {**os.environ, "BARK_MODEL": str(tiny_checkpoint), "XDG_RUNTIME_DIR": str(run),
           "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}  # fmt: skip
    with open(run / "serve.log", "wb") as log:
        server = subprocess.Popen(_bark("serve", "--verbose", "--idle-timeout", "300"), stdout=subprocess.PIPE, stderr=log, env=env)
        ready, _, _ = select.select([server.stdout], [], [], 240)
        address = server.stdout.readline().decode().strip() if ready else ""
        assert address, (run / "serve.log").read_text()
        yield server, env, Path(address)
        server.kill()
        server.wait()
        server.stdout.close()


def _say(env: dict, *args: str, wait: bool = True):
    process = subprocess.Popen(_bark("say", *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return process.communicate(timeout=300) + (process.returncode,) if wait else process


def test_say_through_the_server_is_byte_identical_to_in_process(served):
    server, env, address = served
    assert stat.S_IMODE(os.stat(address).st_mode) == 0o600 and stat.S_ISSOCK(os.stat(address).st_mode)
    assert stat.S_IMODE(os.stat(address.parent).st_mode) == 0o700
    common = ("-o", "-", "--max-seconds", "1", "--no-cache")
    alone = [_say(env, text, "--seed", seed, *common, "--no-server", "--verbose") for text, seed in ((ONE, "3"), (TWO, "4"))]
    assert all(rc == 0 and wav[:4] == b"RIFF" for wav, _, rc in alone), [err for _, err, _ in alone]
    assert all(b"loaded" in err and b"server" not in err for _, err, _ in alone)  # --no-server: in-process
    # Two clients at once: the server takes them one after the other, each gets its own audio.
    clients = [_say(env, text, "--seed", seed, *common, "--verbose", wait=False) for text, seed in ((ONE, "3"), (TWO, "4"))]
    for client, (wav, _, _) in zip(clients, alone):
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, err
        assert b"rendering on the server" in err
        assert out == wav
    assert server.poll() is None


def test_a_server_killed_mid_request_fails_the_client_in_one_line(served):
    server, env, _ = served
    client = subprocess.Popen(
        _bark("say", MANY, "--raw", "--segment-seconds", "1", "--max-seconds", "1", "--batch-size", "1", "--seed", "1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, pipesize=4096,
    )  # fmt: skip
    received = os.read(client.stdout.fileno(), 1000)  # the first segment's audio: the request is under way
    assert received
    server.send_signal(signal.SIGKILL)
    server.wait()
    out, err = client.communicate(timeout=120)
    lines = err.decode().strip().splitlines()
    assert client.returncode == ServerError.exit_code, err
    assert len(lines) == 1 and lines[0].startswith("bark: error: the server at ") and "went away" in lines[0], lines


# --- the server in this process, talked to over a socket pair -------------------------------------------------


@pytest.fixture
def conversation(synthesizer, tiny_checkpoint):
    """A client socket whose other end a `Server` handles in a thread (one connection)."""
    from bark_cli.serve.server import Server

    runtime = RuntimeOptions(model=str(tiny_checkpoint), device="cpu")
    ours, theirs = socket.socketpair()

    def answer() -> None:
        with theirs:  # as Server.run closes each connection
            Server(synthesizer, runtime).handle(theirs)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    ours.settimeout(60)
    yield ours, runtime
    ours.close()
    thread.join(60)
    assert not thread.is_alive()


def _hello(sock, runtime, **changes) -> dict:
    send(sock, {"op": "hello", "version": VERSION, "runtime": {**runtime_fields(runtime), **changes}})
    return receive(sock)[0]


def _render(texts=(ONE,), **changes) -> dict:
    return {"op": "render", "texts": list(texts), "seed": 1, "batch_size": 8, "in_order": True, "no_cache": True,
            "voice": None, "generation": {"max_seconds": 1.0}, **changes}  # fmt: skip


def _rendered(sock) -> list[dict]:
    replies = []
    while not (replies and ("done" in replies[-1] or "error" in replies[-1])):
        replies.append(receive(sock)[0])
    return replies


@pytest.mark.parametrize(
    "changes, why",
    [({"half": True}, "half"), ({"quantize": "int8"}, "quantize"), ({"model": "suno/bark"}, "model"),
     ({"device": "cuda:7"}, "device"), ({"device": 3}, "device")],
)  # fmt: skip
def test_hello_with_runtime_options_that_change_the_audio_is_declined(conversation, changes, why):
    sock, runtime = conversation
    reply = _hello(sock, runtime, **changes)
    assert reply["ok"] is False and why in reply["reason"]


@pytest.mark.parametrize("changes", [{"device": "auto"}, {"cpu_offload": True}])
def test_hello_with_the_same_audio_options_is_accepted(conversation, changes):
    from bark_cli.runtime.device import resolve_device

    sock, runtime = conversation
    cpu = resolve_device("auto").type == "cpu"  # the server runs on the CPU: "auto" is it where there is no GPU
    assert _hello(sock, runtime, **changes)["ok"] is (cpu or "device" not in changes)


@pytest.mark.parametrize(
    "request_, code",
    [
        (_render(seed=-1), 2),
        (_render(generation={"text_temp": 99}), 2),
        (_render(batch_size=0), 2),
        ({"op": "plan", "text": "   ", "segment_seconds": 5}, 2),
    ],
)
def test_a_request_with_bad_values_gets_its_error_and_the_connection_goes_on(conversation, request_, code):
    sock, runtime = conversation
    assert _hello(sock, runtime)["ok"]
    send(sock, request_)
    reply = receive(sock)[0]
    assert reply["exit_code"] == code and "bad request" not in reply["error"], reply
    send(sock, _render())  # the same connection still renders
    assert _rendered(sock)[-1]["done"]


def test_render_replies_carry_the_quality_gate_of_each_segment(conversation):
    """The kept take's seed, number and checks come with each segment; the stats count retakes."""
    from bark_cli.pipeline import Pipeline, Recording
    from bark_cli.quality.checks import CHECKS

    sock, runtime = conversation
    assert _hello(sock, runtime)["ok"]
    send(sock, _render(texts=[ONE, TWO], retakes=1))
    *segments, done = _rendered(sock)
    assert [r["segment"] for r in segments] == [0, 1] and {"retaken", "flagged"} <= set(done)
    # The same render in this process: the same takes kept, the same verdicts.
    local = Pipeline(runtime, retakes=1)
    recording = Recording([ONE, TWO], None, GenerationOptions(max_seconds=1.0, seed=1), 1)
    for reply, (_, _, result) in zip(segments, local.render([recording], 8, in_order=True)):
        assert reply["report"]["checked"] == list(CHECKS)
        assert (reply["seed"], reply["take"], reply["takes"]) == (result.seed, result.take, result.takes)
        assert reply["report"]["flags"] == list(result.report.flags)
    send(sock, _render(retakes=0))
    assert _rendered(sock)[0]["report"] is None  # the gate off: no checks


@pytest.mark.parametrize(
    "request_", [_render(texts=[]), {**_render(), "texts": "hello"}, _render(voice="bad"), {"op": "dance"}, {"text": 1}]
)
def test_a_malformed_request_gets_one_error_and_a_closed_connection(conversation, request_):
    sock, runtime = conversation
    assert _hello(sock, runtime)["ok"]
    send(sock, request_)
    reply = receive(sock)[0]
    assert reply["exit_code"] == 2 and reply["error"].startswith("bad request"), reply
    with pytest.raises(Disconnected):
        receive(sock)


def test_a_bad_voice_is_a_voice_error(conversation):
    sock, runtime = conversation
    assert _hello(sock, runtime)["ok"]
    arrays = [np.array([20_000]), np.zeros((2, 3), np.int64), np.zeros((8, 3), np.int64)]
    send(sock, _render(voice="v"), arrays)
    assert receive(sock)[0]["exit_code"] == 3


def _frame(header: bytes) -> bytes:
    return struct.pack(">I", len(header)) + header


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xff\xff\xff",  # a header over the limit
        _frame(b"nope!"),  # not JSON
        _frame(b"[]"),  # not an object
        _frame(b'{"op": "hello", "arrays": [["|O", [1]]]}'),  # an object array
        _frame(b'{"op": "render"}'),  # not a hello
    ],
)
def test_garbage_gets_one_error_and_a_closed_connection(conversation, raw):
    sock, _ = conversation
    sock.sendall(raw)
    reply = receive(sock)[0]
    assert reply["exit_code"] == 2 and reply["error"].startswith("bad request")
    with pytest.raises(Disconnected):
        receive(sock)


def test_a_client_that_leaves_mid_render_ends_only_its_request(synthesizer, tiny_checkpoint):
    from bark_cli.serve.server import Server

    runtime = RuntimeOptions(model=str(tiny_checkpoint), device="cpu")
    server = Server(synthesizer, runtime)
    ours, theirs = socket.socketpair()
    send(ours, {"op": "hello", "version": VERSION, "runtime": runtime_fields(runtime)})
    send(ours, _render(texts=[ONE, TWO, ONE], batch_size=1, progress=True))
    ours.close()  # gone before the first reply
    server.handle(theirs)  # returns: nothing raised for the client's doing
    theirs.close()
    # and the next connection renders as if nothing happened
    ours, theirs = socket.socketpair()
    send(ours, {"op": "hello", "version": VERSION, "runtime": runtime_fields(runtime)})
    send(ours, _render())
    ours.shutdown(socket.SHUT_WR)
    server.handle(theirs)
    assert receive(ours)[0]["ok"] and _rendered(ours)[-1]["done"]


# --- serve() itself: lock, TCP with a token, idle timeout, files removed ---------------------------------------


def _serving(runtime, **kwargs):
    from bark_cli.serve.server import serve

    ready, failed = threading.Event(), []

    def run():
        try:
            serve(runtime, ready=lambda address: (failed.append(address), ready.set()), **kwargs)
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(120) and not isinstance(failed[0], BaseException), failed
    return thread, failed[0]


def test_tcp_server_with_token_renders_for_say_then_stops_when_idle(tiny_checkpoint, tmp_path, caplog):
    from bark_cli import api
    from bark_cli.serve.client import connect
    from bark_cli.serve.server import serve

    runtime = RuntimeOptions(model=str(tiny_checkpoint), device="cpu")
    thread, address = _serving(runtime, port=0, idle_timeout=3)
    announced = runtime_dir() / "tcp.json"
    info = json.loads(announced.read_text())
    assert stat.S_IMODE(announced.stat().st_mode) == 0o600
    assert info["host"] == "127.0.0.1" and info["port"] == address.port and len(info["token"]) >= 32
    with pytest.raises(ServerError, match="already running"):
        serve(runtime, port=0)
    with socket.create_connection(("127.0.0.1", address.port), timeout=60) as stranger:  # no token: refused
        send(stranger, {"op": "hello", "version": VERSION, "token": "guess", "runtime": runtime_fields(runtime)})
        assert receive(stranger)[0]["error"] == "wrong token"
    with socket.create_connection(("127.0.0.1", address.port), timeout=60) as stranger:  # nor a big hello
        stranger.sendall(struct.pack(">I", 2**20))  # refused on its length alone
        assert "header of" in receive(stranger)[0]["error"]

    options = {"generation": GenerationOptions(seed=5, max_seconds=1.0), "runtime": runtime, "render": RenderOptions(no_cache=True)}
    progress = [Stages(), Stages()]
    alone = api.say(TWO, tmp_path / "alone.wav", progress=progress[0], **options)
    with caplog.at_level(logging.INFO, logger="bark_cli"):
        assert connect(replace_runtime(runtime, half=True)) is None
    assert "half" in caplog.text
    connection = connect(runtime)
    assert connection is not None
    with connection:
        served = api.say(TWO, tmp_path / "served.wav", server=connection, progress=progress[1], **options)
    assert (tmp_path / "served.wav").read_bytes() == (tmp_path / "alone.wav").read_bytes()
    assert served.segments == alone.segments and served.seed == alone.seed
    assert progress[1].events == progress[0].events  # the stages' progress shows as in-process
    thread.join(60)  # idle for 3 s: it stops, and takes its files with it
    assert not thread.is_alive() and not announced.exists() and find_server() is None


class Stages:
    """A Progress that records what it is told."""

    def __init__(self):
        self.events = []

    def start(self, stage, total, unit):
        self.events.append(("start", stage, total, unit))

    def advance(self, stage, amount=1):
        self.events.append(("advance", stage, amount))

    def finish(self, stage):
        self.events.append(("finish", stage))


def test_an_error_reply_keeps_its_exit_code():
    from bark_cli.serve.client import _reported

    assert _reported({"error": "voice x lacks y", "exit_code": 3}).exit_code == 3
    assert _reported({"error": "?", "exit_code": 99}).exit_code == ServerError.exit_code
    assert _reported({"error": "?", "exit_code": 0}).exit_code == ServerError.exit_code


def replace_runtime(runtime, **changes):
    from dataclasses import replace

    return replace(runtime, **changes)


# --- the runtime directory and the wire format -------------------------------------------------------------


def test_tests_never_see_a_users_server(tmp_path):
    assert runtime_dir().is_relative_to(tmp_path.parent) and find_server() is None  # this run's own


def test_a_runtime_directory_open_to_others_is_neither_used_nor_served_from(tmp_path, tiny_checkpoint):
    from bark_cli.serve.server import serve

    directory = runtime_dir(create=True)
    (directory / "bark.sock").touch()
    os.chmod(directory, 0o755)
    assert find_server() is None
    with pytest.raises(ServerError, match="chmod 700"):
        serve(RuntimeOptions(model=str(tiny_checkpoint), device="cpu"))


def test_messages_round_trip_arrays_and_refuse_what_is_over_the_limits():
    a, b = socket.socketpair()
    with a, b:
        arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(4)]
        send(a, {"x": "é"}, arrays)
        header, back = receive(b)
        assert header == {"x": "é"} and all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(arrays, back))
        back[0][0, 0] = 1  # writable
        a.sendall(struct.pack(">I", MAX_HEADER + 1))
        with pytest.raises(ProtocolError, match="header of"):
            receive(b)
        a.sendall(_frame(b'{"arrays": [["<f4", [65536, 65536]]], "x": 1}'))
        with pytest.raises(ProtocolError, match="over"):
            receive(b)


def test_the_client_side_of_say_imports_no_torch():
    code = "import sys, bark_cli.cli.app, bark_cli.api, bark_cli.serve.client; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
