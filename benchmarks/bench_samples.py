"""Cost of several outputs per input: K = 1, 4, 16 samples of 256-px inputs (issue #14).

docs/theory.md 3.9 streams the conditional statistics batch by batch, so K samples should
cost at most K times one sample's audit plus a constant, and peak memory should stay set by
the batch, not by K. Each point runs in a fresh subprocess (so peak RSS is its own) and
audits in-memory tensors: photo crops (tests/support/sample_pairs.py) as ground truth and K
noisy "samples" of each (seeded Gaussian noise, sigma 0.03), all in one group. Printed: wall
and CPU seconds of the audit, CPU per pair, the ratio CPU(K) / (K CPU(1)), and peak RSS
(VmHWM) above the imports.

Usage: python benchmarks/bench_samples.py [--inputs 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def vm_hwm_mib() -> float:
    """Peak RSS of this process (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def point(inputs: int, k: int) -> dict[str, float]:
    """Audit ``inputs`` crops with ``k`` samples each, in this process."""
    import numpy as np
    import torch

    from api_schemas import AuditOptions
    from tests.support.sample_pairs import crops
    from workers.engine import PairSource, run_audit

    torch.manual_seed(0)
    truths = [
        torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1).float() / 255
        for c in crops(inputs, 256, seed=0)
    ]
    generator = torch.Generator().manual_seed(1)
    pairs = []
    for i, truth in enumerate(truths):
        for s in range(k):
            noisy = (truth + 0.03 * torch.randn(truth.shape, generator=generator)).clamp(0, 1)
            pairs.append(
                PairSource(
                    f"in{i}-s{s}", "g", truth, noisy, None,
                    input=f"in{i}" if k > 1 else None, sample=s if k > 1 else None,
                )
            )  # fmt: skip
    options = AuditOptions(maps=False, bootstrap={"resamples": 200})
    base = vm_hwm_mib()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run_audit(pairs, options, device="cpu")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cpu": cpu, "wall": wall, "peak_mib": vm_hwm_mib() - base, "pairs": len(pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--point", nargs=2, type=int, metavar=("INPUTS", "K"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.point:
        print(json.dumps(point(*args.point)))
        return
    import torch

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        f"{args.inputs} inputs of 256x256 RGB (luma statistics), K samples each, "
        f"median of {args.repeats}"
    )
    results: dict[int, dict[str, float]] = {}
    for k in (1, 4, 16):
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--point", str(args.inputs), str(k)],
                capture_output=True, text=True, check=True, cwd=REPO,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        cpu = sorted(r["cpu"] for r in runs)[len(runs) // 2]
        wall = sorted(r["wall"] for r in runs)[len(runs) // 2]
        peak = max(r["peak_mib"] for r in runs)
        results[k] = {"cpu": cpu, "wall": wall, "peak": peak, "pairs": runs[0]["pairs"]}
    one = results[1]["cpu"]
    print(
        f"{'K':>3} {'pairs':>6} {'wall s':>8} {'CPU s':>8} {'CPU ms/pair':>12} "
        f"{'CPU / (K CPU(1))':>17} {'peak MiB':>9}"
    )
    for k, r in results.items():
        print(
            f"{k:>3} {int(r['pairs']):>6} {r['wall']:>8.2f} {r['cpu']:>8.2f} "
            f"{1000 * r['cpu'] / r['pairs']:>12.1f} {r['cpu'] / (k * one):>17.2f} {r['peak']:>9.0f}"
        )


if __name__ == "__main__":
    main()
