"""The peer of bench_whole_process.py: what a user would write instead of an audit.

Decodes the PNG pairs of two folders (matched by file name) with Pillow and runs torchmetrics
PSNR and SSIM on RGB in [0, 1], in batches of 16, printing the means.
Usage: python benchmarks/peer_psnr_ssim.py GROUND_TRUTH_DIR RESTORED_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

BATCH = 16


def load(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        pixels = np.array(image.convert("RGB"))  # a writable copy for torch
    return torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0


def main() -> None:
    truth_dir, restored_dir = (Path(a) for a in sys.argv[1:3])
    names = sorted(p.name for p in truth_dir.glob("*.png"))
    psnr: list[torch.Tensor] = []
    ssim: list[torch.Tensor] = []
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        x = torch.stack([load(truth_dir / n) for n in chunk])
        x_hat = torch.stack([load(restored_dir / n) for n in chunk])
        psnr.append(
            peak_signal_noise_ratio(x_hat, x, data_range=1.0, reduction="none", dim=(1, 2, 3))
        )
        value = structural_similarity_index_measure(x_hat, x, data_range=1.0, reduction="none")
        assert isinstance(value, torch.Tensor)  # a tuple only when asked for the full image
        ssim.append(value)
    mean_psnr, mean_ssim = torch.cat(psnr).mean(), torch.cat(ssim).mean()
    print(f"{len(names)} pairs: PSNR {mean_psnr:.3f} dB, SSIM {mean_ssim:.4f}")


if __name__ == "__main__":
    main()
