"""A small super-resolution audit with three restorers of distinct risk, for the HTML report.

Ground truths are crops of the scikit-image photographs; the observation is the 4x bicubic
downsample (Pillow), so the degradation is known and the page shows the bound. The restorers:

* ``bicubic``: the observation upsampled (blurry: low risk);
* ``sharpened``: that, unsharp-masked (some invented detail: medium risk or more);
* ``texture``: that, plus high-frequency noise, the way a GAN invents texture (high risk).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from tests.support.sample_pairs import crops

RESTORERS = ("bicubic", "sharpened", "texture")
SECTIONS = (
    "Summary",
    "Tradeoff plots",
    "Restorers",
    "Pairs by risk",
    "How to read this report",
    "Settings",
)
"""The page's section headings, in order (the HTML report's tests check them)."""
FACTOR = 4
DEGRADATION = {"type": "downsample", "factor": FACTOR, "kernel": "bicubic"}


@dataclass(frozen=True)
class DemoImages:
    """PNG bytes of one photograph: ground truth, observation and each restorer's output."""

    name: str
    ground_truth: bytes
    observation: bytes
    restored: dict[str, bytes]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _invented_texture(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Zero-mean noise with its low frequencies removed: detail, not a colour shift."""
    from scipy.ndimage import gaussian_filter

    noise = rng.normal(0.0, 1.0, shape)
    return noise - gaussian_filter(noise, 1.5)


def demo_images(count: int = 4, size: int = 128, seed: int = 3) -> list[DemoImages]:
    """``count`` photographs of ``size`` x ``size`` (a multiple of 4) and their restorations."""
    if size % FACTOR:
        raise ValueError(f"expected a size divisible by {FACTOR}, got {size}")
    rng = np.random.default_rng(seed)
    out = []
    for i, pixels in enumerate(crops(count, size, seed=seed)):
        truth = Image.fromarray(pixels)
        low = truth.resize((size // FACTOR, size // FACTOR), Image.Resampling.BICUBIC)
        up = low.resize(truth.size, Image.Resampling.BICUBIC)
        sharpened = up.filter(ImageFilter.UnsharpMask(radius=2, percent=200, threshold=0))
        texture = (
            np.asarray(up, dtype=np.float64)
            + 14.0 * _invented_texture(pixels.shape[:2], rng)[..., None]
        )
        textured = Image.fromarray(np.clip(np.rint(texture), 0, 255).astype(np.uint8))
        out.append(
            DemoImages(
                name=f"photo{i}",
                ground_truth=_png(truth),
                observation=_png(low),
                restored={
                    "bicubic": _png(up),
                    "sharpened": _png(sharpened),
                    "texture": _png(textured),
                },
            )
        )
    return out


def write_demo_folders(root: Path, images: list[DemoImages]) -> dict[str, Path]:
    """The CLI's layout: ``gt/``, ``lr/`` and one folder per restorer, files named alike."""
    folders = {name: root / name for name in ("gt", "lr", *RESTORERS)}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        (folders["gt"] / f"{image.name}.png").write_bytes(image.ground_truth)
        (folders["lr"] / f"{image.name}.png").write_bytes(image.observation)
        for restorer, data in image.restored.items():
            (folders[restorer] / f"{image.name}.png").write_bytes(data)
    return folders


def demo_multipart(
    images: list[DemoImages],
) -> tuple[list[tuple[str, tuple[str, bytes, str]]], list[dict[str, str]]]:
    """``files=`` of a ``POST /v1/jobs`` (every restorer of every photograph) and the
    ``pairs`` option naming them ``<restorer>-<photo>`` in group ``<restorer>``."""
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    pairs = []
    for restorer in RESTORERS:
        for image in images:
            files.append(("ground_truth", (f"{image.name}.png", image.ground_truth, "image/png")))
            files.append(
                (
                    "restored",
                    (f"{restorer}-{image.name}.png", image.restored[restorer], "image/png"),
                )
            )
            files.append(("observation", (f"lr-{image.name}.png", image.observation, "image/png")))
            pairs.append({"id": f"{restorer}-{image.name}", "group": restorer})
    return files, pairs
