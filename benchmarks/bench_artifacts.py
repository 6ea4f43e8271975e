"""What the artifacts and the nearest-neighbour subsample cost, each against the alternative.

On 16 real 256x256 photo pairs (luma, the default options: no crop, detail sigma 2), the
median of interleaved repeats of:

* the invented-detail map's sigma-8 window blur (docs/theory.md 3.7): a dense blur matrix (what
  ``filters.gaussian_blur`` picks for many taps per pixel) against 65 shifted sums;
* one heat map: drawing its RGB pixels (``render.heatmap_pixels``, what the worker does) against
  PNG-encoding them (``render.encode_png``, what the API does on first download), and storing
  the pixels in a payload store (``write_artifact_pixels``: compressed, atomic, fsync'd);
* the storage amplification of the job of issue #11 (item 4g): two smooth 1024-px pairs with a
  known degradation, four maps a pair, its maps' pixels raw (``np.save``, as stored before)
  against compressed, over the bytes uploaded;
* the job's two tradeoff plots (``engine.artifacts.render_plots``) with the module's fixed
  margins against matplotlib's constrained layout;
* the nearest-neighbour subsample's positions (``patches._distinct_positions``, 128 of 62 001
  per image) against a top-k over one random key per position.

Usage: python benchmarks/bench_artifacts.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from api_schemas.options import BootstrapOptions
from jobstore import PayloadStore, new_job_id
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers import plots
from workers.engine import ArtifactWriter, PairSource, run_audit
from workers.engine.artifacts import render_plots
from workers.estimators import filters
from workers.estimators.color import convert_color
from workers.estimators.filters import gaussian_blur
from workers.estimators.hallucination import invented_detail_map
from workers.estimators.patches import _distinct_positions
from workers.render import encode_png, heatmap_pixels


def png(image: np.ndarray) -> io.BytesIO:
    """``image`` as a PNG file in memory, ready to read."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def interleaved(repeats: int, **runs: Callable[[], object]) -> dict[str, float]:
    """Median seconds of each run, the runs alternating so load changes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def shifted_sum_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """``gaussian_blur`` held to its shifted sums (one multiply-add per tap) on every side."""
    dense_from = filters._MATRIX_TAPS_PER_PIXEL
    filters._MATRIX_TAPS_PER_PIXEL = math.inf
    try:
        return gaussian_blur(images, sigma)
    finally:
        filters._MATRIX_TAPS_PER_PIXEL = dense_from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    photos = crops(16, 256, seed=1)
    truth = torch.stack([to_tensor(x) for x in photos])
    restored = torch.stack([to_tensor(degrade(x, "noise", seed=i)) for i, x in enumerate(photos)])
    x = convert_color(truth, "y")
    x_hat = convert_color(restored, "y")
    products = torch.cat([x * x, x * x_hat, x_hat * x_hat], 1)  # the map's three windowed sums
    torch.testing.assert_close(gaussian_blur(products, 8.0), shifted_sum_blur(products, 8.0))
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); medians of {args.repeats} interleaved repeats"
    )

    blur = interleaved(
        args.repeats,
        matrix=lambda: gaussian_blur(products, 8.0),
        shifted=lambda: shifted_sum_blur(products, 8.0),
    )
    whole_map = interleaved(args.repeats, map=lambda: invented_detail_map(x_hat, x, 2.0))
    print(
        "window blur, 16 x 3 planes of 256 px, sigma 8: "
        f"dense matrix {blur['matrix'] * 1e3:.1f} ms, "
        f"65 shifted sums {blur['shifted'] * 1e3:.1f} ms "
        f"({blur['shifted'] / blur['matrix']:.1f}x); "
        f"whole invented-detail map {whole_map['map'] * 1e3 / 16:.2f} ms per pair"
    )

    background = x[0, 0].double().numpy()
    heat = invented_detail_map(x_hat[:1], x[:1], 2.0)[0, 0].double().numpy()
    pixels = heatmap_pixels(
        background, heat, vmax=1.0, title="p: invented detail", colorbar_label="ratio"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store, job = PayloadStore(Path(tmp)), new_job_id()
        store.write_input(job, "gt.png", io.BytesIO(b""))  # the job's directory
        one = interleaved(
            args.repeats,
            draw=lambda: heatmap_pixels(
                background, heat, vmax=1.0, title="p: invented detail", colorbar_label="ratio"
            ),
            encode=lambda: encode_png(pixels),
            store=lambda: store.write_artifact_pixels(job, "map.png", pixels),
        )
    print(
        f"one heat map ({pixels.shape[1]}x{pixels.shape[0]}): "
        f"draw pixels {one['draw'] * 1e3:.2f} ms, "
        f"store pixels {one['store'] * 1e3:.2f} ms, PNG-encode {one['encode'] * 1e3:.2f} ms "
        f"({one['encode'] / one['draw']:.1f}x the drawing)"
    )
    amplification()

    pairs = [
        PairSource(
            f"p{i}",
            ("noise", "blur")[i % 2],
            truth[i],
            to_tensor(degrade(p, ("noise", "blur")[i % 2], seed=i)),
        )
        for i, p in enumerate(photos)
    ]
    groups = run_audit(pairs, AuditOptions(bootstrap=BootstrapOptions(resamples=50))).groups
    sink = ArtifactWriter(write=lambda name, data: None, url_for=lambda name: name)
    fixed_margins = plots._new_figure

    def constrained() -> object:
        from matplotlib.figure import Figure

        plots._new_figure = lambda: Figure(
            figsize=plots.FIGURE_SIZE, dpi=plots.DPI, layout="constrained"
        )
        try:
            return render_plots(groups, sink, 8)
        finally:
            plots._new_figure = fixed_margins

    both = interleaved(
        args.repeats, fixed=lambda: render_plots(groups, sink, 8), constrained=constrained
    )
    print(
        f"both tradeoff plots per job: fixed margins {both['fixed'] * 1e3:.0f} ms, constrained "
        f"layout {both['constrained'] * 1e3:.0f} ms ({both['constrained'] / both['fixed']:.1f}x)"
    )

    generator = torch.Generator().manual_seed(0)
    positions = 249 * 249  # stride-1 8x8 patches of a 256-px image
    draw = interleaved(
        args.repeats,
        rejection=lambda: _distinct_positions(16, positions, 128, generator),
        topk=lambda: torch.rand(16, positions, generator=generator).topk(128, dim=1),
    )
    print(
        f"nearest-neighbour subsample, 128 of {positions} positions x 16 images: draw with "
        f"rejection {draw['rejection'] * 1e3:.2f} ms, top-k of random keys "
        f"{draw['topk'] * 1e3:.2f} ms ({draw['topk'] / draw['rejection']:.1f}x)"
    )


def directory_bytes(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def amplification(size: int = 1024) -> None:
    """Print what the maps of a two-pair job of smooth ``size``-pixel images store, raw and
    compressed, against its uploads (the job of issue #11: 28 MB of raw pixels)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    with tempfile.TemporaryDirectory() as tmp:
        store, job = PayloadStore(Path(tmp)), new_job_id()
        pairs = []
        for i in range(2):
            level = 0.5 + 0.25 * np.sin(2 * np.pi * (3 + i) * xx) * np.cos(4 * np.pi * yy)
            truth = np.rint(np.stack([level, 0.9 * level, 1 - level], -1) * 255).astype(np.uint8)
            restored = np.asarray(Image.fromarray(truth).filter(ImageFilter.GaussianBlur(2)))
            low = Image.fromarray(truth).resize((size // 2,) * 2, Image.Resampling.BOX)
            images = {"gt": truth, "restored": restored, "obs": np.asarray(low)}
            gt, rs, ob = (
                store.write_input(job, f"{r}{i}.png", png(im)) for r, im in images.items()
            )
            pairs.append(PairSource(f"p{i}", "smooth", gt, rs, observation=ob))
        uploads = directory_bytes(store.input_dir(job))
        raw = 0

        def write_pixels(name: str, pixels: np.ndarray) -> None:
            nonlocal raw
            buffer = io.BytesIO()
            np.save(buffer, pixels, allow_pickle=False)
            raw += len(buffer.getvalue())
            store.write_artifact_pixels(job, name, pixels)

        options = AuditOptions.model_validate(
            {
                "bootstrap": {"resamples": 20},
                "degradation": {"type": "downsample", "factor": 2, "kernel": "area"},
            }
        )

        def write(name: str, data: bytes) -> None:
            store.write_artifact(job, name, data)

        writer = ArtifactWriter(write=write, url_for=str, write_pixels=write_pixels)
        run_audit(pairs, options, artifacts=writer)
        stored = directory_bytes(store.job_dir(job) / "pixels")
        maps = len(list((store.job_dir(job) / "pixels").iterdir()))
    print(
        f"storage of a job of 2 smooth {size}-px pairs ({maps} maps): uploads {uploads / 1e3:.0f}"
        f" kB; maps raw {raw / 1e6:.1f} MB ({raw / uploads:.0f}x the uploads), compressed "
        f"{stored / 1e6:.2f} MB ({stored / uploads:.1f}x the uploads, {raw / stored:.0f}x less)"
    )


if __name__ == "__main__":
    main()
