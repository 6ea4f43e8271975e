"""Growth of audit time and peak memory with image side, pairs per job and batch size.

Every point runs in a fresh subprocess (``--point``) that audits PNG files from a temp dir
(paths as PairSource, so the engine decodes batch by batch) and reports the audit's wall time
and the process's peak RSS (``VmHWM`` of /proc/self/status; see `vm_hwm_mib` for why not
``ru_maxrss``, which is printed beside it) after the imports and after the audit, and the
audit's CPU seconds (user + system, all threads: less sensitive than wall time to other work on
shared cores). Three series, in this order:

* image side 128, 256, 512, 1024 px at a fixed job (16 pairs) and batch_size 16;
* batch_size 4, 16, 64 at a fixed job (64 pairs at 128 px);
* pairs per job 16, 64, 256, 1024 at 128 px and batch_size 16.

Linear growth shows as a roughly constant time per pixel / per pair; memory bounded by the
batch shows as a peak that stays flat with job size and moves with batch_size. Points are
skipped (and say so) once the run passes ``--budget`` seconds. Pairs: real photo crops
(tests/support/sample_pairs.py) degraded four ways (one restorer each), fixed seeds.
Usage: python benchmarks/bench_growth.py [--budget 200]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_line, point_in_fresh_process  # noqa: E402

KINDS = ("noise", "blur", "jpeg", "sharpen")
FIXED_BATCH = 16
POINT_TIMEOUT = 150.0


def make_pngs(root: Path, count: int, size: int) -> None:
    """``count`` (ground truth, restored) PNG pairs of ``size`` px in ``root`` (seed 0)."""
    from PIL import Image

    from tests.support.sample_pairs import crops, degrade

    root.mkdir(parents=True, exist_ok=True)
    for i, gt in enumerate(crops(count, size, seed=0)):
        for name, image in (("gt", gt), ("restored", degrade(gt, KINDS[i % 4], seed=i))):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
            (root / f"{name}{i:04d}.png").write_bytes(buffer.getvalue())


def vm_hwm_mib() -> float:
    """Peak RSS of this process's own address space (``VmHWM``), in MiB.

    ``ru_maxrss`` is not used for the figures: Linux carries the high-water mark of the
    process image that called ``execve`` (here a copy of the parent, which holds the generated
    photos) into the child's ``ru_maxrss``, so a point whose own peak is below the parent's
    would read the parent's. ``VmHWM`` starts afresh with the new image at ``execve``.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_point(root: Path, pairs: int, batch_size: int) -> dict[str, float]:
    """In this (fresh) process: audit the first ``pairs`` pairs under ``root``."""
    import torch

    from api_schemas import AuditOptions
    from workers.engine import PairSource, run_audit

    sources = [
        PairSource(f"p{i}", KINDS[i % 4], root / f"gt{i:04d}.png", root / f"restored{i:04d}.png")
        for i in range(pairs)
    ]
    options = AuditOptions()
    before = vm_hwm_mib()  # after imports
    # Warm-up on one full batch of the same shapes: a 2-pair warm-up left FFT plans, LAPACK
    # workspaces and allocator pools of the batch shapes to the timed run, which tripled the
    # small points' times (3.6 s against 0.7 s for 16 pairs at 128 px).
    run_audit(sources[:batch_size], options, device="cpu", batch_size=batch_size)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    run_audit(sources, options, device="cpu", batch_size=batch_size)
    seconds = time.perf_counter() - start
    end = resource.getrusage(resource.RUSAGE_SELF)
    after = vm_hwm_mib()
    cpu = end.ru_utime + end.ru_stime - usage.ru_utime - usage.ru_stime
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mib": before,
        "rss_peak_mib": after,
        "ru_maxrss_mib": end.ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def measure(root: Path, pairs: int, batch_size: int) -> dict[str, float]:
    """One point in a fresh interpreter (so ``ru_maxrss`` is this point's own peak)."""
    args = ["--point", str(root), str(pairs), str(batch_size)]
    result: dict[str, float] = point_in_fresh_process(__file__, args, POINT_TIMEOUT)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=200.0, help="seconds; later points skip")
    parser.add_argument(
        "--point", nargs=3, metavar=("DIR", "PAIRS", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.point:
        print(json.dumps(run_point(Path(args.point[0]), int(args.point[1]), int(args.point[2]))))
        return

    started = time.monotonic()
    print(machine_line())
    print("workload: PNG files, default options, 4 restorers, device cpu, one subprocess per point")

    def over_budget(label: str) -> bool:
        if time.monotonic() - started > args.budget:
            print(f"  {label}: skipped (past the {args.budget:.0f} s budget)")
            return True
        return False

    with tempfile.TemporaryDirectory(prefix="ra-bench-growth-") as tmp:
        base = Path(tmp)
        header = (
            f"  {'side':>5} {'pairs':>6} {'batch':>6} {'wall s':>7} {'CPU s':>6} "
            f"{'CPU ms/pair':>11} {'CPU ns/px':>10} {'RSS imports':>12} {'RSS peak':>9} "
            f"{'peak-imports':>13} {'ru_maxrss':>10}"
        )

        def row(side: int, pairs: int, batch: int, r: dict[str, float]) -> None:
            pixels = pairs * side * side
            cpu = r["cpu_seconds"]
            print(
                f"  {side:5d} {pairs:6d} {batch:6d} {r['seconds']:7.2f} {cpu:6.1f} "
                f"{1e3 * cpu / pairs:11.1f} {1e9 * cpu / pixels:10.1f} "
                f"{r['rss_before_mib']:8.0f} MiB {r['rss_peak_mib']:5.0f} MiB "
                f"{r['rss_peak_mib'] - r['rss_before_mib']:9.0f} MiB "
                f"{r['ru_maxrss_mib']:6.0f} MiB",
                flush=True,
            )

        print(f"\nimage side (16 pairs, batch_size {FIXED_BATCH}); ns/pixel per pair-pixel:")
        print(header)
        for side in (128, 256, 512, 1024):
            if over_budget(f"side {side}"):
                continue
            root = base / f"side{side}"
            make_pngs(root, 16, side)
            row(side, 16, FIXED_BATCH, measure(root, 16, FIXED_BATCH))

        root = base / "pairs128"
        make_pngs(root, 1024, 128)
        print("\nbatch_size (64 pairs at 128 px):")
        print(header)
        for batch in (4, 16, 64):
            if over_budget(f"batch {batch}"):
                continue
            row(128, 64, batch, measure(root, 64, batch))
        print(f"\npairs per job (128 px, batch_size {FIXED_BATCH}):")
        print(header)
        for pairs in (16, 64, 256, 1024):
            if over_budget(f"{pairs} pairs"):
                continue
            row(128, pairs, FIXED_BATCH, measure(root, pairs, FIXED_BATCH))

    print(f"\ntotal benchmark time {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
