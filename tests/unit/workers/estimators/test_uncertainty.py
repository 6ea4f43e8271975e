"""Entropy-power estimators against closed forms and Monte Carlo (docs/theory.md §1, §3.4)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy import special

from api_schemas.conventions import covariance_chunk_rows
from tests.support.moment_sets import correlated_sets, moments_of
from workers.estimators.bounds import min_uncertainty_multiplier
from workers.estimators.degradation import DegradationOperator
from workers.estimators.errors import EstimatorInputError
from workers.estimators.inherent import inherent_uncertainty_from_prior
from workers.estimators.uncertainty import (
    entropy_power_of_gaussian,
    gaussian_entropy_power,
    gaussian_entropy_power_from_statistics,
    knn_entropy_power,
    wishart_logdet_bias,
)


def _vectors(theory_vectors: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    found = [v for v in theory_vectors if v["name"] == name]
    assert found, name
    return found


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _sample_cov(x: torch.Tensor) -> torch.Tensor:
    return torch.cov(x.T, correction=1).reshape(x.shape[1], x.shape[1])


def _ar_patch_covariance(side: int, rho: float, var: float) -> torch.Tensor:
    """Exponential covariance of a side x side patch: var * rho^|pixel distance|."""
    ii, jj = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    pos = torch.stack([ii.reshape(-1), jj.reshape(-1)], 1).double()
    return var * rho ** torch.cdist(pos, pos)


# ---------------------------------------------------------------- Wishart bias


def test_wishart_bias_matches_reference_vectors(theory_vectors: list[dict[str, Any]]) -> None:
    for v in _vectors(theory_vectors, "wishart_logdet_bias"):
        got = wishart_logdet_bias(v["inputs"]["d"], v["inputs"]["n"])
        assert got.item() == pytest.approx(v["expected"], rel=1e-12), v


def test_wishart_bias_matches_scipy_digamma_sum() -> None:
    d, n = 7, np.array([8.0, 15.0, 300.0])
    expected = special.digamma((n[:, None] - np.arange(1, d + 1)) / 2).sum(1) + d * np.log(
        2 / (n - 1)
    )
    got = wishart_logdet_bias(d, torch.tensor(n))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_wishart_bias_is_the_sample_covariance_expectation() -> None:
    # Monte Carlo: E[log det S] - log det Sigma for S with divisor n - 1 equals bias(d, n);
    # with divisor n it is off by d log((n - 1) / n) = -0.435 here, far outside the MC error.
    d, n, reps = 5, 12, 40000
    sigma = torch.tensor(
        [
            [2.0, 0.3, 0.0, 0.1, 0.0],
            [0.3, 1.0, 0.2, 0.0, 0.0],
            [0.0, 0.2, 0.5, 0.1, 0.0],
            [0.1, 0.0, 0.1, 1.5, 0.4],
            [0.0, 0.0, 0.0, 0.4, 0.8],
        ],
        dtype=torch.float64,
    )
    chol = torch.linalg.cholesky(sigma)
    x = torch.randn(reps, n, d, generator=_gen(11), dtype=torch.float64) @ chol.T
    xc = x - x.mean(1, keepdim=True)
    s = xc.transpose(1, 2) @ xc / (n - 1)
    diffs = torch.linalg.slogdet(s).logabsdet - torch.logdet(sigma)
    mc, se = diffs.mean().item(), diffs.std().item() / math.sqrt(reps)
    bias = wishart_logdet_bias(d, n).item()
    assert abs(mc - bias) < 4 * se
    assert abs(mc - (bias + d * math.log((n - 1) / n))) > 20 * se
    # ... and gaussian_entropy_power is then unbiased in log for both kinds of input.
    pop = s * (n - 1) / n
    log_np = torch.log(gaussian_entropy_power(pop, n)).mean().item()
    log_ns = torch.log(gaussian_entropy_power(s, n, covariance="sample")).mean().item()
    target = torch.logdet(sigma).item() / d
    assert abs(log_np - target) < 4 * se / d
    assert log_ns == pytest.approx(log_np, abs=1e-12)


def test_wishart_bias_rejects_bad_arguments() -> None:
    with pytest.raises(EstimatorInputError, match="n > d"):
        wishart_logdet_bias(5, 5)
    with pytest.raises(EstimatorInputError, match="n > d"):
        wishart_logdet_bias(2, torch.tensor([3.0, math.inf]))
    with pytest.raises(EstimatorInputError, match="dimension a positive int"):
        wishart_logdet_bias(0, 10)


# ---------------------------------------------------------------- Gaussian entropy power


def test_entropy_power_of_gaussian_matches_vector(theory_vectors: list[dict[str, Any]]) -> None:
    (v,) = _vectors(theory_vectors, "entropy_power_gaussian")
    cov = torch.tensor(v["inputs"]["Sigma"], dtype=torch.float64)
    assert entropy_power_of_gaussian(cov).item() == pytest.approx(v["expected"], rel=1e-12)
    # the geometric mean of the eigenvalues, via numpy
    eig = np.linalg.eigvalsh(np.array(v["inputs"]["Sigma"]))
    assert entropy_power_of_gaussian(cov).item() == pytest.approx(
        float(np.exp(np.log(eig).mean())), rel=1e-12
    )


def test_gaussian_entropy_power_batched_matches_loop() -> None:
    a = torch.randn(4, 30, 3, generator=_gen(1), dtype=torch.float64)
    covs = a.transpose(1, 2) @ a / 30
    batched = gaussian_entropy_power(covs, 30)
    single = torch.stack([gaussian_entropy_power(c, 30) for c in covs])
    torch.testing.assert_close(batched, single, rtol=1e-12, atol=0)
    counts = torch.tensor([30.0, 40.0, 50.0, 60.0], dtype=torch.float64)
    per_n = gaussian_entropy_power(covs, counts)
    assert per_n[3].item() == pytest.approx(gaussian_entropy_power(covs[3], 60).item(), rel=1e-12)


def test_non_positive_definite_covariance_gives_nan() -> None:
    singular = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    indefinite = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    good = torch.eye(2, dtype=torch.float64)
    out = gaussian_entropy_power(torch.stack([singular, indefinite, good]), 10)
    assert math.isnan(out[0].item())
    assert math.isnan(out[1].item())
    assert math.isfinite(out[2].item())
    assert math.isnan(entropy_power_of_gaussian(indefinite).item())


def test_gaussian_entropy_power_follows_float32() -> None:
    cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]])
    out = gaussian_entropy_power(cov, 100)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(gaussian_entropy_power(cov.double(), 100).item(), rel=1e-6)


def test_gaussian_entropy_power_rejects_bad_input() -> None:
    with pytest.raises(EstimatorInputError, match=r"\(\.\.\., d, d\)"):
        gaussian_entropy_power(torch.ones(2, 3), 10)
    with pytest.raises(EstimatorInputError, match="floating covariance"):
        gaussian_entropy_power(torch.eye(2, dtype=torch.int64), 10)
    with pytest.raises(EstimatorInputError, match="finite covariance"):
        gaussian_entropy_power(torch.full((2, 2), math.nan), 10)
    with pytest.raises(EstimatorInputError, match="'population' or 'sample'"):
        gaussian_entropy_power(torch.eye(2), 10, covariance="pooled")  # type: ignore[arg-type]
    with pytest.raises(EstimatorInputError, match="finite n"):
        gaussian_entropy_power(torch.eye(3), math.inf)


def test_too_few_vectors_give_nan() -> None:
    covs = torch.eye(3, dtype=torch.float64).expand(3, 3, 3)
    out = gaussian_entropy_power(covs, torch.tensor([2.0, 3.0, 4.0]))
    assert math.isnan(out[0].item())
    assert math.isnan(out[1].item())
    expected = math.exp(-wishart_logdet_bias(3, 4).item() / 3) * 4 / 3
    assert out[2].item() == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- closed-form restorers


def test_posterior_mean_and_sampler_errors_reach_closed_forms() -> None:
    # X ~ N(0, S) on a 4x4 patch (d = 16), Y = X + W, W ~ N(0, s2 I).
    d, n, s2 = 16, 20000, 0.3
    s = _ar_patch_covariance(4, 0.8, 1.0)
    gain = s @ torch.linalg.inv(s + s2 * torch.eye(d, dtype=torch.float64))
    s_post = s - gain @ s
    s_post = (s_post + s_post.T) / 2
    inherent = entropy_power_of_gaussian(s_post).item()
    gen = _gen(2024)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(s).T
    y = x + math.sqrt(s2) * torch.randn(n, d, generator=gen, dtype=torch.float64)
    mean = y @ gain.T
    z = torch.randn(n, d, generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(s_post).T
    for restored, factor in ((mean, 1.0), (mean + z, 2.0)):
        err = restored - x
        u = gaussian_entropy_power(_sample_cov(err), n, covariance="sample").item()
        assert u == pytest.approx(factor * inherent, rel=0.03)
        # Thm 4: distortion bounds the uncertainty.
        assert u <= (err**2).mean().item()


@pytest.mark.parametrize("index", [0, 1, 2])
def test_scalar_gaussian_uncertainties(theory_vectors: list[dict[str, Any]], index: int) -> None:
    inherent_v = _vectors(theory_vectors, "scalar_gauss_inherent_uncertainty")[index]
    sampler_v = _vectors(theory_vectors, "scalar_gauss_posterior_sampler_uncertainty")[index]
    sx2, sw2 = inherent_v["inputs"]["sigma_x2"], inherent_v["inputs"]["sigma_w2"]
    assert sampler_v["inputs"] == inherent_v["inputs"]
    # The library's N(X|Y) of a scalar prior observed directly (docs/theory.md §3.6), and the
    # sampler's floor eta(0; 1) N(X|Y) of Thm 3, against the reference values.
    prior = torch.full((1, 1), sx2, dtype=torch.float64)
    inherent = inherent_uncertainty_from_prior(prior, DegradationOperator([]), sw2, 1, 0)
    assert inherent == pytest.approx(inherent_v["expected"], rel=1e-12)
    floor = min_uncertainty_multiplier(0.0, 1) * inherent
    assert floor == pytest.approx(sampler_v["expected"], rel=1e-12)
    closed = sx2 * sw2 / (sx2 + sw2)
    n = 40000
    gen = _gen(index)
    x = math.sqrt(sx2) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    y = x + math.sqrt(sw2) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    mean = sx2 / (sx2 + sw2) * y
    sample = mean + math.sqrt(closed) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    # relative sd of a variance from n = 40000 is sqrt(2 / n) = 0.7 %; 3 % is > 4 sd
    for restored, expected in ((mean, inherent_v["expected"]), (sample, sampler_v["expected"])):
        cov = _sample_cov(restored - x)
        u = gaussian_entropy_power(cov, n, covariance="sample").item()
        assert u == pytest.approx(expected, rel=0.03)


def test_deterministic_shrunk_mmse(theory_vectors: list[dict[str, Any]]) -> None:
    # X_hat = c E[X|Y]: MSE = sx2 - (2c - c^2) sx2^2 / (sx2 + sw2); the error is Gaussian,
    # so its (pooled) entropy power equals the MSE, never below N(X|Y) (Thm 4).
    n = 40000
    for i, v in enumerate(_vectors(theory_vectors, "deterministic_shrunk_mmse_mse")):
        sx2, sw2, c = v["inputs"]["sigma_x2"], v["inputs"]["sigma_w2"], v["inputs"]["c"]
        gen = _gen(100 + i)
        x = math.sqrt(sx2) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
        y = x + math.sqrt(sw2) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
        err = c * sx2 / (sx2 + sw2) * y - x
        assert (err**2).mean().item() == pytest.approx(v["expected"], rel=0.03)
        u = gaussian_entropy_power(_sample_cov(err), n, covariance="sample")
        assert u.item() == pytest.approx(v["expected"], rel=0.03)
        prior = torch.full((1, 1), sx2, dtype=torch.float64)
        inherent = inherent_uncertainty_from_prior(prior, DegradationOperator([]), sw2, 1, 0)
        assert u.item() >= inherent * (1 - 0.03), "Thm 4: never below N(X|Y)"


# ---------------------------------------------------------------- k-NN entropy power


@pytest.mark.parametrize("d", [1, 2, 5])
def test_knn_entropy_power_gaussian(d: int) -> None:
    # N(0, S): entropy power det(S)^(1/d). n = 4000, k = 3: the estimator's sd of h is
    # about 1.3 / sqrt(n) ~ 0.02 nats, i.e. ~ 4 % / d on N; tolerance 6 %.
    s = 0.5 ** torch.cdist(torch.arange(d).double()[:, None], torch.arange(d).double()[:, None])
    x = torch.randn(4000, d, generator=_gen(d), dtype=torch.float64) @ torch.linalg.cholesky(s).T
    expected = entropy_power_of_gaussian(s).item()
    assert knn_entropy_power(x).item() == pytest.approx(expected, rel=0.06)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_knn_entropy_power_uniform_cube(theory_vectors: list[dict[str, Any]], d: int) -> None:
    (v,) = _vectors(theory_vectors, "uniform_unit_cube_entropy_power_d_any")
    assert 1 / (2 * math.pi * math.e) == pytest.approx(v["expected"], rel=1e-12)
    x = torch.rand(4000, d, generator=_gen(10 + d), dtype=torch.float64)
    # boundary bias of k-NN on a bounded support grows with d: 8 % covers d <= 3
    assert knn_entropy_power(x).item() == pytest.approx(v["expected"], rel=0.08)


def test_knn_entropy_power_laplace(theory_vectors: list[dict[str, Any]]) -> None:
    (v,) = _vectors(theory_vectors, "laplace_b1_entropy_power")
    assert 2 * math.e / math.pi == pytest.approx(v["expected"], rel=1e-12)
    gen = np.random.default_rng(5)
    x = torch.from_numpy(gen.laplace(0.0, 1.0, size=(4000, 1)))
    assert knn_entropy_power(x).item() == pytest.approx(v["expected"], rel=0.06)


def test_uniform_cube_gaussian_bound(theory_vectors: list[dict[str, Any]]) -> None:
    (v,) = _vectors(theory_vectors, "uniform_unit_cube_gaussian_bound")
    for d in (1, 3, 8):
        x = torch.rand(20000, d, generator=_gen(20 + d), dtype=torch.float64)
        u = gaussian_entropy_power(_sample_cov(x), 20000, covariance="sample").item()
        assert u == pytest.approx(v["expected"], rel=0.03)
        # the Gaussian bound sits above the true entropy power 1 / (2 pi e)
        assert u > 1 / (2 * math.pi * math.e)


def test_knn_chunked_distances_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(300, 3, generator=_gen(9), dtype=torch.float64)
    whole = knn_entropy_power(x)
    monkeypatch.setattr("workers.estimators.uncertainty._CDIST_ELEMENTS", 1000)
    torch.testing.assert_close(knn_entropy_power(x), whole, rtol=1e-12, atol=0)


def test_knn_entropy_power_matches_scipy_kdtree() -> None:
    from scipy.spatial import cKDTree

    x = torch.randn(500, 4, generator=_gen(4), dtype=torch.float64)
    dist, _ = cKDTree(x.numpy()).query(x.numpy(), k=4)  # self + 3 neighbours
    n, d, k = 500, 4, 3
    h = (
        special.digamma(n)
        - special.digamma(k)
        + (d / 2) * math.log(math.pi)
        - special.gammaln(d / 2 + 1)
        + d * np.log(dist[:, k]).mean()
    )
    expected = math.exp(2 * h / d) / (2 * math.pi * math.e)
    assert knn_entropy_power(x).item() == pytest.approx(expected, rel=1e-10)


def test_knn_entropy_power_dtype_and_duplicates() -> None:
    x = torch.randn(200, 2, generator=_gen(3))
    assert knn_entropy_power(x).dtype == torch.float32
    assert knn_entropy_power(x).item() == pytest.approx(
        knn_entropy_power(x.double()).item(), rel=1e-5
    )
    repeated = torch.cat([x, x, x, x]).double()
    assert knn_entropy_power(repeated).item() == 0.0


def test_knn_entropy_power_rejects_bad_input() -> None:
    with pytest.raises(EstimatorInputError, match=r"shape \(n, d\)"):
        knn_entropy_power(torch.rand(10))
    with pytest.raises(EstimatorInputError, match="at least k = 3"):
        knn_entropy_power(torch.rand(3, 2))
    with pytest.raises(EstimatorInputError, match="k a positive int"):
        knn_entropy_power(torch.rand(10, 2), k=0)
    with pytest.raises(EstimatorInputError, match="finite values"):
        knn_entropy_power(torch.full((10, 2), math.inf))
    with pytest.raises(EstimatorInputError, match="floating tensor"):
        knn_entropy_power(torch.ones(10, 2, dtype=torch.int64))


# ---------------------------------------------------------------- from patch moments


def _closed_form_entropy_power(x: np.ndarray) -> float:
    """exp((log det S_e - bias(d, n)) / d), S_e the numpy sample covariance (ddof 1), the
    bias written out with scipy's digamma (docs/theory.md 3.4.1)."""
    n, d = x.shape
    logdet = np.linalg.slogdet(np.cov(x.T, ddof=1).reshape(d, d))[1]
    i = np.arange(1, d + 1)
    bias = special.digamma((n - i) / 2).sum() + d * math.log(2 / (n - 1))
    return math.exp((logdet - bias) / d)


def test_entropy_power_from_statistics_matches_closed_form_per_row() -> None:
    rng = np.random.default_rng(4)
    rows = [rng.normal(size=(n, 3)) @ rng.normal(size=(3, 3)) + 0.3 for n in (40, 200, 1000)]
    got = gaussian_entropy_power_from_statistics(moments_of(rows))
    want = [_closed_form_entropy_power(x) for x in rows]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_entropy_power_from_statistics_over_several_row_chunks() -> None:
    # d = 256: covariance_chunk_rows(256) = 16 rows at a time, so 37 rows take three chunks.
    d, rows = 256, 37
    assert covariance_chunk_rows(d) < rows
    vectors = correlated_sets(8, rows, 400, d)
    got = gaussian_entropy_power_from_statistics(moments_of(vectors))
    assert got.shape == (rows,)
    np.testing.assert_allclose(
        got.numpy(), [_closed_form_entropy_power(x) for x in vectors], rtol=1e-9
    )


def test_entropy_power_from_resampled_statistics_is_that_of_the_resampled_vectors() -> None:
    # docs/theory.md 3.4 item 3: a bootstrap row of weighted moments is the pooled moments of
    # the pairs drawn, so its estimate is the closed form on the drawn vectors, repeated.
    rng = np.random.default_rng(5)
    pairs = [rng.normal(scale=s, size=(60, 2)) for s in (0.5, 1.0, 2.0, 4.0)]
    weights = torch.tensor([[2.0, 0.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0]], dtype=torch.float64)
    got = gaussian_entropy_power_from_statistics(moments_of(pairs).weighted(weights))
    for r, row in enumerate(weights.tolist()):
        drawn = np.concatenate([x for x, w in zip(pairs, row, strict=True) for _ in range(int(w))])
        assert float(got[r]) == pytest.approx(_closed_form_entropy_power(drawn), rel=1e-10)


def test_entropy_power_from_statistics_of_zero_error_is_zero_and_singular_is_nan() -> None:
    zero = np.zeros((50, 2))
    singular = np.repeat(np.arange(50.0)[:, None], 2, axis=1)  # two equal coordinates
    got = gaussian_entropy_power_from_statistics(moments_of([zero, singular]))
    assert float(got[0]) == 0.0
    assert math.isnan(float(got[1]))
