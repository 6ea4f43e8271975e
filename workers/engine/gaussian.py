"""Gaussian estimates from patch moments, one per row: uncertainty and perception.

Rows are pairs (per-pair estimates), a group's pooled sums (one row), or its bootstrap
resamples (docs/theory.md 3.4 item 3), so the same two functions serve all three.
"""

from __future__ import annotations

import torch

from workers.estimators.patches import PatchMoments
from workers.estimators.perception import gaussian_renyi_divergence
from workers.estimators.uncertainty import gaussian_entropy_power


def uncertainty_of(moments: PatchMoments) -> torch.Tensor:
    """Gaussian entropy power of the error (docs/theory.md 3.4.1) for each row of ``moments``."""
    _, cov = moments.mean_and_covariance()
    values = gaussian_entropy_power(cov, moments.count)
    # All-zero errors: the entropy power of a point mass is 0, not undefined.
    zero = (cov.diagonal(dim1=-2, dim2=-1).sum(-1) == 0) & (moments.total.abs().sum(-1) == 0)
    return torch.where(zero, torch.zeros_like(values), values)


def perception_of(truth: PatchMoments, restored: PatchMoments, order: float) -> torch.Tensor:
    """Gaussian Rényi divergence between patch laws (docs/theory.md 3.5.1), row by row."""
    mu_x, cov_x = truth.mean_and_covariance()
    mu_r, cov_r = restored.mean_and_covariance()
    return gaussian_renyi_divergence(mu_x, cov_x, mu_r, cov_r, order)
