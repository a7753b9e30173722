"""Ray actors that generate stage batches, and the driver's `RaySynthesizer` that feeds them.

Determinism: every row of a batch samples from its own generator seeded by its segment (pipeline.py), so a
batch's codes are the same whichever worker runs it, and however the batches are split between workers.
Faults: an actor killed mid-batch is restarted (``max_restarts``) and its batch sent again
(``max_task_retries``); the driver only ever sees each batch's results once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..errors import BarkError, DeviceError, MissingExtraError
from ..options import ClusterOptions, GenerationOptions, RuntimeOptions
from ..progress import NullProgress, Progress
from ..text.normalize import text_token_ids

INSTALL = "pip install 'bark-cli[ray]'"
RESTARTS = 3  # times a worker that died is started again (and its batch retried) before the run fails
MAX_IN_FLIGHT = 1 << 30  # batches sent before the first result is awaited: all of a round (Ray queues them)
CPUS_PER_WORKER = 1  # Ray CPUs an actor reserves (its torch threads follow --threads)


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(f"--ray needs Ray, which is not installed: {INSTALL}") from exc
    return ray


def connect(cluster: ClusterOptions) -> None:
    """Join the cluster ``cluster.ray`` names (or start a local one), with Ray's own logs kept off stdout."""
    ray = _ray()
    if ray.is_initialized():  # already joined by this process (a test, a notebook): use it
        return
    address = None if cluster.ray == "local" else cluster.ray
    try:
        # log_to_driver off: the workers' prints and logs stay in Ray's log files, never on our stdout.
        ray.init(
            address=address, log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False,
            configure_logging=True,
        )  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BarkError(f"--ray {cluster.ray}: cannot reach the Ray cluster: {exc}") from exc


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
    both loaded on first use; ``generate_many`` sends every batch at once, round robin over the workers."""

    def __init__(self, runtime: RuntimeOptions, cluster: ClusterOptions):
        self.runtime, self.cluster = runtime, cluster
        self._tokenizer = None
        # Every batch the pipeline can form at once is sent at once (pipeline.Pipeline._fill), so which
        # segments share a batch never depends on the number of workers (nor on which finishes first).
        self.parallel = MAX_IN_FLIGHT
        self._actors: list | None = None
        self._next = 0  # the actor that gets the next batch (round robin)

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

    def _actor(self):
        actor = self.actors[self._next % len(self.actors)]
        self._next += 1
        return actor

    def _get(self, ref):
        ray = _ray()
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the worker's own error, e.g. missing weights: as is
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BarkError):
                raise type(cause)(str(cause)) from exc
            raise BarkError(f"a Ray worker failed: {cause or exc}") from exc
        except ray.exceptions.RayError as exc:  # the worker died more than RESTARTS times, or the cluster went away
            raise BarkError(f"the Ray cluster failed: {exc}") from exc

    def token_ids(self, text: str) -> np.ndarray:
        return text_token_ids(self.tokenizer, text)

    def generate_many(
        self, batches: list[tuple[list, GenerationOptions]], progress: Progress = NullProgress()
    ) -> Iterator[list]:
        """Send every batch at once, then hand back their results in order."""
        refs = [self._actor().generate.remote(segments, options) for segments, options in batches]
        for ref in refs:
            yield self._get(ref)

    def generate(self, segments: list, options: GenerationOptions, progress: Progress = NullProgress()) -> list:
        return next(self.generate_many([(segments, options)], progress))

    def decode(self, fine: np.ndarray) -> np.ndarray:
        return self._get(self._actor().decode.remote(fine))

    def peak_gpu_mib(self) -> float | None:
        return None
