"""How many CPU threads torch gets: --threads, or the cores that no other process is keeping busy.

torch's default, one thread per core, oversubscribes a machine where another process is busy: every
parallel region then waits for its slowest thread, whose core is shared. On 2 cores with one kept busy,
the tiny checkpoint's 1 s of audio took a median 20.8 s with 2 threads and 0.34 s with one
(docs/PERFORMANCE-threads.md). The automatic choice counts the idle cores over a short sample of
/proc/stat (Linux), or from the load average elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

log = logging.getLogger("bark_cli")

SAMPLE_SECONDS = 0.1  # how long the cores are watched: long enough to see a busy process, short at start-up
BUSY_SHARE = 0.5  # a core busier than this (in total, over the sample) counts as taken


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores together, from /proc/stat; None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as stream:
            fields = stream.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [float(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_cores(sample_seconds: float = SAMPLE_SECONDS) -> float:
    """How many cores' worth of work the machine is doing now (other processes, as this one is waiting)."""
    before = _cpu_times()
    if before is None:
        try:
            return os.getloadavg()[0]  # the last minute's runnable processes
        except (AttributeError, OSError):
            return 0.0
    time.sleep(sample_seconds)
    after = _cpu_times()
    busy, total = after[0] - before[0], after[1] - before[1]
    cores = os.cpu_count() or 1
    return cores * busy / total if total > 0 else 0.0


def auto_threads(cores: int, busy: float) -> int:
    """Threads for ``cores`` usable cores while ``busy`` cores' worth of other work runs: one per core
    left idle, and at least one."""
    taken = int(busy + (1 - BUSY_SHARE))  # round half down: a core busy more than half the time is taken
    return max(1, min(cores, cores - taken))


def choose_threads(threads: int | None) -> int:
    """``threads`` (--threads), else OMP_NUM_THREADS when the user set it, else the idle cores."""
    if threads is not None:
        return threads
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    cores = usable_cores()
    if cores == 1:
        return 1
    busy = busy_cores()
    chosen = auto_threads(cores, busy)
    log.info("threads: %d (%d core(s), %.1f busy)", chosen, cores, busy)
    return chosen


def set_threads(threads: int | None) -> int:
    """Give torch the chosen number of threads (intra-op; the native kernels use the same pool)."""
    import torch

    chosen = choose_threads(threads)
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    return chosen


@contextlib.contextmanager
def single_thread():
    """Run the block on one thread: EnCodec's convolutions round differently with each thread count (a 16-bit
    sample one step off here and there), and the automatic choice varies with the machine's load; on one
    thread, the same codes give the same bytes whatever --threads is. The codec is a few percent of the
    work (docs/PERFORMANCE.md: 0.19 of 17.5 s for a 3 s clip)."""
    import torch

    threads = torch.get_num_threads()
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)
