"""Full-audit throughput on CUDA against the CPU, and CPU/CUDA agreement, in one table.

Prints, for 256, 512 and 1024-pixel RGB pairs: pairs/second of the full audit (default
options, no maps) on the CPU and on CUDA, the speed-up, the effective bandwidth of the CUDA run
over the image bytes it reads (an estimate: ``passes`` full-resolution float32 passes per
image, see ``IMAGE_PASSES``) against the device-to-device copy bandwidth measured in the same
process, and the largest relative difference of the group estimates between CPU and CUDA.
Usage: python benchmarks/bench_gpu.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers.engine import PairSource, run_audit

IMAGE_PASSES = 40
"""Rough count of full-resolution float32 reads per pair: colour conversion (2 images), the
five SSIM maps and their blurs, three patch-moment computations (image, FFT, border strips),
two detail blurs and the regression sums, the kNN gathers; an estimate, stated as such."""


def copy_bandwidth(device: torch.device) -> float:
    """Bytes per second of a large device-to-device copy (read + write)."""
    x = torch.empty(1 << 28, dtype=torch.uint8, device=device)
    y = torch.empty_like(x)
    for _ in range(3):
        y.copy_(x)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        y.copy_(x)
    torch.cuda.synchronize()
    return 2 * x.numel() * 10 / (time.perf_counter() - start)


def make_pairs(count: int, size: int) -> list[PairSource]:
    kinds = ["noise", "blur", "jpeg", "sharpen"]
    truth = crops(count, size, seed=size)
    return [
        PairSource(f"p{i}", "restorer", to_tensor(x), to_tensor(degrade(x, kinds[i % 4], seed=i)))
        for i, x in enumerate(truth)
    ]


def timed(pairs: list[PairSource], device: str, options: AuditOptions) -> tuple[float, object]:
    run_audit(pairs[:2], options, device=device)  # warm-up (kernels, allocator)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    report = run_audit(pairs, options, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, report


def max_relative_difference(a: object, b: object) -> float:
    ga, gb = a.groups[0], b.groups[0]  # type: ignore[attr-defined]
    values = [
        (ga.distortion.psnr.value, gb.distortion.psnr.value),
        (ga.distortion.ssim.value, gb.distortion.ssim.value),
        (ga.uncertainty.gaussian.value, gb.uncertainty.gaussian.value),
        (ga.perception.gaussian_renyi.value, gb.perception.gaussian_renyi.value),
        (
            ga.hallucination.invented_detail_ratio.value,
            gb.hallucination.invented_detail_ratio.value,
        ),
        (ga.uncertainty.knn.value, gb.uncertainty.knn.value),
        (ga.perception.knn_renyi.value, gb.perception.knn_renyi.value),
    ]
    return max(
        abs(x - y) / max(abs(x), 1e-12) for x, y in values if x is not None and y is not None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer pairs (a smoke run)")
    parser.add_argument(
        "--accelerator", default="cuda", help="cuda, or cpu to smoke-test the script"
    )
    args = parser.parse_args()
    accelerator = args.accelerator
    if accelerator == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark compares CPU and CUDA")
    if accelerator == "cuda":
        bandwidth = copy_bandwidth(torch.device("cuda:0"))
        name = torch.cuda.get_device_name(0)
    else:
        bandwidth, name = float("nan"), "no accelerator (smoke run)"
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{name}, copy bandwidth {bandwidth / 1e9:.0f} GB/s"
    )
    options = AuditOptions()
    rows = []
    plan = {256: (64, 16), 512: (32, 8), 1024: (16, 4)}
    for size, (n_cuda, n_cpu) in plan.items():
        if args.quick:
            n_cuda, n_cpu = max(4, n_cuda // 4), 2
        pairs = make_pairs(n_cuda, size)
        cuda_s, cuda_report = timed(pairs, accelerator, options)
        cpu_s, cpu_report = timed(pairs[:n_cpu], "cpu", options)
        check_s, check_report = timed(pairs[:n_cpu], accelerator, options)
        del check_s
        cuda_rate, cpu_rate = n_cuda / cuda_s, n_cpu / cpu_s
        image_bytes = 2 * 3 * size * size * 4
        effective = IMAGE_PASSES * image_bytes * cuda_rate
        rows.append(
            (
                size,
                cpu_rate,
                cuda_rate,
                cuda_rate / cpu_rate,
                effective / bandwidth,
                max_relative_difference(cpu_report, check_report),
            )
        )
        del cuda_report
    print(
        f"{'side':>5} {'CPU pairs/s':>12} {'CUDA pairs/s':>13} {'speed-up':>9} "
        f"{'~bandwidth used':>16} {'max rel diff CPU/CUDA':>22}"
    )
    for size, cpu_rate, cuda_rate, speedup, fraction, diff in rows:
        print(
            f"{size:>5} {cpu_rate:>12.2f} {cuda_rate:>13.2f} {speedup:>8.1f}x "
            f"{fraction:>15.1%} {diff:>22.2e}"
        )


if __name__ == "__main__":
    main()
