"""Benchmark: stride-1 patch moments (docs/theory.md §3.3) against unfold + matmul.

Run: ``.venv/bin/python benchmarks/bench_patches.py [--repeats 3] [--batch 16] [--size 256]``.
Prints machine information, the best-of-N wall time of each method, their ratio, and the
largest relative difference between the two sums of outer products. Seeds are fixed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.estimators.patches import patch_moments


def _best_time(
    fn: Callable[[torch.Tensor, int], torch.Tensor], images: torch.Tensor, p: int, repeats: int
) -> tuple[float, torch.Tensor]:
    best, out = float("inf"), torch.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(images, p)
        best = min(best, time.perf_counter() - start)
    return best, out


def _unfold_outer(images: torch.Tensor, p: int) -> torch.Tensor:
    cols = functional.unfold(images, p)
    return cols @ cols.transpose(1, 2)


def _unfold_outer64(images: torch.Tensor, p: int) -> torch.Tensor:
    return _unfold_outer(images.double(), p)


def _ours(images: torch.Tensor, p: int) -> torch.Tensor:
    return patch_moments(images, p).outer


def main() -> None:
    """Time both methods on luma and RGB batches and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--patch", type=int, default=8)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"cpus {os.cpu_count()}, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, load {os.getloadavg()}"
    )
    print(f"batch {args.batch}, {args.size}x{args.size}, p = {args.patch}, stride 1, CPU")
    gen = torch.Generator().manual_seed(0)
    for name, chans in (("luma", 1), ("rgb", 3)):
        images = torch.rand(args.batch, chans, args.size, args.size, generator=gen)
        ours_t, ours = _best_time(_ours, images, args.patch, args.repeats)
        f32_t, f32 = _best_time(_unfold_outer, images, args.patch, args.repeats)
        f64_t, f64 = _best_time(_unfold_outer64, images, args.patch, args.repeats)
        err = float((ours - f64).abs().max() / f64.abs().max())
        err32 = float((f32.double() - f64).abs().max() / f64.abs().max())
        print(
            f"{name:5s} d={chans * args.patch**2:4d}  ours(float64) {ours_t:6.3f} s  "
            f"unfold float32 {f32_t:6.3f} s (x{f32_t / ours_t:4.1f})  "
            f"unfold float64 {f64_t:6.3f} s (x{f64_t / ours_t:4.1f})  "
            f"rel.diff ours {err:.1e}, unfold float32 {err32:.1e}"
        )


if __name__ == "__main__":
    main()
