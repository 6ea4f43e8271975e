"""Real photographs (bundled with scikit-image) and realistic "restorations" of them.

Used by tests, examples and benchmarks; nothing is downloaded.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageFilter

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")


def photo(name: str) -> np.ndarray:
    """An RGB uint8 photograph from ``skimage.data``."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def crops(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` RGB uint8 crops of ``size`` x ``size`` from the bundled photographs."""
    rng = np.random.default_rng(seed)
    images = [_at_least(photo(n), size) for n in PHOTOS]
    out = []
    for i in range(count):
        image = images[i % len(images)]
        top = int(rng.integers(0, image.shape[0] - size + 1))
        left = int(rng.integers(0, image.shape[1] - size + 1))
        out.append(image[top : top + size, left : left + size].copy())
    return out


def _at_least(image: np.ndarray, size: int) -> np.ndarray:
    """Upscale (bicubic) a photograph whose short side is under ``size``; else unchanged."""
    short = min(image.shape[:2])
    if short >= size:
        return image
    scale = size / short
    height, width = (max(size, round(n * scale)) for n in image.shape[:2])
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized)


def degrade(image: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """A realistic restoration-like output: ``noise``, ``blur``, ``jpeg`` or ``sharpen``."""
    rng = np.random.default_rng(seed)
    pil = Image.fromarray(image)
    if kind == "noise":
        noisy = image.astype(np.float64) + rng.normal(0, 6.0, image.shape)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if kind == "blur":
        return np.asarray(pil.filter(ImageFilter.GaussianBlur(1.2)))
    if kind == "jpeg":
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=40)
        return np.asarray(Image.open(buffer).convert("RGB"))
    if kind == "sharpen":
        return np.asarray(pil.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=0)))
    raise ValueError(f"unknown degradation {kind!r}")


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` to float32 ``(3, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float().div(255.0)
