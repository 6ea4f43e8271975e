"""Rényi divergences between ground-truth and restored patch laws (perception index).

Implements docs/theory.md §3.5: the closed form between Gaussian fits, and the Póczos-Schneider
nearest-neighbour estimate. ``D_alpha(p, q) = log(integral p^alpha q^(1 - alpha)) /
(alpha - 1)`` with p the ground-truth law and q the restored one; orders in (0, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from workers.estimators._checks import check_open_unit
from workers.estimators.errors import EstimatorInputError
from workers.estimators.patches import PatchMoments, row_chunks
from workers.estimators.uncertainty import _check_k, _check_samples, kth_neighbour_distance

__all__ = [
    "gaussian_renyi_divergence",
    "gaussian_renyi_divergence_from_statistics",
    "gaussian_renyi_half_bias",
    "gaussian_renyi_half_debiased",
    "knn_renyi_divergence",
]


def _check_gaussian(mean: torch.Tensor, cov: torch.Tensor, name: str) -> None:
    for tensor, what in ((mean, f"mu_{name}"), (cov, f"cov_{name}")):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise EstimatorInputError(
                f"expected {what} a floating tensor, got {getattr(tensor, 'dtype', type(tensor))}"
            )
        if not bool(torch.isfinite(tensor).all()):
            raise EstimatorInputError(f"expected finite values in {what}, got NaN or infinity")
    if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2] or mean.ndim < 1:
        raise EstimatorInputError(
            f"expected mu_{name} (..., d) and cov_{name} (..., d, d), "
            f"got {tuple(mean.shape)} and {tuple(cov.shape)}"
        )
    if mean.shape[-1] != cov.shape[-1]:
        raise EstimatorInputError(
            f"expected mu_{name} and cov_{name} of equal d, "
            f"got {mean.shape[-1]} and {cov.shape[-1]}"
        )


_CHOLESKY_MAX_ORDER = 0.9
"""Up to this order the raw log-determinant form loses under 10x float64 rounding, and three
Cholesky factorisations are several times cheaper than an eigendecomposition (which matters
for the bootstrap's hundreds of covariances)."""


def _symmetrised(cov: torch.Tensor) -> torch.Tensor:
    """``(S + S') / 2`` in one fresh buffer (the bootstrap passes hundreds of d x d)."""
    return (cov + cov.transpose(-1, -2)).div_(2)


def _logdet_from_cholesky(chol: torch.Tensor) -> torch.Tensor:
    return 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)


def _terms_by_cholesky(
    sp: torch.Tensor,
    sq: torch.Tensor,
    dm: torch.Tensor,
    chols: tuple[torch.Tensor, torch.Tensor],
    order: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quadratic and log-determinant terms of §3.5.1 in the raw form, by Cholesky
    (``chols``: the factors of S_p and S_q)."""
    t = 1.0 - order
    chol_p, chol_q = chols
    chol_a = torch.linalg.cholesky_ex(t * sp + order * sq)[0]
    w = torch.linalg.solve_triangular(chol_a, dm[..., None], upper=False)[..., 0]
    quad = (w * w).sum(-1)
    logdet = (
        _logdet_from_cholesky(chol_a)
        - t * _logdet_from_cholesky(chol_p)
        - order * _logdet_from_cholesky(chol_q)
    ) / (2 * t)
    return quad, logdet


def _terms_by_eigenvalues(
    sp: torch.Tensor, sq: torch.Tensor, dm: torch.Tensor, chol_q: torch.Tensor, t: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same terms from the eigenvalues of L_q^-1 (S_p - S_q) L_q^-T, stable as alpha -> 1."""
    half = torch.linalg.solve_triangular(chol_q, sp - sq, upper=False)  # L^-1 (S_p - S_q)
    a = torch.linalg.solve_triangular(chol_q, half.transpose(-1, -2), upper=False)
    lam, vec = torch.linalg.eigh((a + a.transpose(-1, -2)) / 2)
    w = torch.linalg.solve_triangular(chol_q, dm[..., None], upper=False)[..., 0]
    z = (vec.transpose(-1, -2) @ w[..., None])[..., 0]
    quad = (z * z / (1 + t * lam)).sum(-1)
    logdet = (torch.log1p(t * lam) / t - torch.log1p(lam)).sum(-1) / 2
    return quad, logdet


def gaussian_renyi_divergence(
    mu_p: torch.Tensor,
    cov_p: torch.Tensor,
    mu_q: torch.Tensor,
    cov_q: torch.Tensor,
    order: float = 0.5,
) -> torch.Tensor:
    """Rényi divergence of order alpha between N(mu_p, cov_p) and N(mu_q, cov_q).

    Implements docs/theory.md §3.5.1:
    ``D_alpha = (alpha/2) dm' S_a^-1 dm
    - log(det S_a / (det S_p^(1-alpha) det S_q^alpha)) / (2 (alpha - 1))``,
    ``S_a = (1 - alpha) S_p + alpha S_q``, dm = mu_p - mu_q (p: ground truth, q: restored).
    Evaluated in float64. For alpha <= 0.9, by Cholesky factors of S_p, S_q and S_a (the raw
    form; cheap for the bootstrap's batches). Above, from one Cholesky of S_q and the
    eigenvalues lambda of ``A = L_q^-1 (S_p - S_q) L_q^-T``: the log-determinant term is
    ``sum_i [log1p((1 - alpha) lambda_i) / (1 - alpha) - log1p(lambda_i)] / 2``, free of the
    cancellation of the raw form as alpha -> 1 (it tends to the Kullback-Leibler term). At
    alpha = 1/2 it equals THEORY's special form.

    Where cov_p or cov_q is not positive definite the divergence is undefined: the result
    is NaN there (the engine reports null with a warning).

    Args:
        mu_p: ``(..., d)`` mean of p.
        cov_p: ``(..., d, d)`` symmetric covariance of p.
        mu_q: ``(..., d)`` mean of q.
        cov_q: ``(..., d, d)`` symmetric covariance of q.
        order: alpha in (0, 1); default 1/2.

    Returns:
        ``(...)`` (the broadcast batch shape) divergences >= 0 in the inputs' promoted dtype.

    Raises:
        EstimatorInputError: on non-floating or non-finite inputs, mismatched d, shapes
            that do not broadcast, or an order outside (0, 1).

    Example:
        >>> one, zero = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
        >>> gaussian_renyi_divergence(zero, one, zero + 2, one, 0.5).item()  # alpha dm^2 / 2
        1.0
    """
    _check_gaussian(mu_p, cov_p, "p")
    _check_gaussian(mu_q, cov_q, "q")
    check_open_unit(order, "order")
    if mu_p.shape[-1] != mu_q.shape[-1]:
        raise EstimatorInputError(
            f"expected p and q of equal d, got {mu_p.shape[-1]} and {mu_q.shape[-1]}"
        )
    d = mu_p.shape[-1]
    try:
        batch = np.broadcast_shapes(
            mu_p.shape[:-1], cov_p.shape[:-2], mu_q.shape[:-1], cov_q.shape[:-2]
        )
    except ValueError as exc:
        raise EstimatorInputError(f"expected broadcastable batch shapes, got {exc}") from exc
    dtype = torch.promote_types(torch.promote_types(mu_p.dtype, cov_p.dtype), mu_q.dtype)
    dtype = torch.promote_types(dtype, cov_q.dtype)

    def prep(t: torch.Tensor, tail: tuple[int, ...]) -> torch.Tensor:
        return t.to(torch.float64).expand(*batch, *tail)

    sp, sq = _symmetrised(prep(cov_p, (d, d))), _symmetrised(prep(cov_q, (d, d)))
    dm = prep(mu_p, (d,)) - prep(mu_q, (d,))
    chol_q, info_q = torch.linalg.cholesky_ex(sq)
    chol_p, info_p = torch.linalg.cholesky_ex(sp)
    bad = (info_p != 0) | (info_q != 0)
    eye = torch.eye(d, dtype=torch.float64, device=sq.device)
    chol_q = torch.where(bad[..., None, None], eye, chol_q)
    # The factor of the identity is the identity: S_p's factor is kept, not recomputed.
    chol_p = torch.where(bad[..., None, None], eye, chol_p)
    sp = torch.where(bad[..., None, None], eye, sp)
    sq = torch.where(bad[..., None, None], eye, sq)
    t = 1.0 - order
    if order <= _CHOLESKY_MAX_ORDER:
        quad, logdet = _terms_by_cholesky(sp, sq, dm, (chol_p, chol_q), order)
    else:
        quad, logdet = _terms_by_eigenvalues(sp, sq, dm, chol_q, t)
    # Both terms are >= 0 (log1p(t l) >= t log1p(l) for t in (0, 1)); the clamp only guards
    # eta(P), which refuses P < 0, against a rounding residue. NaN passes through.
    out = (order / 2 * quad + logdet).clamp(min=0.0)
    # Identical laws: exactly 0, whichever form rounded.
    same = (sp == sq).all(-1).all(-1) & (dm == 0).all(-1)
    out = torch.where(same, torch.zeros_like(out), out)
    out = torch.where(bad, torch.full_like(out, math.nan), out)
    return out.to(dtype)


def check_sample_pair(
    p: torch.Tensor,
    q: torch.Tensor,
    order: float,
    k: int,
    names: tuple[str, str],
    counted: tuple[str, str] | None = None,
) -> tuple[int, int, int]:
    """Check the inputs of a k-NN Renyi divergence between ``(n, d)`` and ``(m, d)`` samples.

    ``names`` name the two sample sets in messages, ``counted`` (default: ``names``) the sets
    whose sizes bound ``k`` (the first excluding the sample itself). Shared by the plain and the
    calibrated estimators, so that both refuse the same inputs.

    Returns:
        ``(n, m, d)``: the two sample counts and the dimension.

    Raises:
        EstimatorInputError: on samples that are not finite ``(n, d)`` tensors, an order outside
            (0, 1), sample sets of unequal dimension or too few samples for ``k``.
    """
    _check_samples(p, names[0])
    _check_samples(q, names[1])
    check_open_unit(order, "order")
    n, d = p.shape
    if q.shape[1] != d:
        raise EstimatorInputError(
            f"expected {names[0]} and {names[1]} of equal d, got {d} and {q.shape[1]}"
        )
    p_count, q_count = counted or names
    _check_k(k, n - 1, f"other {p_count}")
    _check_k(k, q.shape[0], q_count)
    return n, q.shape[0], d


def knn_renyi_divergence(
    p_samples: torch.Tensor, q_samples: torch.Tensor, order: float = 0.5, k: int = 3
) -> torch.Tensor:
    """Póczos-Schneider nearest-neighbour estimate of the Rényi divergence D_alpha(p, q).

    Implements docs/theory.md §3.5.2:
    ``T = B(k, alpha) mean_i( ((n - 1) / m * (rho_k(i) / nu_k(i))^d)^(1 - alpha) )``,
    ``B = Gamma(k)^2 / (Gamma(k - alpha + 1) Gamma(k + alpha - 1))``,
    ``D = log T / (alpha - 1)``, with rho_k(i) the distance from p-sample i to its k-th
    nearest other p-sample and nu_k(i) to its k-th nearest q-sample. Evaluated in float64
    in log space (log-mean-exp). Ties at distance 0 give NaN or infinite terms.

    Args:
        p_samples: ``(n, d)`` samples of p (ground truth), n > k.
        q_samples: ``(m, d)`` samples of q (restored), m >= k.
        order: alpha in (0, 1); default 1/2.
        k: neighbour rank >= 1; default 3.

    Returns:
        0-d tensor in the promoted dtype of the samples, on their device.

    Raises:
        EstimatorInputError: on bad samples, unequal d, order outside (0, 1), or bad k.

    Example:
        >>> p = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
        >>> q = torch.tensor([[0.5], [1.5]], dtype=torch.float64)
        >>> # k=1: rho = 1, nu = 1/2, (n - 1)/m = 1, so T = B sqrt(2), B = 2/pi
        >>> value = knn_renyi_divergence(p, q, 0.5, 1)
        >>> round(value.item(), 12) == round(-2 * math.log(2 * math.sqrt(2) / math.pi), 12)
        True
    """
    n, m, d = check_sample_pair(p_samples, q_samples, order, k, ("p_samples", "q_samples"))
    shift = p_samples.to(torch.float64).mean(0)
    p = p_samples.to(torch.float64) - shift
    q = q_samples.to(device=p.device, dtype=torch.float64) - shift
    rho = kth_neighbour_distance(p, p, k, exclude_self=True)
    nu = kth_neighbour_distance(p, q, k, exclude_self=False)
    t = 1.0 - order
    log_b = 2 * math.lgamma(k) - math.lgamma(k - order + 1) - math.lgamma(k + order - 1)
    terms = t * (math.log((n - 1) / m) + d * (torch.log(rho) - torch.log(nu)))
    log_t = log_b + torch.logsumexp(terms, 0) - math.log(n)
    dtype = torch.promote_types(p_samples.dtype, q_samples.dtype)
    return (log_t / (order - 1)).to(dtype)


def gaussian_renyi_divergence_from_statistics(
    truth: PatchMoments, restored: PatchMoments, order: float = 0.5
) -> torch.Tensor:
    """Gaussian Rényi divergence between the patch laws of two sets of patch moments, by row.

    Implements docs/theory.md §3.5.1 from the sufficient statistics of §3.3: row ``r`` is
    :func:`gaussian_renyi_divergence` between ``N(mu_x, S_x)`` and ``N(mu_r, S_r)``, the means
    and population covariances of ``truth`` and ``restored`` in that row (a pair, a group's
    pooled sums, or one bootstrap resample, §3.4 item 3).

    Args:
        truth: :class:`PatchMoments` of the ground-truth patches, R rows.
        restored: :class:`PatchMoments` of the restored patches, R rows (or one, broadcast).
        order: alpha in (0, 1).

    Returns:
        ``(R,)`` divergences >= 0, float64; NaN where a covariance is not positive definite.

    Raises:
        EstimatorInputError: on mismatched moments, a count that is not positive, or an order
            outside (0, 1).

    Example:
        >>> def moments(x):
        ...     return PatchMoments(torch.tensor([float(len(x))], dtype=torch.float64),
        ...                         x.sum(0)[None], (x.T @ x)[None])
        >>> x = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)  # N(0, 1)
        >>> gaussian_renyi_divergence_from_statistics(moments(x), moments(x + 2.0)).tolist()
        [1.0]
    """
    parts = []
    for truth_rows, restored_rows in row_chunks(truth, restored):
        mu_x, cov_x = truth_rows.mean_and_covariance()
        mu_r, cov_r = restored_rows.mean_and_covariance()
        parts.append(gaussian_renyi_divergence(mu_x, cov_x, mu_r, cov_r, order))
    return torch.cat(parts)


def gaussian_renyi_half_bias(
    dimension: int, n_first: float | torch.Tensor, n_second: float | torch.Tensor
) -> float | torch.Tensor:
    """First-order upward bias of the plug-in Gaussian D_1/2 between two sample covariances.

    Implements docs/theory.md §3.6 (small-sample bias of P): between sample covariances of ``n1``
    and ``n2`` vectors of one ``d``-dimensional law the plug-in order-1/2 divergence is about
    ``d (d + 1) / 8 (1 / n1 + 1 / n2)`` nats, not 0; the engine subtracts it (and clamps at 0)
    before placing a restorer, because the frontier is steep near P = 0.

    Args:
        dimension: ``d >= 1``.
        n_first: ``n1 > 0`` (float or tensor).
        n_second: ``n2 > 0`` (float or tensor).

    Returns:
        The bias in nats, a float or a tensor like the counts.

    Example:
        >>> round(gaussian_renyi_half_bias(64, 1_000_000, 1_000_000), 6)
        0.00104
    """
    if not (isinstance(dimension, int) and dimension >= 1):
        raise EstimatorInputError(f"expected dimension >= 1, got {dimension!r}")
    return dimension * (dimension + 1) / 8 * (1 / n_first + 1 / n_second)


@dataclass(frozen=True)
class DebiasedDivergence:
    """A bias-corrected Gaussian D_1/2 and its corrected bootstrap replicates."""

    value: float
    """``max(0, raw - bias)``."""
    resampled: torch.Tensor | None
    """The replicates re-centred on ``value`` (see :func:`gaussian_renyi_half_debiased`),
    clamped at 0, or None without a bootstrap."""
    bias: float
    method: Literal["bootstrap", "first_order"]


def gaussian_renyi_half_debiased(
    raw: float, resampled: torch.Tensor | None, dimension: int, patches: float
) -> DebiasedDivergence:
    """Remove the small-sample bias of a plug-in Gaussian D_1/2 between patch laws.

    Implements docs/theory.md §3.6 (small-sample bias of P). The plug-in D_1/2 between two
    sample covariances is biased up, and the frontier is steep near P = 0. The first-order
    formula :func:`gaussian_renyi_half_bias` assumes independent samples; ground-truth and
    restored patches come from the same images and are strongly correlated (a high-SNR
    restorer's patches nearly equal the truth's), so the formula can overstate the bias several
    times (at noise 0.01 it removed 0.016 nats of a 0.045-nat index). The bootstrap over pairs
    measures the bias under the real dependence: ``bias = max(0, mean of the finite replicates
    - raw)``, used when at least half of the replicates are finite; otherwise (no bootstrap)
    the first-order formula with ``n1 = n2 = patches``. The bias is subtracted from the
    estimate, clamped at 0.

    The replicates are shifted to centre on the corrected estimate, not on the raw one: a
    replicate is a plug-in estimate on a resample of the pooled laws, so it carries the
    plug-in bias a second time (its mean is ``raw + bias``). Subtracting ``bias`` once left
    the interval centred on ``raw``, above the estimate it belongs to, and the steep frontier
    near P = 0 turned that into a floor interval excluding 2 for an exact posterior sampler.
    So each replicate loses the bootstrap's own bias (``mean - raw``, when measured) and the
    estimate's ``bias``, then is clamped at 0: ``2 * bias`` with the bootstrap method. On
    Gaussian samples the percentile interval then covers the true divergence at its level or
    above (above only near 0, where the clamp piles replicates at the boundary).

    Args:
        raw: The plug-in D_1/2 of the pooled moments (finite).
        resampled: ``(R,)`` plug-in D_1/2 of the bootstrap resamples (may hold NaN), or None.
        dimension: Patch dimension ``d >= 1``.
        patches: Patches behind each covariance, > 0.

    Returns:
        :class:`DebiasedDivergence`.

    Raises:
        EstimatorInputError: If ``dimension`` is not a positive int.

    Example:
        >>> boot = torch.tensor([0.6, 0.8, float("nan")], dtype=torch.float64)
        >>> r = gaussian_renyi_half_debiased(0.5, boot, 4, 100)  # bias 0.7 - 0.5
        >>> round(r.value, 12), r.method, [round(v, 12) for v in r.resampled.tolist()]
        (0.3, 'bootstrap', [0.2, 0.4, nan])
        >>> gaussian_renyi_half_debiased(0.5, None, 4, 100).bias  # 4 * 5 / 8 * (2 / 100)
        0.05
    """
    finite = resampled[torch.isfinite(resampled)] if resampled is not None else None
    replicate_bias = (
        max(0.0, float(finite.mean()) - raw) if finite is not None and finite.numel() else 0.0
    )
    if (
        resampled is not None
        and finite is not None
        and 2 * finite.numel() >= max(1, resampled.numel())
    ):
        bias = replicate_bias
        method: Literal["bootstrap", "first_order"] = "bootstrap"
    else:
        bias = float(gaussian_renyi_half_bias(dimension, patches, patches))
        method = "first_order"
    if resampled is not None:
        resampled = (resampled - (bias + replicate_bias)).clamp(min=0.0)
    return DebiasedDivergence(max(0.0, raw - bias), resampled, bias, method)
