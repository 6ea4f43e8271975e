"""Operator launches and host synchronisations per device batch, counted on the CPU.

Issue 15 item 3: on a GPU every aten operator is at least one kernel launch and every
``.item()`` / ``float(t)`` / ``bool(t)`` of a device tensor (``aten::_local_scalar_dense``)
waits for the device. Without a device both are counted with the torch profiler on the CPU,
inside the engine's per-batch range (``workers.engine.audit.BATCH_RANGE``). The same pairs
(real photo crops, four restorers in one group, seed 0) are audited with batch sizes 4, 8, 16
and 32; per batch the counts should not depend on the batch size (per pair they fall as 1/b).
Device-to-host copies (``.cpu()``) are invisible on a CPU and not counted.
Usage: python benchmarks/bench_launches.py [--pairs 32] [--size 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from benchmarks.common import machine_line
from tests.support.host_syncs import profile_counts
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers.engine import PairSource, run_audit

KINDS = ("noise", "blur", "jpeg", "sharpen")
BATCH_SIZES = (4, 8, 16, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    print(machine_line())
    pairs = [
        PairSource(f"p{i}", "default", to_tensor(x), to_tensor(degrade(x, KINDS[i % 4], seed=i)))
        for i, x in enumerate(crops(args.pairs, args.size, seed=0))
    ]
    options = AuditOptions()
    run_audit(pairs[:4], options, device="cpu", batch_size=4)  # warm-up (lazy imports, caches)
    print(f"\n{args.pairs} pairs at {args.size} px, default options, CPU profiler")
    header = (
        f"{'batch':>5} {'batches':>7} {'ops/batch':>10} {'syncs/batch':>11} "
        f"{'ops/pair':>9} {'syncs/pair':>10} {'job ops':>9} {'job syncs':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in BATCH_SIZES:
        batches, whole = profile_counts(
            partial(run_audit, pairs, options, device="cpu", batch_size=size)
        )
        ops = statistics.median(b.operators for b in batches)
        syncs = statistics.median(b.syncs for b in batches)
        per = args.pairs / len(batches)
        print(
            f"{size:>5} {len(batches):>7} {ops:>10.0f} {syncs:>11.0f} {ops / per:>9.1f} "
            f"{syncs / per:>10.2f} {whole.operators:>9} {whole.syncs:>9}"
        )
    print(
        "\nops: aten operators called from Python (median over batches); syncs: "
        "aten::_local_scalar_dense; job: the whole audit (decode, batches, summary, bootstrap)."
    )


if __name__ == "__main__":
    main()
