"""Sets of vectors and their patch-moment sufficient statistics, for the estimators' tests.

Each set is one row of :class:`PatchMoments` (docs/theory.md 3.3): its count, sum and sum of
outer products, so an estimator's per-row result can be checked against a closed form
computed on the set's vectors themselves.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from workers.estimators.patches import PatchMoments


def moments_of(rows: list[np.ndarray]) -> PatchMoments:
    """Sufficient statistics of several sets of vectors ``(n_i, d)``, one row each."""
    return PatchMoments(
        torch.tensor([float(len(x)) for x in rows], dtype=torch.float64),
        torch.tensor(np.stack([x.sum(0) for x in rows])),
        torch.tensor(np.stack([x.T @ x for x in rows])),
    )


def correlated_sets(seed: int, sets: int, vectors: int, d: int) -> list[np.ndarray]:
    """``sets`` sets of ``vectors`` correlated Gaussian vectors in ``d`` dimensions: one
    shared, well-conditioned mixing, each set at its own scale in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / math.sqrt(d) + np.eye(d)
    return [rng.normal(size=(vectors, d)) @ mixing * rng.uniform(0.5, 2.0) for _ in range(sets)]
