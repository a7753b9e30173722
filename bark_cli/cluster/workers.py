"""Ray actors that generate stage batches, and the driver's `RaySynthesizer` that feeds them.

Determinism: every row of a batch samples from its own generator seeded by its segment
(pipeline/segments.py), so a batch's codes are the same whichever worker runs it, and however the batches
are split between workers.
Faults: an actor killed mid-batch is restarted (``max_restarts``) and its batch sent again
(``max_task_retries``); the driver only ever sees each batch's results once.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..errors import BarkError, ClusterError, DeviceError, MissingExtraError, out_of_memory
from ..options import ClusterOptions, GenerationOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..text.normalize import text_token_ids

INSTALL = "pip install 'bark-cli[ray]'"
RESTARTS = 3  # times a worker that died is started again (and its batch retried) before the run fails
WINDOWS_PER_WORKER = 2  # windows of `bark batch` rendered at once, per worker: one running, one queued
PROBE_SECONDS = 5.0  # how long an address given to --ray may take to accept a connection
CPUS_PER_WORKER = 1  # Ray CPUs an actor reserves (its torch threads follow --threads)


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(f"--ray needs Ray, which is not installed: {INSTALL}") from exc
    return ray


def _first_line(exc: object) -> str:
    """Ray's messages run to many lines (tracebacks, hints); ours are one."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _reachable(address: str) -> bool:
    """Whether HOST:PORT (or ray://HOST:PORT) takes a TCP connection within PROBE_SECONDS: ray.init itself
    retries an unreachable address for minutes, logging to stderr all the while."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_SECONDS).close()
    except (OSError, ValueError):
        return False
    return True


def connect(cluster: ClusterOptions) -> None:
    """Join the cluster ``cluster.ray`` names (or start a local one), with Ray's own logs kept off stdout."""
    ray = _ray()
    address = None if cluster.ray == "local" else cluster.ray
    what = "start one with `ray start --head`, or use --ray local for a Ray of its own on this machine"
    if address not in (None, "auto") and not _reachable(address):
        raise ClusterError(f"--ray {cluster.ray}: no Ray cluster answers there within {PROBE_SECONDS:g} s; {what}")
    if ray.is_initialized():  # already joined by this process (a test, a notebook): use it
        return
    try:
        # log_to_driver off: the workers' prints and logs stay in Ray's log files, never on our stdout.
        ray.init(
            address=address, log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False,
            configure_logging=True,
        )  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"--ray {cluster.ray}: cannot reach the Ray cluster ({_first_line(exc)}); {what}") from exc


def worker_runtime(runtime: RuntimeOptions, cluster: ClusterOptions) -> RuntimeOptions:
    """The runtime the workers run with, its device resolved here (the cache keys hold the device type):
    a worker with GPUs sees its own as "cuda" (Ray sets CUDA_VISIBLE_DEVICES), one without runs on the CPU."""
    if cluster.gpus_per_worker > 0:
        if runtime.device not in ("auto", "cuda") and not runtime.device.startswith("cuda:"):
            raise DeviceError(f"--gpus-per-worker {cluster.gpus_per_worker:g} with --device {runtime.device}")
        return replace(runtime, device="cuda")
    if runtime.device not in ("auto", "cpu"):
        raise DeviceError(f"--device {runtime.device} needs --gpus-per-worker above 0")
    return replace(runtime, device="cpu")


class BarkWorker:
    """One actor: the networks loaded once with the run's runtime options, generating batch after batch."""

    def __init__(self, runtime: RuntimeOptions):
        from ..pipeline import Synthesizer

        self.synthesizer = Synthesizer.load(runtime)

    def generate(self, segments, options: GenerationOptions):
        return self.synthesizer.generate(segments, options)

    def decode(self, fine: np.ndarray) -> np.ndarray:
        return self.synthesizer.decode(fine)


class RaySynthesizer:
    """Stands for pipeline.Synthesizer on the driver: the tokenizer here, the networks on ``workers`` actors,
    both loaded on first use. ``generate_many`` sends every batch of a round at once, each to the worker with
    the fewest batches in hand, and hands back the results in the order sent."""

    def __init__(self, runtime: RuntimeOptions, cluster: ClusterOptions):
        self.runtime, self.cluster = runtime, cluster
        self._tokenizer = None
        # `bark batch` renders this many windows at once (pipeline/rounds.py), so that a worker has a batch
        # queued behind the one it runs even when each window's round is one batch (one-segment items).
        self.windows = WINDOWS_PER_WORKER * cluster.workers
        self._actors: list | None = None
        self.in_hand: list[int] = [0] * cluster.workers  # batches sent to each worker and not taken back
        self.batches: list[int] = [0] * cluster.workers  # batches each worker was sent, in all
        self.most_in_flight = 0  # the most batches out at once (bench/bench_ray.py, tests/test_ray.py)

    @property
    def actors(self) -> list:
        if self._actors is None:
            ray = _ray()
            actor = ray.remote(BarkWorker).options(
                num_cpus=CPUS_PER_WORKER, num_gpus=self.cluster.gpus_per_worker,
                max_restarts=RESTARTS, max_task_retries=RESTARTS,
            )  # fmt: skip
            self._actors = [actor.remote(self.runtime) for _ in range(self.cluster.workers)]
        return self._actors

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from ..runtime.loading import load_tokenizer

            self._tokenizer = load_tokenizer(self.runtime.model)
        return self._tokenizer

    def _send(self, method: str, *args):
        """Call ``method`` on the worker with the fewest batches in hand; (worker, reference)."""
        actors = self.actors
        worker = min(range(len(actors)), key=lambda k: (self.in_hand[k], self.batches[k]))
        self.in_hand[worker] += 1
        self.batches[worker] += 1
        self.most_in_flight = max(self.most_in_flight, sum(self.in_hand))
        return worker, getattr(actors[worker], method).remote(*args)

    def _take(self, sent):
        worker, ref = sent
        try:
            return self._get(ref)
        finally:
            self.in_hand[worker] -= 1

    def _get(self, ref):
        ray = _ray()
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the worker's own error, e.g. missing weights: as is
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BarkError):
                raise type(cause)(str(cause)) from exc
            oom = out_of_memory(cause) if isinstance(cause, BaseException) else None
            if oom is not None:  # a worker's GPU or RAM: the batch is too large there
                raise oom from exc
            raise BarkError(f"a Ray worker failed: {_first_line(cause or exc)}") from exc
        except ray.exceptions.RayError as exc:  # the worker died more than RESTARTS times, or the cluster went away
            raise ClusterError(f"the Ray cluster failed: {_first_line(exc)}; rerun to resume") from exc

    def token_ids(self, text: str) -> np.ndarray:
        return text_token_ids(self.tokenizer, text)

    def generate_many(
        self, batches: list[tuple[list, GenerationOptions]], progress: Progress = NullProgress()
    ) -> Iterator[list]:
        """Send every batch now; the results are taken back, in order, as the caller asks for them."""
        sent = [self._send("generate", segments, options) for segments, options in batches]
        return (self._take(one) for one in sent)

    def generate(self, segments: list, options: GenerationOptions, progress: Progress = NullProgress()) -> list:
        return next(self.generate_many([(segments, options)], progress))

    def decode(self, fine: np.ndarray) -> np.ndarray:
        return self._take(self._send("decode", fine))

    def peak_gpu_mib(self) -> float | None:
        return None
