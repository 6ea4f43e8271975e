"""Benchmark: fused PSNR + SSIM (`distortion_metrics`) against torchmetrics on the same tensors.

16 pairs of 256x256 RGB crops of scikit-image's bundled photographs; the "restored" image of
each pair is a noisy or blurred copy (fixed seeds). Both implementations run in the same
process on the same tensors, interleaved, under ``torch.inference_mode()``; the best of
several repeats is reported (the machine may be shared), with the median beside it.

Run: ``python benchmarks/bench_distortion.py [--repeats 7] [--device cpu|cuda] [--threads N]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage
from skimage import data
from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

from workers.estimators.distortion import distortion_metrics

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
CROP = 256
PAIRS = 16


def make_pairs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(restored, target), each (16, 3, 256, 256) float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    targets, restored = [], []
    for index in range(PAIRS):
        photo = getattr(data, PHOTOS[index % len(PHOTOS)])()
        top = int(rng.integers(0, photo.shape[0] - CROP + 1))
        left = int(rng.integers(0, photo.shape[1] - CROP + 1))
        crop = photo[top : top + CROP, left : left + CROP].astype(np.float64) / 255.0
        if index % 2 == 0:
            degraded = crop + rng.uniform(0.02, 0.08) * rng.standard_normal(crop.shape)
        else:
            sigma = rng.uniform(0.8, 2.0)
            degraded = ndimage.gaussian_filter(crop, sigma=(sigma, sigma, 0))
        targets.append(crop)
        restored.append(np.clip(degraded, 0.0, 1.0))

    def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().contiguous()

    return to_tensor(restored), to_tensor(targets)


def ours(preds: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    metrics = distortion_metrics(preds, target, data_range=1.0)
    return metrics.psnr, metrics.ssim


def torchmetrics_pair(
    preds: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    psnr = tm_psnr(preds, target, data_range=1.0, reduction="none", dim=(1, 2, 3))
    ssim = tm_ssim(
        preds,
        target,
        gaussian_kernel=True,
        sigma=1.5,
        kernel_size=11,
        data_range=1.0,
        reduction="none",
    )
    assert isinstance(ssim, torch.Tensor)
    return psnr, ssim


def _time(function: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    preds, target = (t.to(device) for t in make_pairs())

    print(f"platform      {platform.platform()}")
    print(f"processor     {platform.processor() or platform.machine()}")
    print(f"cpu count     {os.cpu_count()} (torch threads {torch.get_num_threads()})")
    print(f"python        {platform.python_version()}")
    print(f"torch         {torch.__version__}")
    if device.type == "cuda":
        print(f"device        {device} ({torch.cuda.get_device_name(device)})")
    else:
        print(f"device        {device}")
    print(f"workload      {PAIRS} pairs of {CROP}x{CROP} RGB, float32, data_range 1")

    timings: dict[str, list[float]] = {"ours (fused)": [], "torchmetrics": []}
    functions = {
        "ours (fused)": lambda: ours(preds, target),
        "torchmetrics": lambda: torchmetrics_pair(preds, target),
    }
    with torch.inference_mode():
        results = {name: function() for name, function in functions.items()}  # warm-up
        for _ in range(args.repeats):
            for name, function in functions.items():
                timings[name].append(_time(function, device))

    print(f"\n{'':14}{'best s':>9}{'median s':>10}{'pairs/s':>10}")
    best = {}
    for name, values in timings.items():
        best[name] = min(values)
        print(
            f"{name:14}{best[name]:9.3f}{statistics.median(values):10.3f}{PAIRS / best[name]:10.1f}"
        )
    print(f"\nspeed-up (best vs best)      {best['torchmetrics'] / best['ours (fused)']:.2f}x")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"speed-up (median vs median)  {medians['torchmetrics'] / medians['ours (fused)']:.2f}x")

    (our_psnr, our_ssim), (tm_psnr_values, tm_ssim_values) = (
        results["ours (fused)"],
        results["torchmetrics"],
    )
    print(f"\nmax |PSNR difference|  {float((our_psnr - tm_psnr_values).abs().max()):.2e} dB")
    print(
        f"max |SSIM difference|  {float((our_ssim - tm_ssim_values).abs().max()):.2e} "
        "(torchmetrics averages its reflect-padded border too; ours is the valid interior)"
    )


if __name__ == "__main__":
    main()
