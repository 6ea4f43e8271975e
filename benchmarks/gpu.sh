#!/usr/bin/env bash
# One-shot GPU benchmark for a lent CUDA machine (no network there): installs the wheels the
# project needs beyond the machine's image from .whl/ (see benchmarks/README.md), then prints
# one table. Runs in well under 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 benchmarks/bench_gpu.py "$@"
