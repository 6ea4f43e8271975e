"""Properties from docs/theory.md §2-§3.5 for the patch, uncertainty, perception and bound code."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from workers.estimators.bounds import min_perception_index, min_uncertainty_multiplier
from workers.estimators.patches import patch_moments
from workers.estimators.perception import gaussian_renyi_divergence
from workers.estimators.uncertainty import gaussian_entropy_power, wishart_logdet_bias

CI = settings()  # the project profile
# Patch statistics cost more per example: fewer of them keep the file well under 20 s.
CI_PATCHES = settings(max_examples=10)

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def _spd(seed: int, d: int, jitter: float = 0.05) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, 2 * d, generator=gen, dtype=torch.float64)
    return a @ a.T / (2 * d) + jitter * torch.eye(d, dtype=torch.float64)


@CI
@given(seed=seeds, d=st.integers(1, 12), noise=st.floats(1e-4, 1.0))
def test_independent_noise_raises_gaussian_entropy_power(seed: int, d: int, noise: float) -> None:
    # Errors e + w with w independent: Cov = S_e + S_w, and det is monotone on PD matrices.
    s_e, s_w = _spd(seed, d), noise * _spd(seed + 1, d)
    n = 10 * d + 5
    assert gaussian_entropy_power(s_e + s_w, n) > gaussian_entropy_power(s_e, n)


@CI
@given(seed=seeds, d=st.integers(1, 12))
def test_independent_noise_raises_it_on_samples(seed: int, d: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    n = 400
    e = torch.randn(n, d, generator=gen, dtype=torch.float64) @ _spd(seed, d)
    w = torch.randn(n, d, generator=gen, dtype=torch.float64)  # unit variance: not tiny
    cov = lambda x: torch.cov(x.T).reshape(d, d)  # noqa: E731
    assert gaussian_entropy_power(cov(e + w), n, covariance="sample") > gaussian_entropy_power(
        cov(e), n, covariance="sample"
    )


@CI
@given(seed=seeds, d=st.integers(1, 16), n_extra=st.integers(1, 10000))
def test_gaussian_entropy_power_below_trace_over_d(seed: int, d: int, n_extra: int) -> None:
    # AM-GM: det(S)^(1/d) <= tr(S)/d; U_gauss = det(S)^(1/d) exp(-bias/d), bias < 0.
    s = _spd(seed, d, jitter=1e-3)
    n = d + n_extra
    bias = wishart_logdet_bias(d, n).item()
    u = gaussian_entropy_power(s, n, covariance="sample").item()
    assert u * math.exp(bias / d) <= torch.trace(s).item() / d * (1 + 1e-12)
    assert bias < 0
    # at large n the correction vanishes and the bound holds as stated in §3.4.1
    assert gaussian_entropy_power(s, 10**9, covariance="sample").item() <= torch.trace(
        s
    ).item() / d * (1 + 1e-6)


@CI
@given(seed=seeds, d=st.integers(1, 10), order=st.floats(0.01, 0.99))
def test_renyi_non_negative_and_zero_for_identical_laws(seed: int, d: int, order: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    mu_p, mu_q = torch.randn(2, d, generator=gen, dtype=torch.float64)
    s_p, s_q = _spd(seed, d), _spd(seed + 7, d)
    got = gaussian_renyi_divergence(mu_p, s_p, mu_q, s_q, order).item()
    # The output is clamped at 0, so non-negativity is checked on the raw closed form
    # (numpy determinants), which the estimator must reproduce.
    s_a = (1 - order) * s_p.numpy() + order * s_q.numpy()
    dm = (mu_p - mu_q).numpy()
    raw = order / 2 * dm @ np.linalg.solve(s_a, dm) - (
        np.linalg.slogdet(s_a)[1]
        - (1 - order) * np.linalg.slogdet(s_p.numpy())[1]
        - order * np.linalg.slogdet(s_q.numpy())[1]
    ) / (2 * (order - 1))
    assert raw >= -1e-10
    assert math.isclose(got, raw, rel_tol=1e-8, abs_tol=1e-10)
    assert gaussian_renyi_divergence(mu_p, s_p, mu_p, s_p, order).item() == 0.0


@CI
@given(
    p1=st.floats(0, 1e3, allow_nan=False),
    p2=st.floats(0, 1e3, allow_nan=False),
    d=st.integers(1, 1024),
)
def test_eta_decreasing_in_p_and_within_one_and_two(p1: float, p2: float, d: int) -> None:
    lo, hi = min(p1, p2), max(p1, p2)
    e_lo, e_hi = min_uncertainty_multiplier(lo, d), min_uncertainty_multiplier(hi, d)
    assert 1.0 <= e_hi <= e_lo <= 2.0
    if hi - lo > 1e-6 * d and e_lo < 2.0 and e_hi > 1.0 + 1e-12:
        assert e_hi < e_lo


@CI
@given(ratio=st.floats(1.0 + 1e-6, 2.0), d=st.integers(1, 512))
def test_p_min_inverts_eta(ratio: float, d: int) -> None:
    assert math.isclose(
        min_uncertainty_multiplier(min_perception_index(ratio, d), d), ratio, rel_tol=1e-9
    )


@CI_PATCHES
@given(seed=seeds, p=st.integers(1, 4), chans=st.sampled_from([1, 3]), batch=st.integers(1, 3))
def test_pooled_moments_equal_moments_of_concatenated_patches(
    seed: int, p: int, chans: int, batch: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(batch, chans, 9, 11, generator=gen, dtype=torch.float64)
    pooled = patch_moments(images, p).pooled()
    cols = functional.unfold(images, p)  # (B, d, L)
    every = cols.transpose(1, 2).reshape(-1, cols.shape[1])  # all patches of all images
    torch.testing.assert_close(pooled.outer[0], every.T @ every, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(pooled.total[0], every.sum(0), rtol=1e-10, atol=1e-10)
    assert pooled.count.item() == every.shape[0]
    separate = [patch_moments(images[i : i + 1], p).outer[0] for i in range(batch)]
    torch.testing.assert_close(pooled.outer[0], sum(separate), rtol=1e-12, atol=1e-12)


@CI_PATCHES
@given(seed=seeds, batch=st.integers(1, 4), pick=st.integers(0, 3))
def test_one_hot_weights_select_one_image(seed: int, batch: int, pick: int) -> None:
    pick = pick % batch
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(batch, 1, 8, 7, generator=gen, dtype=torch.float64)
    moments = patch_moments(images, 3)
    weights = functional.one_hot(torch.tensor([pick]), batch).double()
    chosen = moments.weighted(weights)
    torch.testing.assert_close(chosen.outer[0], moments.outer[pick], rtol=0, atol=0)
    torch.testing.assert_close(chosen.total[0], moments.total[pick], rtol=0, atol=0)
    assert chosen.count[0].item() == moments.count[pick].item()


@CI_PATCHES
@given(seed=seeds, p=st.integers(2, 5), stride=st.integers(1, 3))
def test_float32_images_agree_with_float64(seed: int, p: int, stride: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    images32 = torch.rand(2, 2, 12, 10, generator=gen)
    m32 = patch_moments(images32, p, stride)
    m64 = patch_moments(images32.double(), p, stride)
    torch.testing.assert_close(m32.outer, m64.outer, rtol=0, atol=0)
    _, cov = m64.mean_and_covariance()
    n = int(m64.count[0].item())
    if n > cov.shape[-1]:
        u32 = gaussian_entropy_power(cov.float(), n)
        u64 = gaussian_entropy_power(cov, n)
        finite = torch.isfinite(u64)
        torch.testing.assert_close(u32[finite].double(), u64[finite], rtol=2e-3, atol=0)


@CI
@given(seed=seeds, d=st.integers(1, 8), order=st.floats(0.05, 0.95))
def test_renyi_float32_agrees_with_float64(seed: int, d: int, order: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    mu_p, mu_q = torch.randn(2, d, generator=gen, dtype=torch.float64)
    s_p, s_q = _spd(seed, d, 0.2), _spd(seed + 3, d, 0.2)
    d64 = gaussian_renyi_divergence(mu_p, s_p, mu_q, s_q, order).item()
    d32 = gaussian_renyi_divergence(mu_p.float(), s_p.float(), mu_q.float(), s_q.float(), order)
    assert math.isclose(d32.item(), d64, rel_tol=1e-4, abs_tol=1e-5)


@CI_PATCHES
@given(seed=seeds, p=st.integers(2, 4), offset=st.floats(-0.2, 0.2))
def test_gaussian_bound_below_trace_below_patch_mse(seed: int, p: int, offset: float) -> None:
    # §3.4.1 invariant on real patch statistics: U_gauss <= tr(S_e)/d <= MSE, where the
    # first inequality holds up to the small-sample factors (n / (n - 1)) exp(-bias / d) > 1
    # (white noise has AM = GM, so nothing less would do).
    gen = torch.Generator().manual_seed(seed)
    errors = offset + 0.05 * torch.randn(2, 1, 40, 40, generator=gen, dtype=torch.float64)
    pooled = patch_moments(errors, p).pooled()
    _, cov = pooled.mean_and_covariance()
    d = cov.shape[-1]
    mse = (torch.diagonal(pooled.outer[0]).sum() / (pooled.count[0] * d)).item()
    trace = torch.trace(cov[0]).item() / d
    n = pooled.count[0].item()
    u = gaussian_entropy_power(cov[0], n).item()
    correction = n / (n - 1) * math.exp(-wishart_logdet_bias(d, n).item() / d)
    assert trace <= mse * (1 + 1e-12)
    assert u <= trace * correction * (1 + 1e-12)
    assert correction < 1.01
