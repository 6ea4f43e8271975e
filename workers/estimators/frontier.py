"""The Gaussian-oracle frontier of the uncertainty-perception plane (docs/theory.md §3.6).

A single-output audit measures the *marginal* perception index, and eta(P; d) of Theorem 3 is
a floor only for the *conditional* one (docs/theory.md §3.5). The reference a marginal audit can
honestly use is the family of restorers that the fitted Gaussian model makes optimal:

``X_t = E[X|Y] + t W``, ``W ~ N(0, posterior covariance)`` independent, ``t`` in [0, 1],

from the posterior mean (``t = 0``) to a posterior sampler (``t = 1``). With ``S`` the prior
covariance of a patch and ``B`` its posterior covariance pooled over sampling phases, their
error covariance is ``(1 + t^2) B`` (uncertainty ratio ``r_t = 1 + t^2``) and their output
covariance ``S - (1 - t^2) B``, so their marginal index is

``P_t = D_1/2( N(0, S), N(0, S - (1 - t^2) B) )``.

Write ``a = 1 - t^2`` and ``lambda_i`` for the generalised eigenvalues of ``B`` against ``S``
(``B v = lambda S v``, all in [0, 1] since ``0 <= B <= S``). In the basis that whitens ``S``
both covariances are diagonal, and

``P(a) = sum_i [ log(1 - a lambda_i / 2) - log(1 - a lambda_i) / 2 ]``,

which increases with ``a`` from ``P(0) = 0`` (the sampler) to ``P_0 = P(1)`` (the posterior
mean). The frontier is ``r_oracle(P) = 2 - a(P)`` for ``P < P_0`` (``a(P)`` the root of
``P(a) = P``) and 1 for ``P >= P_0``; its inverse, the least marginal index compatible with
ratio ``r``, is ``P_min(r) = P(2 - r)`` for ``r`` in [1, 2], 0 above 2, and undefined (the
Gaussian oracle cannot reach it at any P) below 1. So ``r >= r_oracle(P)`` exactly when
``P >= P_min(r)``.

Everything is batched over leading dimensions (one row per bootstrap resample) and computed in
float64; the eigenvalues come from one Cholesky factorisation and one symmetric eigensolver per
row, and ``a(P)`` from a vectorised bisection.
"""

from __future__ import annotations

import math

import torch

from workers.estimators.errors import EstimatorInputError

__all__ = [
    "frontier_eigenvalues",
    "frontier_min_perception",
    "frontier_perception",
    "frontier_points",
    "frontier_ratio",
]

_EIGEN_CEILING = 1.0 - 1e-12
"""Directions the observation does not inform at all have lambda = 1 and would give the
posterior mean an infinite index; they are held just below 1 so P_0 stays finite."""
_LINALG_ERROR: type[RuntimeError] = torch.linalg.LinAlgError  # type: ignore[attr-defined]
"""What eigvalsh raises when LAPACK does not converge (torch's stubs do not export it)."""
_BISECTION_STEPS = 60
"""Halvings of [0, 1] for a(P): 2^-60 is below float64 resolution."""


def frontier_eigenvalues(prior_block: torch.Tensor, posterior_block: torch.Tensor) -> torch.Tensor:
    """Generalised eigenvalues of the posterior block against the prior block (docs/theory.md §3.6).

    Args:
        prior_block: ``(..., d, d)`` prior covariance ``S`` of a patch, positive definite.
        posterior_block: ``(..., d, d)`` posterior covariance ``B`` pooled over phases.

    Returns:
        ``(..., d)`` float64 eigenvalues clamped to ``[0, 1 - 1e-12]``; NaN rows where ``S``
        is not positive definite.

    Raises:
        EstimatorInputError: on tensors that are not ``(..., d, d)`` of equal shape.

    Example:
        >>> s = torch.eye(2, dtype=torch.float64) * 4.0
        >>> b = torch.diag(torch.tensor([1.0, 2.0], dtype=torch.float64))
        >>> frontier_eigenvalues(s, b).tolist()
        [0.25, 0.5]
    """
    _check_blocks(prior_block, posterior_block)
    s = prior_block.detach().to(torch.float64)
    b = posterior_block.detach().to(torch.float64)
    chol, info = torch.linalg.cholesky_ex((s + s.mT) / 2)
    whitened = torch.linalg.solve_triangular(chol, b, upper=False)
    whitened = torch.linalg.solve_triangular(chol, whitened.mT, upper=False)
    whitened = (whitened + whitened.mT) / 2
    # A failed factor leaves garbage (often NaN) that makes eigvalsh raise for the whole
    # batch: one bootstrap resample with a singular prior must cost its own row, not the
    # audit. Such rows are solved as the identity and reported as NaN.
    bad = (info != 0) | ~torch.isfinite(whitened).all(dim=-1).all(dim=-1)
    identity = torch.eye(whitened.shape[-1], dtype=whitened.dtype, device=whitened.device)
    whitened = torch.where(bad[..., None, None], identity, whitened)
    eigenvalues, converged = _eigvalsh_rows(whitened)
    eigenvalues = eigenvalues.clamp(0.0, _EIGEN_CEILING)
    bad = (bad | ~converged)[..., None].expand_as(eigenvalues)
    return torch.where(bad, torch.full_like(eigenvalues, math.nan), eigenvalues)


def _eigvalsh_rows(symmetric: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues of a batch of symmetric matrices and which rows converged: the batch in
    one call, and only if LAPACK gives up on one of them (ill-conditioned, finite), each
    matrix on its own, NaN for those that still fail."""
    try:
        values = torch.linalg.eigvalsh(symmetric)
        return values, torch.ones(values.shape[:-1], dtype=torch.bool, device=values.device)
    except _LINALG_ERROR:
        pass
    flat = symmetric.reshape(-1, *symmetric.shape[-2:])
    values = torch.full(flat.shape[:-1], math.nan, dtype=flat.dtype, device=flat.device)
    converged = torch.zeros(flat.shape[0], dtype=torch.bool, device=flat.device)
    for row in range(flat.shape[0]):  # rare: only after a failed batched call
        try:
            values[row] = torch.linalg.eigvalsh(flat[row])
            converged[row] = True
        except _LINALG_ERROR:
            continue
    return values.reshape(symmetric.shape[:-1]), converged.reshape(symmetric.shape[:-2])


def _perception_at(eigenvalues: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """P(a) of the module docstring, rows of eigenvalues against a ``(...)`` tensor ``a``."""
    scaled = a[..., None] * eigenvalues
    return (torch.log1p(-scaled / 2) - torch.log1p(-scaled) / 2).sum(-1)


def frontier_perception(
    prior_block: torch.Tensor, posterior_block: torch.Tensor, t: float | torch.Tensor
) -> torch.Tensor:
    """Marginal index ``P_t`` of the oracle restorer ``E[X|Y] + t W`` (docs/theory.md §3.6).

    ``P_t = D_1/2( N(0, S), N(0, S - (1 - t^2) B) )``, its ratio being ``1 + t^2``.

    Args:
        prior_block: ``(..., d, d)`` prior covariance ``S``.
        posterior_block: ``(..., d, d)`` posterior covariance ``B`` pooled over phases.
        t: scale of the added posterior noise, in [0, 1]; float or tensor broadcastable to
            the leading dimensions.

    Returns:
        ``(...)`` float64 ``P_t`` in nats.

    Raises:
        EstimatorInputError: on mismatched blocks or ``t`` outside [0, 1].

    Example:
        One direction with ``B = S / 2``: ``P_0 = log(3/4) - log(1/2) / 2``.

        >>> s, b = torch.eye(1, dtype=torch.float64), 0.5 * torch.eye(1, dtype=torch.float64)
        >>> round(frontier_perception(s, b, 0.0).item(), 12)
        0.058891517828
        >>> frontier_perception(s, b, 1.0).item()
        0.0
    """
    eigenvalues = frontier_eigenvalues(prior_block, posterior_block)
    scale = torch.as_tensor(t, dtype=torch.float64, device=eigenvalues.device)
    if bool(((scale < 0) | (scale > 1)).any()):
        raise EstimatorInputError(f"expected t in [0, 1], got {t!r}")
    a = (1.0 - scale * scale).expand(eigenvalues.shape[:-1])
    return _perception_at(eigenvalues, a)


def frontier_ratio(
    prior_block: torch.Tensor,
    posterior_block: torch.Tensor,
    perception: float | torch.Tensor,
) -> torch.Tensor:
    """The frontier ``r_oracle(P)``: least uncertainty ratio of the Gaussian oracle at ``P``.

    Implements docs/theory.md §3.6: ``r_oracle(P) = 1 + t(P)^2`` where ``P_t = P`` for
    ``P < P_0`` (the posterior mean's index), and 1 for ``P >= P_0``; 2 at ``P <= 0``.

    Args:
        prior_block: ``(..., d, d)`` prior covariance ``S`` of a patch.
        posterior_block: ``(..., d, d)`` posterior covariance ``B`` pooled over phases.
        perception: marginal index ``P`` (nats), float or tensor broadcastable to the
            leading dimensions; NaN gives NaN.

    Returns:
        ``(...)`` float64 ratio in [1, 2].

    Example:
        >>> s, b = torch.eye(1, dtype=torch.float64), 0.5 * torch.eye(1, dtype=torch.float64)
        >>> p_half = frontier_perception(s, b, 0.5)
        >>> round(frontier_ratio(s, b, p_half).item(), 9)
        1.25
        >>> frontier_ratio(s, b, 1.0).item(), frontier_ratio(s, b, 0.0).item()
        (1.0, 2.0)
    """
    eigenvalues = frontier_eigenvalues(prior_block, posterior_block)
    target = torch.as_tensor(perception, dtype=torch.float64, device=eigenvalues.device)
    target = target.expand(eigenvalues.shape[:-1]) if target.ndim == 0 else target
    low = torch.zeros_like(target)
    high = torch.ones_like(target)
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        above = _perception_at(eigenvalues, middle) > target
        high = torch.where(above, middle, high)
        low = torch.where(above, low, middle)
    ratio = 2.0 - (low + high) / 2
    ratio = torch.where(target <= 0, torch.full_like(ratio, 2.0), ratio)
    undefined = torch.isnan(target) | torch.isnan(eigenvalues).any(-1)
    return torch.where(undefined, torch.full_like(ratio, math.nan), ratio)


def frontier_min_perception(
    prior_block: torch.Tensor, posterior_block: torch.Tensor, ratio: float | torch.Tensor
) -> torch.Tensor:
    """Least marginal index compatible with uncertainty ratio ``r`` on the frontier.

    Implements docs/theory.md §3.6 (the inverse of :func:`frontier_ratio`): ``P_min(r) = P_t`` with
    ``t = sqrt(r - 1)`` for ``r`` in [1, 2], 0 for ``r > 2``, and NaN for ``r < 1`` (no
    restorer of the Gaussian oracle family is that certain). ``r >= r_oracle(P)`` holds
    exactly when ``P >= P_min(r)``.

    Args:
        prior_block: ``(..., d, d)`` prior covariance ``S``.
        posterior_block: ``(..., d, d)`` posterior covariance ``B``.
        ratio: ``r = U / N(X|Y)``, float or tensor broadcastable to the leading dimensions.

    Returns:
        ``(...)`` float64 ``P_min`` in nats (NaN where undefined).

    Example:
        With ``B = S / 2``, ``r = 1`` gives the posterior mean's ``P_0`` (as in
        :func:`frontier_perception`), and any ``r > 2`` gives 0.

        >>> s, b = torch.eye(1, dtype=torch.float64), 0.5 * torch.eye(1, dtype=torch.float64)
        >>> [round(frontier_min_perception(s, b, r).item(), 12) for r in (1.0, 2.5)]
        [0.058891517828, 0.0]
    """
    eigenvalues = frontier_eigenvalues(prior_block, posterior_block)
    r = torch.as_tensor(ratio, dtype=torch.float64, device=eigenvalues.device)
    r = r.expand(eigenvalues.shape[:-1]) if r.ndim == 0 else r
    a = (2.0 - r).clamp(0.0, 1.0)
    value = _perception_at(eigenvalues, a)
    return torch.where(r < 1.0, torch.full_like(value, math.nan), value)


def frontier_points(
    prior_block: torch.Tensor, posterior_block: torch.Tensor, count: int = 33
) -> list[tuple[float, float]]:
    """``count`` points ``(P_t, 1 + t^2)`` of the frontier, ``t`` from 1 down to 0.

    Implements docs/theory.md §3.6 (the points the report and the UP plot carry). ``t`` is spaced
    evenly in ``t^2`` so the ratios are evenly spaced.

    Args:
        prior_block: ``(d, d)`` prior covariance of a patch.
        posterior_block: ``(d, d)`` posterior covariance pooled over phases.
        count: number of points, >= 2.

    Returns:
        ``[(perception, ratio), ...]`` from ``(0, 2)`` to ``(P_0, 1)``.

    Example:
        >>> s, b = torch.eye(1, dtype=torch.float64), 0.5 * torch.eye(1, dtype=torch.float64)
        >>> [(round(p, 4), r) for p, r in frontier_points(s, b, 3)]
        [(0.0, 2.0), (0.0103, 1.5), (0.0589, 1.0)]
    """
    if not (isinstance(count, int) and count >= 2):
        raise EstimatorInputError(f"expected count >= 2, got {count!r}")
    if prior_block.ndim != 2:
        raise EstimatorInputError(f"expected one (d, d) block, got {tuple(prior_block.shape)}")
    eigenvalues = frontier_eigenvalues(prior_block, posterior_block)
    a = torch.linspace(0.0, 1.0, count, dtype=torch.float64, device=eigenvalues.device)
    perception = _perception_at(eigenvalues.expand(count, -1), a)
    return [(float(p), float(2.0 - x)) for p, x in zip(perception, a, strict=True)]


def _check_blocks(prior_block: torch.Tensor, posterior_block: torch.Tensor) -> None:
    for tensor, name in ((prior_block, "prior_block"), (posterior_block, "posterior_block")):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise EstimatorInputError(f"expected {name} a floating tensor, got {type(tensor)}")
        if tensor.ndim < 2 or tensor.shape[-1] != tensor.shape[-2]:
            raise EstimatorInputError(
                f"expected {name} of shape (..., d, d), got {tuple(tensor.shape)}"
            )
    if prior_block.shape[-1] != posterior_block.shape[-1]:
        raise EstimatorInputError(
            "expected prior_block and posterior_block of equal d, "
            f"got {prior_block.shape[-1]} and {posterior_block.shape[-1]}"
        )
