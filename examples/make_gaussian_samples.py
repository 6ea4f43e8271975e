"""K posterior samples of a Gaussian-model restorer for the demo photographs (docs/theory.md 3.9).

A stochastic restorer to audit that anyone can run: each colour channel of the ground truths
gets a stationary Gaussian prior (its power spectrum fitted to that channel of the demo's
ground truths), and from each 4x bicubic observation the script writes the prior's exact
posterior mean (a Wiener-like restorer) and K posterior samples (posterior mean plus an exact
draw of the posterior noise, the perturbation rule), as 8-bit PNGs:

    DIR/gaussian_mean/<name>.png          the posterior mean
    DIR/gaussian_samples/<k>/<name>.png   sample k = 0 .. K-1

Then the whole conditional audit is one command (the README shows it):

    restoration-audit audit --ground-truth DIR/gt --observations DIR/lr \\
        --degradation downsample:4:bicubic \\
        --restored gauss=DIR/gaussian_samples/0 --restored gauss=DIR/gaussian_samples/1 ...

On photographs the Gaussian prior is only a model, so these samples are not the true
posterior's; they are calibrated for the Gaussian model (error-to-spread ratio near 2 when the
photographs look Gaussian enough), and their spread is what the audit measures.

Usage: python examples/make_gaussian_samples.py DIR [--samples 4] [--seed 0]
(DIR as written by examples/make_demo_pairs.py: square images in DIR/gt and DIR/lr.)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from api_schemas.degradation import parse_degradation
from workers.engine.degradation import linear_operator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas.degradation import noise_variance
from workers.selfcheck import GaussianPosterior, StationarySource, fitted_spectrum

DEGRADATION = {"type": "downsample", "factor": 4, "kernel": "bicubic"}


def _load(folder: Path) -> dict[str, np.ndarray]:
    images = {}
    for path in sorted(folder.glob("*.png")):
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
        images[path.stem] = pixels
    if not images:
        raise SystemExit(f"no PNG images in {folder}")
    return images


def _save(path: Path, channels: list[torch.Tensor]) -> None:
    pixels = torch.stack([c.clamp(0, 1) for c in channels], dim=-1).numpy()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="RGB").save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--samples", type=int, default=4, help="K, samples per input (>= 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.samples < 2:
        parser.error("--samples must be at least 2")
    truths = _load(args.directory / "gt")
    observations = _load(args.directory / "lr")
    names = sorted(truths)
    if set(names) != set(observations):
        raise SystemExit("DIR/gt and DIR/lr must hold the same file names")
    size = truths[names[0]].shape[0]
    if any(t.shape[:2] != (size, size) for t in truths.values()):
        raise SystemExit("expected square ground truths of one size")
    operator = linear_operator(parse_degradation(DEGRADATION))
    noise = noise_variance(parse_degradation(DEGRADATION))
    generator = torch.Generator().manual_seed(args.seed)
    means: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    samples: dict[str, list[list[torch.Tensor]]] = {
        name: [[] for _ in range(args.samples)] for name in names
    }
    for channel in range(3):
        plane = [torch.from_numpy(truths[n][..., channel]) for n in names]
        stacked = torch.stack(plane)
        source = StationarySource.from_profile(
            fitted_spectrum(plane), size, pixel_std=float(stacked.std())
        )
        source = dataclasses.replace(source, mean=float(stacked.mean()))
        posterior = GaussianPosterior(source, operator, noise)
        y = torch.stack([torch.from_numpy(observations[n][..., channel]) for n in names])[:, None]
        estimate = posterior.mean(y)
        # Perturbation rule: x' - E[x'|y'] is an exact posterior-noise draw, independent of y.
        drawn = source.draw(len(names) * args.samples, generator)
        clean = operator.apply(drawn)
        observed = clean + math.sqrt(noise) * torch.randn(
            clean.shape, generator=generator, dtype=torch.float64
        )
        noise_draws = (drawn - posterior.mean(observed)).reshape(
            len(names), args.samples, 1, size, size
        )
        for i, name in enumerate(names):
            means[name].append(estimate[i, 0])
            for k in range(args.samples):
                samples[name][k].append(estimate[i, 0] + noise_draws[i, k, 0])
    mean_dir = args.directory / "gaussian_mean"
    mean_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        _save(mean_dir / f"{name}.png", means[name])
        for k in range(args.samples):
            folder = args.directory / "gaussian_samples" / str(k)
            folder.mkdir(parents=True, exist_ok=True)
            _save(folder / f"{name}.png", samples[name][k])
    restored = " ".join(
        f"--restored gauss={args.directory / 'gaussian_samples' / str(k)}"
        for k in range(args.samples)
    )
    print(f"wrote the posterior mean and {args.samples} samples of {len(names)} inputs")
    print(
        f"audit them: restoration-audit audit --ground-truth {args.directory / 'gt'} "
        f"--observations {args.directory / 'lr'} --degradation downsample:4:bicubic {restored}"
    )


if __name__ == "__main__":
    main()
