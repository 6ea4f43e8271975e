"""Peak memory of a whole audit set by a budget, not by the image size (issue 15, item 2).

One RGB photo pair (scikit-image's bundled photographs, upscaled bicubic where smaller; the
restoration is the ground truth with Gaussian noise) at 1024, 2048 and 4096 px, ``color: rgb``,
audited as the worker audits it: ``plan_job`` (the cost model under
``RA_MAX_JOB_MEMORY_BYTES``) picks the batch size and the patch statistics' memory budget, and
``run_audit`` decodes the PNG files batch by batch, in a process with a worker pool child's
allocator (the system's: ``workers/process_tuning.py``). Each point runs in a
fresh interpreter, once under each budget (default 4 GiB; a job the plan refuses is printed as
refused, the worker's ``resources`` problem) and once without one (untiled, the worker's batch
size), and prints the process's peak RSS (``VmHWM``: imports included, which is what the model
estimates), the model's estimate, the planned patch budget and band rows, the wall time, and
the largest relative difference of the report's group estimates from the untiled run (the
bands are exact to rounding, docs/theory.md 3.3).

``--cli`` runs the console script instead (``restoration-audit audit --color rgb
[--max-memory SIZE]`` as a whole process, with its own process settings) and prints its peak
RSS from ``os.wait4``.

Usage: python benchmarks/bench_budget_memory.py [--sides 1024 2048 4096] [--budget-gib 4 ...]
       python benchmarks/bench_budget_memory.py --cli [--sides 4096] [--budget-gib 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_cost_model import vm_hwm_bytes  # noqa: E402
from benchmarks.common import machine_line, point_in_fresh_process  # noqa: E402

POINT_TIMEOUT = 1800.0
OPTIONS: dict[str, Any] = {"color": "rgb"}
BATCH_SIZE = 16
"""The worker's ``RA_BATCH_SIZE`` default."""


def make_pair(root: Path, side: int) -> None:
    """``gt0.png`` and ``rs0.png``: a photo crop and a noisy copy of it."""
    from PIL import Image

    from tests.support.sample_pairs import crops, degrade

    root.mkdir(parents=True, exist_ok=True)
    truth = crops(1, side, seed=side)[0]
    Image.fromarray(truth).save(root / "gt0.png", compress_level=1)
    Image.fromarray(degrade(truth, "noise", seed=side)).save(root / "rs0.png", compress_level=1)


def _manifest(root: Path) -> Any:
    from datetime import UTC, datetime

    from api_schemas.jobs import JobManifest, ManifestPair
    from api_schemas.options import AuditOptions

    return JobManifest(
        job_id="0" * 32,
        tenant="local",
        created_at=datetime.now(UTC),
        options=AuditOptions.model_validate(OPTIONS),
        pairs=[ManifestPair(id="p0", ground_truth="gt0.png", restored="rs0.png")],
    )


def plan(root: Path, budget: int | None) -> dict[str, Any]:
    """The worker's plan (``plan_job``) under ``budget``; without one, the model's estimate
    at the worker's batch size, untiled."""
    from api_schemas.cost import PairShape, estimate_job
    from workers.settings import WorkerSettings
    from workers.tasks.resources import plan_job

    manifest = _manifest(root)
    if budget is None:
        shape = PairShape(*_side(root), 3)
        guess = estimate_job([shape], manifest.options, batch_size=BATCH_SIZE)
        return {"batch": BATCH_SIZE, "patch": None, "rows": None, "estimate": guess.peak_bytes}
    settings = WorkerSettings(batch_size=BATCH_SIZE, max_job_memory_bytes=budget)
    chosen = plan_job(manifest, root, settings)
    assert chosen.estimate is not None
    if chosen.problem is not None:
        return {"refused": chosen.problem["status"], "estimate": chosen.estimate.peak_bytes}
    return {
        "batch": chosen.batch_size,
        "patch": chosen.patch_memory_bytes,
        "rows": chosen.estimate.band_rows,
        "estimate": chosen.estimate.peak_bytes,
    }


def _side(root: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(root / "gt0.png") as image:
        return image.height, image.width


def run_point(root: Path, budget: int | None) -> dict[str, Any]:
    """In this (fresh) process: plan as the worker does, then audit the files as its
    pool children do (system allocator, workers/celery_app.py)."""
    from workers.engine import PairSource, run_audit

    chosen = plan(root, budget)
    if "refused" in chosen:  # as the worker: a resources problem, nothing run
        return chosen
    manifest = _manifest(root)
    sources = [PairSource("p0", "restorer", root / "gt0.png", root / "rs0.png")]
    start = time.perf_counter()
    report = run_audit(
        sources,
        manifest.options,
        device="cpu",
        batch_size=chosen["batch"],
        patch_memory_bytes=chosen["patch"],
    )
    seconds = time.perf_counter() - start
    group = report.groups[0]
    values = {
        "psnr": group.distortion.psnr.value,
        "uncertainty": group.uncertainty.gaussian.value,
        "perception": group.perception.per_dimension,
    }
    return {**chosen, "peak": vm_hwm_bytes(), "seconds": seconds, "values": values}


def _largest_difference(a: dict[str, float | None], b: dict[str, float | None]) -> float:
    worst = 0.0
    for key, x in a.items():
        y = b[key]
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    return worst


def run_cli(root: Path, budget: int | None) -> tuple[int, float, int]:
    """``restoration-audit audit`` on the pair as a whole process (the console script's entry,
    this checkout's code): peak RSS in bytes, wall seconds, exit code."""
    folders = {name: root / name for name in ("gt", "rs")}
    for name, folder in folders.items():
        folder.mkdir(exist_ok=True)
        link = folder / "a.png"
        if not link.exists():
            link.symlink_to(root / f"{name}0.png")
    inputs = ["--ground-truth", str(folders["gt"]), "--restored", str(folders["rs"])]
    options = ["--color", "rgb", "--quiet", "-o", str(root / "cli.json")]
    if budget is not None:
        options += ["--max-memory", str(budget)]
    entry = "import sys; from cli.main import main; sys.exit(main())"  # the console script's
    argv = [sys.executable, "-c", entry, "audit", *inputs, *options]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss * 1024, time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def main_cli(sides: list[int], budgets: list[float]) -> None:
    """Peak RSS of the console script with and without ``--max-memory``."""
    print(machine_line())
    print("restoration-audit audit --color rgb on one RGB photo pair; peak = ru_maxrss (wait4)")
    print(f"{'px':>5} {'--max-memory':>12} {'exit':>4} {'peak RSS':>9} {'wall s':>7}")
    mib = 1 << 20
    with tempfile.TemporaryDirectory(prefix="ra-bench-budget-cli-") as tmp:
        for side in sides:
            root = Path(tmp) / str(side)
            make_pair(root, side)
            for label, budget in [
                ("none", None),
                *((f"{b:g}GiB", int(b * (1 << 30))) for b in budgets),
            ]:
                peak, seconds, code = run_cli(root, budget)
                print(
                    f"{side:5d} {label:>12} {code:4d} {peak / mib:5.0f} MiB {seconds:7.1f}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", nargs="*", type=int, default=[1024, 2048, 4096])
    parser.add_argument("--budget-gib", nargs="*", type=float, default=[4.0])
    parser.add_argument("--cli", action="store_true", help="the console script, whole process")
    parser.add_argument("--point", nargs=2, metavar=("DIR", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cli:
        main_cli(args.sides, args.budget_gib)
        return
    if args.point:
        budget = None if args.point[1] == "none" else int(args.point[1])
        print(json.dumps(run_point(Path(args.point[0]), budget)))
        return
    mib = 1 << 20
    print(machine_line())
    print(
        f"one RGB photo pair, color rgb, p = 8; peak = VmHWM of a fresh process that plans as "
        f"the worker (plan_job) and runs run_audit on the PNG files (device cpu); budgets "
        f"{', '.join(f'{b:g}' for b in args.budget_gib)} GiB"
    )
    print(
        f"{'px':>5} {'budget':>7} {'batch':>5} {'patch budget':>12} {'band rows':>9} "
        f"{'estimate':>9} {'peak RSS':>9} {'est/peak':>8} {'wall s':>7} {'report diff':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="ra-bench-budget-") as tmp:
        for side in args.sides:
            root = Path(tmp) / str(side)
            make_pair(root, side)
            results = {}
            budgets = [(f"{b:g} GiB", str(int(b * (1 << 30)))) for b in args.budget_gib]
            for label, value in [("none", "none"), *budgets]:
                results[label] = point_in_fresh_process(
                    __file__, ["--point", str(root), value], POINT_TIMEOUT, f"{side} px {label}"
                )
            untiled = results["none"]["values"]
            for label, r in results.items():
                if "refused" in r:
                    print(
                        f"{side:5d} {label:>7} refused ({r['refused']} resources problem): "
                        f"estimate {r['estimate'] / mib:.0f} MiB even in bands",
                        flush=True,
                    )
                    continue
                patch = "-" if r["patch"] is None else f"{r['patch'] / mib:.0f} MiB"
                rows = "-" if r["rows"] is None else str(r["rows"])
                diff = _largest_difference(untiled, r["values"])
                print(
                    f"{side:5d} {label:>7} {r['batch']:5d} {patch:>12} {rows:>9} "
                    f"{r['estimate'] / mib:5.0f} MiB {r['peak'] / mib:5.0f} MiB "
                    f"{r['estimate'] / r['peak']:8.2f} {r['seconds']:7.1f} {diff:11.1e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
