"""Full audit throughput against torchmetrics' PSNR+SSIM on the same tensors, same process.

Prints pairs/second of (a) the full audit with default options (luma statistics, PSNR, SSIM,
pooled and per-pair Gaussian uncertainty with the Wishart correction, Gaussian and
nearest-neighbour Rényi perception, nearest-neighbour entropy, invented-detail ratio, 200
bootstrap resamples) and (b) torchmetrics computing only PSNR and SSIM on the same RGB tensors,
and the ratio (a)/(b). Usage: python benchmarks/bench_audit.py [--pairs 64] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers.engine import PairSource, run_audit


def torchmetrics_psnr_ssim(preds: torch.Tensor, target: torch.Tensor) -> None:
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    for start in range(0, preds.shape[0], 16):
        p, t = preds[start : start + 16], target[start : start + 16]
        peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
        structural_similarity_index_measure(
            p,
            t,
            data_range=1.0,
            gaussian_kernel=True,
            sigma=1.5,
            kernel_size=11,
            reduction="none",
        )


def interleaved(repeats: int, first: object, second: object) -> tuple[list[float], list[float]]:
    """Times of ``repeats`` runs of each, alternating, so load changes hit both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            out.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--color", default="y", choices=["y", "y_full", "rgb"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    kinds = ["noise", "blur", "jpeg", "sharpen"]
    truth_np = crops(args.pairs, args.size, seed=1)
    truth = torch.stack([to_tensor(x) for x in truth_np])
    restored = torch.stack(
        [to_tensor(degrade(x, kinds[i % 4], seed=i)) for i, x in enumerate(truth_np)]
    )
    pairs = [
        PairSource(f"p{i:04d}", kinds[i % 4], truth[i], restored[i]) for i in range(args.pairs)
    ]
    options = AuditOptions(color=args.color)

    with torch.inference_mode():
        torchmetrics_psnr_ssim(restored[:4], truth[:4])  # warm-up
    run_audit(pairs[:4], options, device=args.device)

    def ours() -> None:
        run_audit(pairs, options, device=args.device)

    def peer() -> None:
        with torch.inference_mode():
            torchmetrics_psnr_ssim(restored.to(args.device), truth.to(args.device))

    ours_times, peer_times = interleaved(args.repeats, ours, peer)
    best_ours, med_ours = min(ours_times), statistics.median(ours_times)
    best_peer, med_peer = min(peer_times), statistics.median(peer_times)
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {args.device}"
    )
    print(
        f"workload: {args.pairs} pairs of {args.size}x{args.size} RGB, audit color={args.color}, "
        f"{len(kinds)} restorers, best of {args.repeats}"
    )
    print(
        f"full audit              : {args.pairs / best_ours:8.1f} pairs/s "
        f"(median {args.pairs / med_ours:.1f})"
    )
    print(
        f"torchmetrics PSNR+SSIM  : {args.pairs / best_peer:8.1f} pairs/s "
        f"(median {args.pairs / med_peer:.1f})"
    )
    print(
        f"ratio full audit / torchmetrics PSNR+SSIM: {best_peer / best_ours:.2f}x best, "
        f"{med_peer / med_ours:.2f}x median"
    )


if __name__ == "__main__":
    main()
