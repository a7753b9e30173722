#!/usr/bin/env bash
# One prepared GPU check (issue 12), for the device machine (../shared/gpu/README.md):
#   bash .device/on-device.sh bash bench/gpu_check.sh
# CUDA tests, the GPU benchmark (bark-small and bark shapes), then whole `bark say` processes from a saved
# bark-small checkpoint. Every part has its own time limit and writes under $OUT as it goes, so a part
# that fails or overruns leaves the others' results.
set -u
out=${OUT:-/tmp/bark-gpu-check}
mkdir -p "$out"
started=$(date +%s)
stamp() { echo "[$(( $(date +%s) - started )) s] $*" | tee -a "$out/progress.txt"; }

nvidia-smi > "$out/nvidia-smi.txt" 2>&1
stamp "CUDA tests"
timeout 140 python3 -m pytest -q -p no:cacheprovider -m cuda -s tests/test_cuda.py > "$out/pytest-cuda.txt" 2>&1
stamp "pytest exit $?"

stamp "benchmark: bark-small then bark shapes"
timeout ${BENCH_TIMEOUT:-270} python3 bench/bench.py --device cuda --model-size both \
  --out "$out/PERFORMANCE-gpu.md" --json "$out/gpu.json" > "$out/bench.log" 2>&1
stamp "benchmark exit $?"

stamp "whole process: saving a bark-small checkpoint"
ckpt=$(mktemp -d)
(cd bench && timeout 60 python3 -c "import sys; from bench_run import save_checkpoint; print(save_checkpoint('small', 0, sys.argv[1]))" "$ckpt") \
  > "$out/save.txt" 2>&1
stamp "saved (exit $?)"
timeout 100 python3 bench/startup.py "$ckpt" --device cuda --json "$out/startup.json" > "$out/startup.txt" 2>&1
stamp "startup exit $?"
