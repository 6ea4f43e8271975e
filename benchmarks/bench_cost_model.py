"""The cost model (api_schemas/cost.py) against the peak RSS of real run_audit calls.

Every shape runs in a fresh subprocess (``--point``) that audits image files from a temp dir
(paths as PairSource, so the engine decodes batch by batch, as the worker does) and reports
its peak RSS (``VmHWM`` of /proc/self/status: the whole process, imports included, which is
what ``estimate_job`` estimates), its wall time, and with ``--phases`` the peak RSS seen in each
engine step (a thread samples ``VmRSS`` every 2 ms while wrappers name the step): that is how
the model's terms were fitted.

Shapes: luma (``color: y`` of RGB PNGs) and RGB statistics at 256, 1024 and 2048 px, without
and with a known degradation (4x bicubic, observations uploaded); one 4096 px grey float TIFF
pair per batch (issue #11 item 2a's kind of input); a few shapes for single terms (blur, 8x,
a large bootstrap, the dimension sweep); one 4096 px pair in luma, and one in RGB planned
under a 4 GiB budget (its patch statistics in row bands: PSNR and SSIM are then the batch's
peak, which is how the distortion step's constants were fitted). Real photo crops
(tests/support/sample_pairs.py), fixed seeds.

Usage: python benchmarks/bench_cost_model.py [--only NAME ...] [--phases] [--budget SECONDS]
       [--kept-heap]
       python benchmarks/bench_cost_model.py --cases   (the issue's two jobs, estimates only)
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_line, point_in_fresh_process  # noqa: E402

POINT_TIMEOUT = 900.0
X4 = {"type": "downsample", "factor": 4}


@dataclass(frozen=True)
class Shape:
    """One calibration job: ``pairs`` pairs of ``size`` px, audited ``batch`` pairs at a time."""

    name: str
    size: int
    pairs: int
    batch: int
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "rgb"
    """``rgb``: 8-bit RGB PNGs; ``grey-float``: 32-bit float grey TIFFs."""
    budget_gib: float | None = None
    """Run as the worker plans it under this budget (its batch size and patch memory budget:
    the patch statistics in row bands when one pair does not fit untiled)."""

    @property
    def observations(self) -> bool:
        degradation = self.options.get("degradation")
        return degradation is not None and degradation.get("type") == "downsample"


SHAPES = (
    Shape("luma-256", 256, 16, 16),
    Shape("luma-1024", 1024, 4, 4),
    Shape("luma-2048", 2048, 2, 2),
    Shape("rgb-256", 256, 16, 16, {"color": "rgb"}),
    Shape("rgb-1024", 1024, 4, 2, {"color": "rgb"}),
    Shape("rgb-2048", 2048, 2, 1, {"color": "rgb"}),
    Shape("luma-256-x4", 256, 4, 4, {"degradation": X4}),
    Shape("luma-1024-x4", 1024, 4, 2, {"degradation": X4}),
    Shape("luma-2048-x4", 2048, 2, 1, {"degradation": X4}),
    Shape("rgb-256-x4", 256, 4, 4, {"color": "rgb", "degradation": X4}),
    Shape("rgb-1024-x4", 1024, 2, 1, {"color": "rgb", "degradation": X4}),
    Shape("rgb-2048-x4", 2048, 2, 1, {"color": "rgb", "degradation": X4}),
    Shape("grey-float-4096", 4096, 2, 1, kind="grey-float"),
    Shape("luma-256-blur3", 256, 4, 4, {"degradation": {"type": "blur", "sigma": 3.0}}),
    Shape("luma-256-x8", 256, 4, 4, {"degradation": {"type": "downsample", "factor": 8}}),
    Shape("rgb-256-r1000", 256, 4, 4, {"color": "rgb", "bootstrap": {"resamples": 1000}}),
    Shape("luma-256-sweep", 256, 16, 8, {"patch_sizes": [4, 8, 12]}),
    Shape("luma-4096", 4096, 1, 1),
    Shape("rgb-4096-4g", 4096, 1, 1, {"color": "rgb"}, budget_gib=4.0),
)


def make_inputs(root: Path, shape: Shape) -> None:
    """Ground truths, restorations (noisy) and, with a downsampling, bicubic observations."""
    import numpy as np
    from PIL import Image

    from api_schemas.conventions import BT601_LUMA_WEIGHTS
    from tests.support.sample_pairs import crops, degrade

    root.mkdir(parents=True, exist_ok=True)
    factor = shape.options["degradation"]["factor"] if shape.observations else 0
    for i, truth in enumerate(crops(shape.pairs, shape.size, seed=0)):
        restored = degrade(truth, "noise", seed=i)
        if shape.kind == "grey-float":
            for name, image in (("gt", truth), ("rs", restored)):
                grey = image.astype(np.float32) @ np.array(BT601_LUMA_WEIGHTS, np.float32)
                pixels = np.clip(grey / 255.0, 0.0, 1.0).astype(np.float32)
                Image.fromarray(pixels, mode="F").save(root / f"{name}{i}.tif")
            continue
        Image.fromarray(truth).save(root / f"gt{i}.png", compress_level=1)
        Image.fromarray(restored).save(root / f"rs{i}.png", compress_level=1)
        if factor:
            side = shape.size // factor
            observed = Image.fromarray(truth).resize((side, side), Image.Resampling.BICUBIC)
            observed.save(root / f"ob{i}.png")


def vm_hwm_bytes() -> int:
    """Peak RSS of this process (``VmHWM``), which starts afresh at ``execve``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


_STEPS = (
    ("workers.engine.audit", "_run_batch"),
    ("workers.engine.audit", "load_pair"),
    ("workers.engine.audit", "render_maps"),
    ("workers.engine.audit", "summarize_group"),
    ("workers.engine.accumulate", "GroupStatistics.add"),
    ("workers.engine.accumulate", "patch_moments_within"),
    ("workers.engine.accumulate", "distortion_metrics"),
    ("workers.engine.accumulate", "_degradation_statistics"),
    ("workers.engine.degradation", "PriorImages.__init__"),
    ("workers.engine.summarize", "place_on_frontier"),
    ("workers.engine.summarize", "calibrated_knn_entropy_power"),
    ("workers.engine.degradation", "posterior_sums"),
    ("workers.engine.degradation", "posterior_blocks_from_sums"),
    ("workers.engine.degradation", "shrinkage_intensity"),
    ("workers.engine.degradation", "block_entropy_powers"),
)


class PhaseSampler:
    """Peak ``VmRSS`` per engine step: wrappers keep a stack of step names, a thread samples."""

    def __init__(self) -> None:
        self.stack = ["run"]
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as statm:
            while not self._stop.is_set():
                statm.seek(0)
                rss = int(statm.read().split()[1]) * page
                key = "/".join(self.stack[-2:])
                self.peaks[key] = max(self.peaks.get(key, 0), rss)
                time.sleep(0.002)

    def wrap(self, module_name: str, attribute: str) -> None:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if not hasattr(owner, name):
            return
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(name)
            try:
                return original(*args, **kwargs)
            finally:
                self.stack.pop()

        setattr(owner, name, wrapped)

    def __enter__(self) -> PhaseSampler:
        for module_name, attribute in _STEPS:
            self.wrap(module_name, attribute)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_point(root: Path, shape: Shape, phases: bool, kept_heap: bool) -> dict[str, Any]:
    """In this (fresh) process: audit the shape's files as the worker does (its pool
    children keep the system allocator, workers/celery_app.py); ``kept_heap``: with the
    command's kept heap instead (``keep_freed_memory``), to show what it does to the peaks."""
    if kept_heap:
        from workers.process_tuning import keep_freed_memory

        keep_freed_memory()
    from api_schemas.options import AuditOptions
    from workers.engine import PairSource, run_audit

    ext = "tif" if shape.kind == "grey-float" else "png"
    sources = [
        PairSource(
            f"p{i}",
            "restorer",
            root / f"gt{i}.{ext}",
            root / f"rs{i}.{ext}",
            root / f"ob{i}.png" if shape.observations else None,
        )
        for i in range(shape.pairs)
    ]
    options = AuditOptions.model_validate(shape.options)
    planned = estimate(shape)
    imports = vm_hwm_bytes()
    sampler = PhaseSampler() if phases else None
    start = time.perf_counter()
    settings = {"batch_size": planned.batch_size, "patch_memory_bytes": planned.patch_memory_bytes}
    if sampler is not None:
        with sampler:
            run_audit(sources, options, device="cpu", **settings)
    else:
        run_audit(sources, options, device="cpu", **settings)
    seconds = time.perf_counter() - start
    return {
        "imports": imports,
        "peak": vm_hwm_bytes(),
        "seconds": seconds,
        "phases": sampler.peaks if sampler is not None else {},
    }


def measure(root: Path, shape: Shape, phases: bool, kept_heap: bool) -> dict[str, Any]:
    """One shape in a fresh interpreter."""
    args = ["--point", str(root), shape.name, *(["--phases"] if phases else [])]
    args += ["--kept-heap"] if kept_heap else []
    result: dict[str, Any] = point_in_fresh_process(__file__, args, POINT_TIMEOUT, shape.name)
    return result


def estimate(shape: Shape) -> Any:
    """The model's estimate for the shape, at the batch size the point runs (planned under
    the shape's budget when it has one, as the worker plans)."""
    from api_schemas.cost import PairShape, estimate_job
    from api_schemas.options import AuditOptions

    channels = 1 if shape.kind == "grey-float" else 3
    pairs = [
        PairShape(shape.size, shape.size, channels, observation=shape.observations)
    ] * shape.pairs
    budget = None if shape.budget_gib is None else int(shape.budget_gib * (1 << 30))
    options = AuditOptions.model_validate(shape.options)
    return estimate_job(pairs, options, batch_size=shape.batch, budget=budget)


def print_issue_cases() -> None:
    """The model on the two jobs of issue #11 item 2 (estimates only: they do not fit here)."""
    from api_schemas.cost import (
        DEFAULT_MAX_JOB_MEMORY_BYTES,
        PairShape,
        estimate_job,
        format_bytes,
        over_budget,
        pairs_per_batch,
    )
    from api_schemas.options import AuditOptions

    budget = DEFAULT_MAX_JOB_MEMORY_BYTES
    print(f"issue #11 item 2, budget {format_bytes(budget)} (RA_MAX_JOB_MEMORY_BYTES default):")
    floats = [PairShape(6000, 6000, 1, part=f"ground_truth[{i}]") for i in range(16)]
    whole = estimate_job(floats, AuditOptions(), batch_size=16)
    fitted = estimate_job(floats, AuditOptions(), batch_size=16, budget=budget)
    print(
        f"  (a) 16 pairs of 6000x6000 grey float: {format_bytes(whole.peak_bytes)} at 16 pairs "
        f"per batch; pairs_per_batch = {pairs_per_batch(budget, 6000, 6000, 1, group_pairs=16)}"
        f", {format_bytes(fitted.peak_bytes)} at {fitted.batch_size} per batch, "
        f"about {fitted.seconds / 60:.0f} min"
    )
    options = AuditOptions(color="rgb", degradation={"type": "downsample", "factor": 16})
    over = over_budget([PairShape(128, 128, 3, part="ground_truth[0]")], options, budget)
    assert over is not None
    terms = ", ".join(f"{k} {format_bytes(v)}" for k, v in over.estimate.components.items())
    print(f"  (b) one 128 px RGB pair, 16x downsampling, color rgb: {over.status} {over.errors}")
    print(f"      terms: {terms}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="shape names (default: all)")
    parser.add_argument("--phases", action="store_true", help="also print each step's peak")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds; later shapes skip")
    parser.add_argument("--cases", action="store_true", help="only the issue's two jobs")
    parser.add_argument("--kept-heap", action="store_true", help="the command's allocator")
    parser.add_argument("--point", nargs=2, metavar=("DIR", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases:
        print_issue_cases()
        return
    by_name = {shape.name: shape for shape in SHAPES}
    if args.point:
        result = run_point(Path(args.point[0]), by_name[args.point[1]], args.phases, args.kept_heap)
        print(json.dumps(result))
        return

    shapes = [by_name[name] for name in args.only] if args.only else list(SHAPES)
    started = time.monotonic()
    print(machine_line())
    print("peak = VmHWM of a fresh process running run_audit on files (device cpu)")
    print(
        f"{'shape':<16} {'px':>5} {'pairs':>5} {'batch':>5} {'estimate':>9} {'measured':>9} "
        f"{'est/meas':>8} {'largest term':>12} {'est s':>6} {'meas s':>6}"
    )
    mib = 1 << 20
    with tempfile.TemporaryDirectory(prefix="ra-bench-cost-") as tmp:
        for shape in shapes:
            if time.monotonic() - started > args.budget:
                print(f"{shape.name:<16} skipped (past the {args.budget:.0f} s budget)")
                continue
            root = Path(tmp) / shape.name
            make_inputs(root, shape)
            result = measure(root, shape, args.phases, args.kept_heap)
            guess = estimate(shape)
            print(
                f"{shape.name:<16} {shape.size:5d} {shape.pairs:5d} {shape.batch:5d} "
                f"{guess.peak_bytes / mib:5.0f} MiB {result['peak'] / mib:5.0f} MiB "
                f"{guess.peak_bytes / result['peak']:8.2f} {guess.largest:>12} "
                f"{guess.seconds:6.0f} {result['seconds']:6.0f}",
                flush=True,
            )
            if args.phases:
                base = result["imports"]
                ranked = sorted(result["phases"].items(), key=lambda kv: -kv[1])[:6]
                terms = ", ".join(f"{k}={v / mib:.0f}" for k, v in guess.components.items())
                print(f"    model terms (MiB): {terms}")
                for step, peak in ranked:
                    print(f"    {(peak - base) / mib:7.0f} MiB over imports in {step}")
    print()
    print_issue_cases()
    print(f"\ntotal benchmark time {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
