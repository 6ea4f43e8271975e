"""Entropy-power estimates of the error law: Gaussian (Wishart-corrected) and k-NN.

Implements docs/theory.md §3.4 (and the entropy power of §1). All computations run in float64;
results are cast back to the input's floating dtype, on its device.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from workers.estimators.errors import EstimatorInputError
from workers.estimators.patches import PatchMoments, row_chunks

__all__ = [
    "entropy_power_of_gaussian",
    "gaussian_entropy_power",
    "gaussian_entropy_power_from_statistics",
    "knn_entropy_power",
    "wishart_logdet_bias",
]

_CDIST_ELEMENTS = 1 << 22


def _check_covariance(cov: torch.Tensor) -> None:
    if not isinstance(cov, torch.Tensor) or not cov.is_floating_point():
        raise EstimatorInputError(
            f"expected a floating covariance tensor, got {getattr(cov, 'dtype', type(cov))}"
        )
    if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2] or cov.shape[-1] < 1:
        raise EstimatorInputError(
            f"expected a covariance of shape (..., d, d), got {tuple(cov.shape)}"
        )
    if not bool(torch.isfinite(cov).all()):
        raise EstimatorInputError("expected finite covariance entries, got NaN or infinity")


def _logdet_or_nan(cov: torch.Tensor) -> torch.Tensor:
    """Float64 log-determinant by Cholesky of the symmetrised matrix; NaN where not PD."""
    sym = cov.to(torch.float64)
    sym = (sym + sym.transpose(-1, -2)).div_(2)  # one (..., d, d) buffer, not two
    chol, info = torch.linalg.cholesky_ex(sym)
    logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return torch.where(info == 0, logdet, torch.full_like(logdet, math.nan))


def wishart_logdet_bias(dimension: int, n: float | torch.Tensor) -> torch.Tensor:
    """Expected log-determinant bias of a d x d sample covariance from n Gaussian vectors.

    Implements docs/theory.md §3.4.1:
    ``bias(d, n) = sum_{i=1..d} digamma((n - i) / 2) + d log(2 / (n - 1))``, which is
    ``E[log det S] - log det Sigma`` for the *sample* covariance ``S`` (divisor n - 1, mean
    estimated) of n i.i.d. N(mu, Sigma) vectors, since (n - 1) S ~ Wishart(Sigma, n - 1).

    Args:
        dimension: d >= 1.
        n: number of vectors, n > d (float or tensor of any shape).

    Returns:
        float64 tensor of n's shape (0-d for a float).

    Raises:
        EstimatorInputError: if d is not a positive int or some n <= d.

    Example:
        >>> round(wishart_logdet_bias(1, 3).item(), 12)  # digamma(1) + log(1) = -gamma
        -0.577215664902
    """
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise EstimatorInputError(f"expected dimension a positive int, got {dimension!r}")
    count = torch.as_tensor(n, dtype=torch.float64)
    if not bool((count > dimension).all()) or not bool(torch.isfinite(count).all()):
        raise EstimatorInputError(f"expected finite n > d = {dimension}, got {n!r}")
    i = torch.arange(1, dimension + 1, dtype=torch.float64, device=count.device)
    digammas = torch.digamma((count[..., None] - i) / 2).sum(-1)
    return digammas + dimension * torch.log(2 / (count - 1))


def gaussian_entropy_power(
    cov: torch.Tensor,
    n: float | torch.Tensor,
    *,
    covariance: Literal["population", "sample"] = "population",
) -> torch.Tensor:
    """Wishart-corrected Gaussian entropy power U_gauss of n vectors' covariance.

    Implements docs/theory.md §3.4.1: ``U_gauss = exp((log det S_e - bias(d, n)) / d)`` with
    ``S_e`` the sample covariance (divisor n - 1), which the Wishart bias assumes. The
    default input is the population covariance (divisor n) of
    ``PatchMoments.mean_and_covariance``; it is converted with
    ``log det S_e = log det S_pop + d log(n / (n - 1))``.

    A covariance that is not positive definite (singular, e.g. from n <= d vectors, or
    indefinite) has no finite log-determinant: the result is NaN there (also wherever
    n <= d, where the bias is undefined), which the engine reports as null with a warning.

    Args:
        cov: ``(..., d, d)`` finite symmetric covariance (floating).
        n: number of vectors behind each covariance (finite); float or tensor
            broadcastable to ``cov.shape[:-2]``. Entries with n <= d give NaN.
        covariance: ``"population"`` (divisor n, default) or ``"sample"`` (divisor n - 1).

    Returns:
        ``(...)`` entropy power, in cov's dtype and device; NaN where cov is not PD.

    Raises:
        EstimatorInputError: on a bad covariance tensor, a non-finite n, or an unknown
            covariance kind.

    Example:
        >>> cov = torch.eye(2, dtype=torch.float64) * 0.5  # sample covariance
        >>> bias = wishart_logdet_bias(2, 10)
        >>> value = gaussian_entropy_power(cov, 10, covariance="sample")
        >>> bool(torch.isclose(value, 0.5 * torch.exp(-bias / 2)))
        True
    """
    _check_covariance(cov)
    if covariance not in ("population", "sample"):
        raise EstimatorInputError(
            f"expected covariance 'population' or 'sample', got {covariance!r}"
        )
    d = cov.shape[-1]
    count = torch.as_tensor(n, dtype=torch.float64, device=cov.device)
    if not bool(torch.isfinite(count).all()):
        raise EstimatorInputError(f"expected finite n, got {n!r}")
    enough = count > d  # n <= d vectors: the sample covariance is singular
    count = torch.where(enough, count, torch.full_like(count, d + 1.0))
    bias = wishart_logdet_bias(d, count)
    logdet = _logdet_or_nan(cov)
    if covariance == "population":
        logdet = logdet + d * torch.log(count / (count - 1))
    value = torch.exp((logdet - bias) / d)
    return torch.where(enough, value, torch.full_like(value, math.nan)).to(cov.dtype)


def gaussian_entropy_power_from_statistics(moments: PatchMoments) -> torch.Tensor:
    """Wishart-corrected Gaussian entropy power of the error, one per row of patch moments.

    Implements docs/theory.md §3.4.1 from the sufficient statistics of §3.3: each row of
    ``moments`` (a pair's patches, a group's pooled sums, or one bootstrap resample of them,
    §3.4 item 3) gives its population covariance and count, and the result is
    :func:`gaussian_entropy_power` of them. A row whose patches are all zero (a restored image
    equal to its ground truth) has a point-mass error law, whose entropy power is 0, not
    undefined.

    Args:
        moments: float64 :class:`PatchMoments` with R rows (counts > 0).

    Returns:
        ``(R,)`` entropy powers, float64; NaN where the covariance is not positive definite
        or a row has no more patches than dimensions.

    Raises:
        EstimatorInputError: on moments of mismatched shapes or a count that is not positive.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
        >>> m = PatchMoments(torch.tensor([4.0], dtype=torch.float64), x.sum(0)[None],
        ...                  (x.T @ x)[None])
        >>> value = gaussian_entropy_power_from_statistics(m)  # S_e = 5/3, bias(1, 4)
        >>> bool(torch.isclose(value, 5 / 3 * torch.exp(-wishart_logdet_bias(1, 4))))
        True
    """
    return torch.cat([_entropy_power_of_rows(part) for (part,) in row_chunks(moments)])


def _entropy_power_of_rows(moments: PatchMoments) -> torch.Tensor:
    _, cov = moments.mean_and_covariance()
    values = gaussian_entropy_power(cov, moments.count)
    zero = (cov.diagonal(dim1=-2, dim2=-1).sum(-1) == 0) & (moments.total.abs().sum(-1) == 0)
    return torch.where(zero, torch.zeros_like(values), values)


def entropy_power_of_gaussian(cov: torch.Tensor) -> torch.Tensor:
    """Entropy power of N(mu, cov): the geometric mean of cov's eigenvalues.

    Implements docs/theory.md §1: ``N = det(cov)^(1/d)``, via a float64 Cholesky; NaN where
    cov is not positive definite.

    Args:
        cov: ``(..., d, d)`` finite symmetric covariance (floating).

    Returns:
        ``(...)`` entropy power in cov's dtype and device.

    Raises:
        EstimatorInputError: on a bad covariance tensor.

    Example:
        >>> entropy_power_of_gaussian(torch.diag(torch.tensor([1.0, 4.0]))).item()
        2.0
    """
    _check_covariance(cov)
    return torch.exp(_logdet_or_nan(cov) / cov.shape[-1]).to(cov.dtype)


def _check_samples(samples: torch.Tensor, name: str) -> None:
    if not isinstance(samples, torch.Tensor) or not samples.is_floating_point():
        raise EstimatorInputError(
            f"expected {name} a floating tensor, got {getattr(samples, 'dtype', type(samples))}"
        )
    if samples.ndim != 2:
        raise EstimatorInputError(f"expected {name} of shape (n, d), got {tuple(samples.shape)}")
    if not bool(torch.isfinite(samples).all()):
        raise EstimatorInputError(f"expected finite values in {name}, got NaN or infinity")


def _check_k(k: int, available: int, what: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise EstimatorInputError(f"expected k a positive int, got {k!r}")
    if available < k:
        raise EstimatorInputError(f"expected at least k = {k} {what}, got {available}")


def kth_neighbour_distance(
    queries: torch.Tensor, points: torch.Tensor, k: int, exclude_self: bool
) -> torch.Tensor:
    """Distance from each query to its k-th nearest point, by chunked ``torch.cdist``.

    Shared by the nearest-neighbour estimators of docs/theory.md §3.4.2 and §3.5.2; rows are
    processed in chunks so the distance matrix stays under ~32 MiB.

    Args:
        queries: ``(n, d)`` float64.
        points: ``(m, d)`` float64.
        k: neighbour rank, 1-based.
        exclude_self: when queries is points, skip each query's own index.

    Returns:
        ``(n,)`` float64 distances.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
        >>> kth_neighbour_distance(x, x, 1, exclude_self=True).tolist()
        [1.0, 1.0, 2.0]
    """
    n = queries.shape[0]
    step = max(1, _CDIST_ELEMENTS // max(1, points.shape[0]))
    # Neighbours are selected on float32 distances (the matrix product is the whole cost, and
    # float32 halves it) and their distances recomputed exactly in float64: rounding can only
    # swap near-tied neighbours, whose distances agree to float32 precision anyway.
    queries32, points32 = queries.to(torch.float32), points.to(torch.float32)
    out = []
    for start in range(0, n, step):  # chunks of rows bound the (chunk, m) distance matrix
        stop = min(start + step, n)
        dist = torch.cdist(queries32[start:stop], points32)
        if exclude_self:
            rows = torch.arange(dist.shape[0], device=dist.device)
            dist[rows, rows + start] = math.inf
        candidates = min(points.shape[0], k + 2)
        index = dist.topk(candidates, dim=1, largest=False).indices
        exact = (points[index] - queries[start:stop, None, :]).norm(dim=-1)
        if exclude_self:
            own = index == torch.arange(start, stop, device=index.device)[:, None]
            exact = exact.masked_fill(own, math.inf)
        out.append(exact.sort(dim=1).values[:, k - 1])
    return torch.cat(out)


def knn_entropy_power(samples: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Kozachenko-Leonenko nearest-neighbour estimate of the entropy power.

    Implements docs/theory.md §3.4.2:
    ``h = digamma(n) - digamma(k) + log V_d + (d / n) sum_i log rho_k(i)``,
    ``V_d = pi^(d/2) / Gamma(d/2 + 1)``, ``U_knn = exp(2 h / d) / (2 pi e)``, rho_k(i) the
    Euclidean distance from sample i to its k-th nearest other sample. Distances are
    computed in float64 on centred samples, in row chunks (memory ~ 32 MiB per chunk).
    Repeated samples give rho = 0, h = -inf and an entropy power of 0 (a law with atoms).

    Args:
        samples: ``(n, d)`` finite floating tensor, n > k.
        k: neighbour rank, >= 1 (default 3).

    Returns:
        0-d tensor in the samples' dtype and device.

    Raises:
        EstimatorInputError: on bad samples or k.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
        >>> # k=1: rho = (1, 1, 2); h = digamma(3) - digamma(1) + log 2 + log(2) / 3
        >>> h = 1.5 + math.log(2.0) + math.log(2.0) / 3
        >>> bool(torch.isclose(knn_entropy_power(x, 1),
        ...      torch.tensor(math.exp(2 * h) / (2 * math.pi * math.e), dtype=torch.float64)))
        True
    """
    _check_samples(samples, "samples")
    n, d = samples.shape
    _check_k(k, n - 1, "other samples")
    x = samples.to(torch.float64)
    x = x - x.mean(0)
    rho = kth_neighbour_distance(x, x, k, exclude_self=True)
    log_vd = (d / 2) * math.log(math.pi) - math.lgamma(d / 2 + 1)
    h = (
        torch.special.digamma(torch.tensor(float(n), dtype=torch.float64))
        - torch.special.digamma(torch.tensor(float(k), dtype=torch.float64))
        + log_vd
        + d * torch.log(rho).mean()
    )
    return (torch.exp(2 * h / d) / (2 * math.pi * math.e)).to(samples.dtype).to(samples.device)
