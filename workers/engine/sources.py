"""What the engine audits: pairs of images (files or tensors), and where maps go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from api_schemas.images import Geometry, ImageLimits, orientation_warning
from workers import io as image_io
from workers.errors import AuditInputError

ImageSource = Path | torch.Tensor


@dataclass(frozen=True)
class PairSource:
    """One ground-truth/restored pair, optionally with the degraded observation.

    Tensors are ``(C, H, W)`` floats in [0, 1] with C in {1, 3}; paths are decoded once.
    """

    id: str
    group: str
    ground_truth: ImageSource
    restored: ImageSource
    names: tuple[str, str, str | None] | None = field(default=None, kw_only=True)
    """How errors name the ground truth, the restored image and the observation (the command
    line: the files the user gave); None: ``ground_truth[id]``, ``restored[id]``..."""
    observation: ImageSource | None = None
    input: str | None = None
    """The input this output was restored from: outputs of one group with the same input are
    several samples of a stochastic restorer (docs/theory.md 3.9); None means the pair's id."""
    sample: int | None = None
    """Index of this sample among the input's outputs; None for a one-output audit."""

    def part(self, role: str) -> str:
        """How errors name this pair's ``role`` image (``ground_truth``, ``restored`` or
        ``observation``)."""
        if self.names is not None:
            name = self.names[("ground_truth", "restored", "observation").index(role)]
            if name is not None:
                return name
        return f"{role}[{self.id}]"


@dataclass(frozen=True)
class ArtifactWriter:
    """Where the engine puts PNG artifacts, and how the report links to them.

    ``write_pixels``, when given, takes a heat map as ``(H, W, 3)`` uint8 RGB pixels for a
    ``.png`` name instead of PNG bytes, so that a store able to encode later (the service's
    payload store encodes on first download) spares the audit the encoding, which costs
    several times the drawing.
    """

    write: Callable[[str, bytes], None]
    url_for: Callable[[str], str]
    write_pixels: Callable[[str, NDArray[np.uint8]], None] | None = None


@dataclass
class LoadedPair:
    """A pair decoded to float32 tensors ``(C, H, W)`` on the CPU."""

    index: int
    source: PairSource
    ground_truth: torch.Tensor
    restored: torch.Tensor
    observation: torch.Tensor | None
    warnings: list[str] = field(default_factory=list)


def _load_one(source: ImageSource, part: str, limits: ImageLimits) -> image_io.DecodedImage:
    if isinstance(source, torch.Tensor):
        tensor = source.detach()
        if tensor.ndim == 4 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        if tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
            raise AuditInputError(
                f"expected a (C, H, W) tensor with C in (1, 3), got shape {tuple(tensor.shape)}",
                part=part,
            )
        if not tensor.is_floating_point():
            raise AuditInputError(f"expected a floating tensor, got {tensor.dtype}", part=part)
        low, high = torch.aminmax(tensor)  # one pass; NaN propagates to both
        if not (float(low) >= 0.0 and float(high) <= 1.0):
            raise AuditInputError("expected finite values in [0, 1]", part=part)
        return image_io.DecodedImage(
            tensor=tensor.to(torch.float32).cpu(),
            warnings=[],
            mode="tensor",
            bit_depth=32,
            format="tensor",
        )
    return image_io.decode_image(
        Path(source),
        name=part,
        max_pixels=limits.max_pixels,
        max_compression_ratio=limits.max_compression_ratio,
    )


def load_image(source: ImageSource, part: str, limits: ImageLimits) -> image_io.DecodedImage:
    """Decode one image (a file or a tensor) with the checks of a pair's images."""
    return _load_one(source, part, limits)


def load_pair(index: int, pair: PairSource, limits: ImageLimits | int) -> LoadedPair:
    """Decode one pair and check its geometry; errors name the offending part.

    ``limits`` are the deployment's image limits (an int: the pixel limit alone). Ground
    truth and restored with different EXIF orientations get a pair warning (both are
    compared as displayed: ``api_schemas.images``)."""
    if isinstance(limits, int):
        limits = ImageLimits(max_pixels=limits)
    gt_part, restored_part = pair.part("ground_truth"), pair.part("restored")
    gt = _load_one(pair.ground_truth, gt_part, limits)
    restored = _load_one(pair.restored, restored_part, limits)
    image_io.check_same_geometry(gt, restored, name=restored_part, ground_truth_name=gt_part)
    observation = None
    warnings = [*gt.warnings, *restored.warnings]
    turned = orientation_warning(_geometry(gt, gt_part), _geometry(restored, restored_part))
    if turned is not None:
        warnings.append(turned)
    if pair.observation is not None:
        obs = _load_one(pair.observation, pair.part("observation"), limits)
        if obs.tensor.shape[0] != gt.tensor.shape[0]:
            raise AuditInputError(
                f"expected {gt.tensor.shape[0]} channels like the ground truth, "
                f"got {obs.tensor.shape[0]}",
                part=pair.part("observation"),
            )
        observation = obs.tensor
        warnings.extend(obs.warnings)
    return LoadedPair(index, pair, gt.tensor, restored.tensor, observation, warnings)


def _geometry(image: image_io.DecodedImage, part: str) -> Geometry:
    channels, height, width = image.tensor.shape
    return Geometry(part, int(width), int(height), int(channels), image.orientation)
