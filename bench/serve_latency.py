"""Time to first audio of `bark say` through a running `bark serve`, against the same call in its own process.

    python bench/serve_latency.py                    # the tiny test checkpoint (tests/tiny_bark.py), 5 runs each
    python bench/serve_latency.py --model DIR --runs 3 --json out.json
    python bench/serve_latency.py --threads 1        # torch on one thread (OMP_NUM_THREADS) in every process

Each call is a fresh `bark say TEXT --raw` process, as a shell or script runs it; "first audio" is the
first PCM byte on its stdout, "done" its exit, both from the moment it is started. The server's first
request is reported apart (it pays one-off costs); the "second" calls are the ones after it. Runs in a
runtime and cache directory of its own, so it neither uses nor disturbs a server of yours. Run it on an
idle machine: the script reports the load average before it starts and the CPU share other processes
took while it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "hello my name is suno"
SAY = ["--raw", "--max-seconds", "1", "--seed", "1", "--no-cache"]


def bark(*args: str) -> list[str]:
    return [sys.executable, "-m", "bark_cli", *args]


def timed_say(env: dict, *extra: str) -> dict:
    """One `bark say --raw` process: seconds to its first audio byte and to its exit."""
    started = time.perf_counter()
    process = subprocess.Popen(bark("say", TEXT, *SAY, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = os.read(process.stdout.fileno(), 1)
    first_s = time.perf_counter() - started
    rest, err = process.communicate()
    done_s = time.perf_counter() - started
    if process.returncode != 0 or not first:
        raise SystemExit(f"bark say failed ({process.returncode}): {err.decode()[-500:]}")
    return {"first_audio_s": first_s, "done_s": done_s, "bytes": len(first) + len(rest), "stderr": err.decode()}


def client_imports(env: dict) -> float:
    """Seconds for a fresh interpreter to import what `bark say` through a server needs (the floor of a call)."""
    code = "import bark_cli.cli.app, bark_cli.api, bark_cli.serve.client"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def busy_seconds() -> float:
    """CPU seconds used by every process since boot (/proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:8]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def summary(runs: list[dict]) -> dict:
    return {key: {"median": statistics.median(r[key] for r in runs), "min": min(r[key] for r in runs),
                  "max": max(r[key] for r in runs)} for key in ("first_audio_s", "done_s")}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="checkpoint directory (default: build the tiny test checkpoint)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every process (default: torch's choice)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bark-serve-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            sys.path.insert(0, str(ROOT / "tests"))
            from tiny_bark import build_tiny_bark

            model = str(build_tiny_bark(tmp / "tiny"))
        (tmp / "run").mkdir(mode=0o700)
        env = {**os.environ, "BARK_MODEL": model, "BARK_DEVICE": "cpu", "XDG_RUNTIME_DIR": str(tmp / "run"),
               "XDG_CACHE_HOME": str(tmp / "cache"), "HF_HUB_OFFLINE": "1"}  # fmt: skip
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        load = os.getloadavg()
        cpus = os.cpu_count() or 1
        busy, wall = busy_seconds(), time.perf_counter()
        own = os.times()

        in_process = [timed_say(env, "--no-server") for _ in range(args.runs)]
        log = open(tmp / "serve.log", "w+b")  # the server's -v lines: how long each request took it
        server = subprocess.Popen(bark("serve", "--verbose", "--idle-timeout", "600"), stdout=subprocess.PIPE, stderr=log, env=env)
        started = time.perf_counter()
        if not select.select([server.stdout], [], [], 600)[0] or not server.stdout.readline():
            raise SystemExit(f"bark serve did not start: {(tmp / 'serve.log').read_text()[-500:]}")
        ready_s = time.perf_counter() - started
        try:
            first = timed_say(env, "--verbose")
            if "rendering on the server" not in first["stderr"]:
                raise SystemExit("bark say did not use the server: " + first["stderr"][-500:])
            second = [timed_say(env) for _ in range(args.runs)]
        finally:
            server.terminate()
            server.wait()
            log.close()
        answered = [line.split(" in ")[-1].split()[0] for line in (tmp / "serve.log").read_text().splitlines()
                    if "render request answered" in line]  # fmt: skip
        server_render = [float(x) for x in answered[1:]]  # the second calls' renders, on the server

        children = os.times()
        ours = (children.children_user + children.children_system) - (own.children_user + own.children_system)
        elapsed = time.perf_counter() - wall
        other_pct = 100 * max(0.0, busy_seconds() - busy - ours) / (elapsed * cpus)
    result = {
        "model": args.model or "tests/tiny_bark.py", "text": TEXT, "args": SAY, "runs": args.runs, "cpus": cpus,
        "threads": args.threads or "torch default", "client_imports_s": client_imports(env),
        "load_average_before": load, "other_processes_cpu_pct": other_pct, "server_ready_s": ready_s,
        "in_process": summary(in_process), "server_first": {k: first[k] for k in ("first_audio_s", "done_s")},
        "server_second": summary(second),
        "server_render_s": {"median": statistics.median(server_render), "min": min(server_render), "max": max(server_render)},
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
