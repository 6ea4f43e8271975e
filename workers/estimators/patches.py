"""Patch sufficient statistics: counts, sums and sums of outer products of p x p patches.

Implements docs/theory.md §3.3. The patch vector of a ``(C, H, W)`` image at top-left corner
``(i, j)`` is ``x[c, i + u, j + v]`` in (channel, row, col) order, the order of
``torch.nn.functional.unfold``, so ``d = C * p * p``.

Stride 1 never forms the ``n x d`` patch matrix. The entry of the sum of outer products for
offsets ``a = (c, u, v)`` and ``b = (c', u + du, v + dv)`` is the sum of the lag-``(du, dv)``
product image ``P(r, s) = x_c(r, s) x_c'(r + du, s + dv)`` over the rectangle
``[u, u + H - p] x [v, v + W - p]`` (docs/theory.md §3.3, cost note). That rectangle is the whole
image minus border strips narrower than ``p``, so each entry is

    G(du, dv) - Top(u) - Bottom(u) - Left(v) - Right(v) + four corner blocks,

where ``G`` is the lag's sum over the whole image: one cross-correlation per channel pair
c <= c' (FFT forward; the inverse evaluated at the ``(2p - 1)^2`` wanted lags only, as two
small matmuls). The strips are prefix/suffix sums (1-D summed-area tables) of the product
image's row and column totals on the ``p - 1`` border rows and columns (one batched matmul
of the shifted border rows against the ``3(p - 1)``-wide slab around them), and the corners,
read as patch positions, are the ``4 (p - 1)^2`` zero-padded patches just outside the image's
corners, added back by one small matmul: every entry is then three look-ups and that matmul,
gathered straight into the ``(B, d, d)`` layout (no per-lag table of all offsets).
Compared with the literal recipe of docs/theory.md (one full product image and summed-area
table per lag) this forms the product image only near the border, and it moves far fewer
bytes than unfold + matmul, which materialises every patch (``benchmarks/bench_patches.py``
prints the comparison; the figures are in ``benchmarks/README.md``). Everything is float64
and agrees with direct summation to rounding (tests: 1e-9 relative against unfold). Strides
above 1 use unfold, in chunks of images; so does p = 1 (the patches are the pixels).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.nn import functional

from api_schemas.conventions import (
    covariance_chunk_rows,
    fast_fft_size,
    patch_band_rows,
    patch_transform_chunk,
    patch_unfold_chunk,
    patch_working_bytes,
)
from workers.estimators._checks import check_images, check_min_size
from workers.estimators.errors import EstimatorInputError

__all__ = [
    "PatchMoments",
    "mean_and_covariance",
    "patch_moments",
    "patch_moments_within",
    "patch_moments_working_bytes",
    "row_chunks",
    "sample_patches",
    "tiled_patch_moments",
]


@dataclass(frozen=True)
class PatchMoments:
    """Float64 sufficient statistics of the patches of each image (docs/theory.md §3.3).

    Attributes:
        count: ``(B,)`` number of patches per image (float64).
        total: ``(B, d)`` sum of the patch vectors.
        outer: ``(B, d, d)`` sum of the patch outer products ``x x'``.

    Example:
        >>> m = patch_moments(torch.tensor([[[[1.0, 2.0]]], [[[3.0, 5.0]]]]), patch_size=1)
        >>> m.pooled().total.tolist(), m.weighted(torch.tensor([[0.0, 2.0]])).outer.tolist()
        ([[11.0]], [[[68.0]]])
    """

    count: torch.Tensor
    total: torch.Tensor
    outer: torch.Tensor

    def pooled(self) -> PatchMoments:
        """Sum the statistics over images, keeping a leading axis of length 1.

        Returns:
            PatchMoments with shapes ``(1,)``, ``(1, d)``, ``(1, d, d)``.
        """
        return PatchMoments(
            self.count.sum(0, keepdim=True),
            self.total.sum(0, keepdim=True),
            self.outer.sum(0, keepdim=True),
        )

    def weighted(self, weights: torch.Tensor, into: PatchMoments | None = None) -> PatchMoments:
        """Pool the images ``R`` times with the given weights (bootstrap over pairs, §3.4.3).

        The ``r``-th pooling is ``sum_b weights[r, b] * stats[b]``.

        Args:
            weights: ``(R, B)`` finite non-negative weights (for example resampling counts).
            into: float64 sums of these shapes to add the poolings to, in place (``addmm_``:
                a streaming accumulator then allocates no ``(R, d, d)`` temporary per batch).

        Returns:
            PatchMoments with shapes ``(R,)``, ``(R, d)``, ``(R, d, d)``, float64 (``into``
            when given).

        Raises:
            EstimatorInputError: if weights is not ``(R, B)`` or has negative or non-finite
                entries.
        """
        batch = self.count.shape[0]
        if not isinstance(weights, torch.Tensor) or weights.ndim != 2:
            raise EstimatorInputError(
                f"expected weights of shape (R, {batch}), got {getattr(weights, 'shape', None)}"
            )
        if weights.shape[1] != batch:
            raise EstimatorInputError(
                f"expected weights of shape (R, {batch}), got {tuple(weights.shape)}"
            )
        w = weights.to(device=self.count.device, dtype=torch.float64)
        if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
            raise EstimatorInputError("expected finite non-negative weights, got other values")
        if into is not None:
            into.count.addmv_(w, self.count)
            into.total.addmm_(w, self.total)
            into.outer.view(w.shape[0], -1).addmm_(w, self.outer.reshape(batch, -1))
            return into
        outer = (w @ self.outer.reshape(batch, -1)).reshape(-1, *self.outer.shape[1:])
        return PatchMoments(w @ self.count, w @ self.total, outer)

    def mean_and_covariance(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and population covariance; see :func:`mean_and_covariance`."""
        return mean_and_covariance(self.count, self.total, self.outer)

    def rows(self, start: int, stop: int) -> PatchMoments:
        """Rows ``[start, stop)`` (views, no copy)."""
        return PatchMoments(self.count[start:stop], self.total[start:stop], self.outer[start:stop])


def row_chunks(*moments: PatchMoments) -> Iterator[tuple[PatchMoments, ...]]:
    """The rows of several :class:`PatchMoments` together, a chunk at a time.

    For estimators that turn every row into a covariance and factorise it: chunks of
    ``api_schemas.conventions.covariance_chunk_rows(d)`` rows keep their temporaries to a few
    ``(rows, d, d)`` stacks whatever the number of rows (a group's bootstrap resamples). A
    one-row argument is passed whole with every chunk (it broadcasts against the others'
    rows); with no rows at all, one empty chunk.

    Example:
        >>> def moments(rows, d=512):  # 512^2 entries a row: 4 rows a chunk
        ...     return PatchMoments(torch.ones(rows), torch.zeros(rows, d),
        ...                         torch.zeros(1, d, d).expand(rows, d, d))
        >>> [tuple(m.count.shape[0] for m in c) for c in row_chunks(moments(6), moments(1))]
        [(4, 1), (2, 1)]
    """
    rows = max(m.count.shape[0] for m in moments)
    step = covariance_chunk_rows(moments[0].outer.shape[-1])
    for start in range(0, max(rows, 1), step):
        yield tuple(m if m.count.shape[0] == 1 else m.rows(start, start + step) for m in moments)


def mean_and_covariance(
    count: torch.Tensor, total: torch.Tensor, outer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population covariance of patches from their sufficient statistics.

    Implements docs/theory.md §3.3: ``mu = total / n`` and ``S = outer / n - mu mu'`` (divisor n,
    not n - 1), symmetrised as ``(S + S') / 2``. ``gaussian_entropy_power`` converts it to
    the sample covariance that the Wishart bias assumes.

    Args:
        count: ``(...,)`` positive patch counts.
        total: ``(..., d)`` sums of patch vectors.
        outer: ``(..., d, d)`` sums of outer products.

    Returns:
        ``(mean (..., d), covariance (..., d, d))`` in float64.

    Raises:
        EstimatorInputError: on mismatched shapes or a count that is not positive.

    Example:
        >>> x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
        >>> mean, cov = mean_and_covariance(torch.tensor(2.0), x.sum(0), x.T @ x)
        >>> mean.item(), cov.item()
        (2.0, 1.0)
    """
    if total.ndim < 1 or outer.shape != (*total.shape, total.shape[-1]):
        raise EstimatorInputError(
            "expected total (..., d) and outer (..., d, d), "
            f"got {tuple(total.shape)} and {tuple(outer.shape)}"
        )
    if count.shape != total.shape[:-1]:
        raise EstimatorInputError(
            f"expected count of shape {tuple(total.shape[:-1])}, got {tuple(count.shape)}"
        )
    n = count.to(torch.float64)
    if not bool((n > 0).all()):
        raise EstimatorInputError("expected positive patch counts, got a count <= 0")
    mean = total.to(torch.float64) / n[..., None]
    # Two (..., d, d) buffers instead of five: the bootstrap calls this on hundreds of
    # covariances, and every fresh buffer of that size is pages the kernel must zero.
    cov = outer.to(torch.float64) / n[..., None, None]
    product = mean[..., :, None] * mean[..., None, :]
    cov.sub_(product)
    return mean, torch.add(cov, cov.transpose(-1, -2), out=product).div_(2)


def _check_patch_args(images: torch.Tensor, patch_size: int, stride: int = 1) -> None:
    check_images(images)
    for value, name in ((patch_size, "patch_size"), (stride, "stride")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EstimatorInputError(f"expected {name} a positive int, got {value!r}")
    check_min_size(images, patch_size, f"{patch_size}x{patch_size} patches")


def _prefix(a: torch.Tensor, dim: int) -> torch.Tensor:
    """Cumulative sum with a leading zero: ``out[k] = sum_{t < k} a[t]`` (length + 1)."""
    shape = list(a.shape)
    shape[dim] = 1
    return torch.cat([a.new_zeros(shape), a.cumsum(dim)], dim)


def _suffix(a: torch.Tensor, dim: int) -> torch.Tensor:
    """``out[k] = sum_{t >= k} a[t]`` for k = 0..length (length + 1 entries)."""
    pre = _prefix(a, dim)
    return pre.narrow(dim, pre.shape[dim] - 1, 1) - pre


def _twiddles(n: int, lags: torch.Tensor, half: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse-DFT factors evaluated only at the wanted lags: ``(cos, sin)``, ``(F, L)``.

    Full (``half=False``): ``exp(2 pi i f k / n) / n`` for f < n. Half (``half=True``, for
    the last axis of an rfft): f <= n/2 weighted by 2 except f = 0 and f = n/2, so that
    ``sum_f Re(X[f] (cos + i sin))`` is irfft's output at those lags.
    """
    freqs = torch.arange(n // 2 + 1 if half else n, device=lags.device)
    angle = (2 * math.pi / n) * ((freqs[:, None] * lags[None, :]) % n).to(torch.float64)
    weight = torch.full((freqs.shape[0], 1), 1.0 / n, dtype=torch.float64, device=lags.device)
    if half:
        weight[1:] *= 2
        if n % 2 == 0:
            weight[-1] /= 2
    return weight * torch.cos(angle), weight * torch.sin(angle)


def _slab(x: torch.Tensor, start: int, q: int, dim: int) -> torch.Tensor:
    """Indices ``[start - q, start + 2q)`` of x along dim (-2 or -1), zero outside the image."""
    size = x.shape[dim]
    lo, hi = start - q, start + 2 * q
    part = x.narrow(dim, max(lo, 0), min(hi, size) - max(lo, 0))
    before, after = max(0, -lo), max(0, hi - size)
    pad = (before, after) if dim == -1 else (0, 0, before, after)
    return functional.pad(part, pad)


def _band_row_totals(x: torch.Tensor, q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row totals of every lag's product image on the top and bottom q rows.

    Returns ``(top, bottom)``, each ``(B, C, C', q, L, L)`` with L = 2q + 1 and
    ``top[b, c, c', k, du + q, dv + q] = sum_s x_c(k, s) x_c'(k + du, s + dv)`` (zero
    outside the image); ``bottom`` is the same for rows ``H - q + k``. Summed directly, as
    one batched matmul of the strip rows shifted by every dv (q L rows of W) against the
    image rows of the 3q-row slab around the strip (2q of them: the other q are outside the
    image, their products zero): this is as many multiply-adds as evaluating the FFT
    correlations at the wanted lags, and faster on a CPU because it makes no complex
    intermediates (``benchmarks/README.md``, profile notes).
    """
    batch, chans, height, width = x.shape
    lags = 2 * q + 1
    if height >= 2 * q:
        # The slab's outer q rows lie outside the image (above the top strip, below the
        # bottom one): multiply by the 2q image rows only, a third fewer multiply-adds, and
        # put the zeros back into the small product.
        slab_rows = torch.stack([x[..., : 2 * q, :], x[..., height - 2 * q :, :]], 1)
        strips = torch.stack([slab_rows[:, 0, :, :q], slab_rows[:, 1, :, q:]], 1)
        span = 2 * q
    else:  # an image shorter than both strips' slabs: zero padding inside the slab too
        # (B, 2, C, 3q, W): rows [start - q, start + 2q) of the top and bottom strips.
        slab_rows = torch.stack([_slab(x, start, q, -2) for start in (0, height - q)], 1)
        strips = slab_rows[:, :, :, q : 2 * q]
        span = 3 * q
    # Strip row k shifted right by dv at window t = q - dv: x_c(k, s - dv), zero outside.
    shifted = functional.pad(strips, (q, q)).unfold(-1, width, 1)
    prod = shifted.reshape(2 * batch, chans * q * lags, width) @ slab_rows.reshape(
        2 * batch, chans * span, width
    ).transpose(1, 2)
    prod = prod.reshape(batch, 2, chans, q, lags, chans, span)  # (b, strip, c, k, t, c', j)
    if span == 2 * q:  # back to slab rows j in [0, 3q): the zero rows before top, after bottom
        prod = torch.stack(
            [functional.pad(prod[:, 0], (q, 0)), functional.pad(prod[:, 1], (0, q))], 1
        )
    # Slab row j = k + du + q is image row k + du of the strip.
    k = torch.arange(q, device=x.device).view(q, 1)
    rows = k + torch.arange(lags, device=x.device).view(1, lags)
    band = prod[:, :, :, k, :, :, rows]  # (k, du, b, strip, c, t, c'): advanced indices first
    band = band.permute(2, 3, 4, 6, 0, 1, 5).flip(-1)  # (b, strip, c, c', k, du, dv)
    return band[:, 0], band[:, 1]


def _corner_outer(x: torch.Tensor, p: int) -> torch.Tensor:
    """Outer-product sum of the zero-padded patches at the four corner blocks of virtual
    positions, ``(B, d, d)``.

    In patch terms the whole-image lag sum ``G`` sums over every top-left position of the
    zero-padded image, ``[-q, H) x [-q, W)``; the strips remove the positions above, below,
    left and right of the valid ones, which removes the four ``q x q`` corner blocks of
    positions (rows ``[-q, 0)`` or ``[H - q, H)``, columns likewise) twice. Adding them back
    is one small matmul of their ``4 q^2`` patches: the patches of each ``2q x 2q``
    zero-padded corner of the image (docs/theory.md §3.3, cost note). This replaces four
    per-lag summed-area tables of ``(2p - 1)^2 p^2`` entries per channel pair.
    """
    batch, chans, height, width = x.shape
    q = p - 1
    rows = [x[..., :q, :], x[..., height - q :, :]]
    blocks = []
    for top, band in enumerate(rows):
        for left, part in enumerate((band[..., :q], band[..., width - q :])):
            # Pad q zeros on the far side of each corner: (left, right, top, bottom).
            pad = (q * (1 - left), q * left, q * (1 - top), q * top)
            blocks.append(functional.pad(part, pad))
    stacked = torch.stack(blocks, 1).reshape(batch * 4, chans, 2 * q, 2 * q)
    cols = functional.unfold(stacked, p).reshape(batch, 4, chans * p * p, q * q)
    cols = cols.transpose(1, 2).reshape(batch, chans * p * p, 4 * q * q)
    return cols @ cols.transpose(1, 2)


def _lag_sums(x: torch.Tensor, p: int) -> torch.Tensor:
    """Whole-image sum of every lag's product image, ``(B, C, C', L, L)``: cross-correlations
    by FFT, the inverse evaluated at the ``(2p - 1)^2`` wanted lags only, as matmuls."""
    batch, chans, height, width = x.shape
    q = p - 1
    hf, wf = fast_fft_size(height + q), fast_fft_size(width + q)
    # Only channel pairs c <= c' are transformed: G_{c'c}(du, dv) = G_{cc'}(-du, -dv).
    first, second = torch.triu_indices(chans, chans, device=x.device)
    spec = torch.fft.rfft2(x, s=(hf, wf))
    lag = torch.arange(-q, q + 1, device=x.device)
    cos_r, sin_r = _twiddles(hf, lag, half=False)
    cos_c, sin_c = _twiddles(wf, lag, half=True)
    if chans == 1:
        # One channel (luma, the default): the power spectrum is real, so half of the
        # products and of the matmuls below vanish.
        re = spec.real.square() + spec.imag.square()
        pairs = (cos_r.T @ re) @ cos_c - (sin_r.T @ re) @ sin_c
    else:
        # Complex matmuls on the cross spectra of channel c with channels c' >= c, one c at a
        # time: Re(E_r^T conj(a) b E_c) with E = cos + i sin is the real-arithmetic sum
        # cos'(re) cos - ..., with no split real/imaginary copies of the spectra.
        rows_twiddle = torch.complex(cos_r, sin_r).T.contiguous()
        cols_twiddle = torch.complex(cos_c, sin_c)
        pairs = torch.cat(
            [
                ((rows_twiddle @ (spec[:, c, None].conj() * spec[:, c:])) @ cols_twiddle).real
                for c in range(chans)
            ],
            1,
        )
    g = x.new_empty(batch, chans, chans, 2 * q + 1, 2 * q + 1)
    g[:, first, second] = pairs
    g[:, second, first] = pairs.flip(-1, -2)
    return g


def _stride1_outer(x: torch.Tensor, p: int) -> torch.Tensor:
    """Sum of patch outer products at stride 1, as ``(B, C p^2, C p^2)``; x is float64."""
    batch, chans, _, width = x.shape
    q = p - 1
    g = _lag_sums(x, p)
    # Row totals on the top/bottom strips, column totals on the left/right strips.
    rt_top, rt_bottom = _band_row_totals(x, q)  # (B, C, C', q, L, L)
    ct_left, ct_right = (
        t.transpose(-1, -2)
        for t in _band_row_totals(
            torch.cat([x[..., : 2 * q], x[..., width - 2 * q :]], -1).transpose(-1, -2)
            if width > 4 * q
            else x.transpose(-1, -2),
            q,
        )
    )
    strips_u = _prefix(rt_top, 3) + _suffix(rt_bottom, 3)  # [u, du, dv]: rows r < u, >= u + hc
    strips_v = _prefix(ct_left, 3) + _suffix(ct_right, 3)  # [v, du, dv]
    # Entry (u, v, u', v') at lag (du, dv) = (u' - u, v' - v): gathered straight into the
    # output layout (B, C, C', u, v, u', v'), then the strips subtracted in place.
    idx = torch.arange(p, device=x.device)
    u, v = idx.view(p, 1, 1, 1), idx.view(1, p, 1, 1)
    du, dv = idx.view(1, 1, p, 1) - u + q, idx.view(1, 1, 1, p) - v + q
    out = g[:, :, :, du, dv]
    out -= strips_u[:, :, :, u, du, dv]
    out -= strips_v[:, :, :, v, du, dv]
    d = chans * p * p
    out = out.permute(0, 1, 3, 4, 2, 5, 6).reshape(batch, d, d)
    return out.add_(_corner_outer(x, p))


def _stride1_moments(x: torch.Tensor, p: int) -> PatchMoments:
    batch, chans, height, width = x.shape
    d = chans * p * p
    hc, wc = height - p + 1, width - p + 1
    q = p - 1
    # Row sums over columns [v, v + wc): row total minus the first v and the last q - v.
    window = x.sum(-1, keepdim=True) - _prefix(x[..., :q], -1) - _suffix(x[..., wc:], -1)
    rows = _prefix(window, 2)  # (B, C, H + 1, p): prefix over rows
    total = rows[:, :, hc:] - rows[:, :, : q + 1]  # (B, C, u, v)
    step = patch_transform_chunk(chans, height, width, p)
    outer = torch.cat([_stride1_outer(x[i : i + step], p) for i in range(0, batch, step)])
    count = torch.full((batch,), float(hc * wc), dtype=torch.float64, device=x.device)
    return PatchMoments(count, total.reshape(batch, d), outer.reshape(batch, d, d))


def _unfold_moments(x: torch.Tensor, p: int, stride: int) -> PatchMoments:
    batch = x.shape[0]
    d = x.shape[1] * p * p
    positions = ((x.shape[2] - p) // stride + 1) * ((x.shape[3] - p) // stride + 1)
    step = patch_unfold_chunk(d, positions)
    totals, outers = [], []
    for i in range(0, batch, step):  # chunks of images, to bound memory
        cols = functional.unfold(x[i : i + step], p, stride=stride)  # (b, d, L)
        totals.append(cols.sum(-1))
        outers.append(cols @ cols.transpose(1, 2))
    count = torch.full((batch,), float(positions), dtype=torch.float64, device=x.device)
    return PatchMoments(count, torch.cat(totals), torch.cat(outers))


def patch_moments(images: torch.Tensor, patch_size: int = 8, stride: int = 1) -> PatchMoments:
    """Per-image float64 sums over all p x p patches: count, sum and sum of outer products.

    Implements docs/theory.md §3.3: for patch vectors ``x_k`` (d = C p^2, (channel, row, col)
    order as ``unfold``) at every ``stride``-spaced position,
    ``count = n``, ``total = sum_k x_k``, ``outer = sum_k x_k x_k'``. Stride 1 uses the
    lag decomposition of the cost note (see the module docstring) and never builds all
    patches.

    Args:
        images: ``(B, C, H, W)`` finite floating tensor (any range; [0, 1] for images).
        patch_size: p >= 1, at most min(H, W).
        stride: step between patch positions, >= 1.

    Returns:
        PatchMoments with ``count (B,)``, ``total (B, d)``, ``outer (B, d, d)``, float64 on
        the images' device.

    Raises:
        EstimatorInputError: on a bad image tensor, a non-positive patch size or stride, or
            images smaller than the patch.

    Example:
        >>> m = patch_moments(torch.tensor([[[[1.0, 2.0, 3.0]]]]), patch_size=1)
        >>> m.count.item(), m.total.tolist(), m.outer.tolist()
        (3.0, [[6.0]], [[[14.0]]])
    """
    _check_patch_args(images, patch_size, stride)
    x = images.to(torch.float64)
    if stride == 1 and patch_size > 1:
        return _stride1_moments(x, patch_size)
    return _unfold_moments(x, patch_size, stride)


def tiled_patch_moments(
    images: torch.Tensor, patch_size: int = 8, stride: int = 1, *, tile_rows: int
) -> PatchMoments:
    """:func:`patch_moments` over horizontal bands of about ``tile_rows`` rows, summed.

    The sums of docs/theory.md §3.3 are sums over patch positions, so they are additive over
    any partition of the positions. Band ``k`` holds the rows ``[k t, k t + t + p - 1)`` (an
    overlap of ``p - 1`` rows with the next band, ``t`` a multiple of the stride) and its
    patches are exactly those whose top row lies in ``[k t, k t + t)``: every position is in
    one band, so the result equals the untiled one up to float64 summation order, while the
    working memory (the float64 copy and the FFT buffers) scales with the band, not the image.

    Args:
        images: ``(B, C, H, W)``, as :func:`patch_moments`.
        patch_size, stride: as :func:`patch_moments`.
        tile_rows: positions per band (rounded up to a multiple of ``stride``); an image with
            no more rows than one band is not split.

    Example:
        >>> x = torch.arange(20.0).reshape(1, 1, 4, 5)
        >>> whole, tiled = patch_moments(x, 2), tiled_patch_moments(x, 2, tile_rows=1)
        >>> bool(torch.allclose(whole.outer, tiled.outer, rtol=1e-12, atol=0)), tiled.count.item()
        (True, 12.0)
    """
    _check_patch_args(images, patch_size, stride)
    if tile_rows < 1:
        raise EstimatorInputError(f"tile_rows must be >= 1, got {tile_rows}")
    step = math.ceil(tile_rows / stride) * stride
    height = images.shape[-2]
    if height <= step + patch_size - 1:
        return patch_moments(images, patch_size, stride)
    total: PatchMoments | None = None
    for top in range(0, height - patch_size + 1, step):
        band = patch_moments(images[..., top : top + step + patch_size - 1, :], patch_size, stride)
        if total is None:
            total = band
        else:  # in place: one (B, d, d) accumulator, not one per band
            total.count.add_(band.count)
            total.total.add_(band.total)
            total.outer.add_(band.outer)
    assert total is not None  # height >= patch_size (checked): at least one band
    return total


def patch_moments_working_bytes(shape: tuple[int, int, int, int], patch_size: int) -> int:
    """Estimated working memory of :func:`patch_moments` at stride 1 on a ``(B, C, H, W)`` stack.

    The float64 copy of the stack plus the spectra of one chunk of images (the chunking of
    ``_stride1_moments``); the outputs, ``(B, d, d)``, are small beside them for images of
    more than a few dozen pixels a side. An estimate for choosing a band height, not a bound;
    the rule is ``api_schemas.conventions.patch_working_bytes``, which the cost model plans by.
    """
    return patch_working_bytes(*shape, patch_size)


def patch_moments_within(
    images: torch.Tensor, patch_size: int, stride: int, budget_bytes: int | None
) -> PatchMoments:
    """:func:`patch_moments`, in row bands (:func:`tiled_patch_moments`) when the whole stack's
    estimated working memory (:func:`patch_moments_working_bytes`) exceeds ``budget_bytes``.

    The sums are additive over bands (docs/theory.md §3.3), so the result equals the untiled
    one up to float64 summation order. Bands are as tall as the budget allows (at least one
    row of positions; ``api_schemas.conventions.patch_band_rows``, the rule the cost model
    plans a job's memory by); strides above 1 and ``p = 1`` use unfold in chunks of images
    already.
    """
    _check_patch_args(images, patch_size, stride)
    if stride != 1 or patch_size == 1:
        return patch_moments(images, patch_size, stride)
    batch, chans, height, width = images.shape
    rows = patch_band_rows(batch, chans, height, width, patch_size, budget_bytes)
    if rows is None:
        return patch_moments(images, patch_size, stride)
    return tiled_patch_moments(images, patch_size, stride, tile_rows=rows)


def sample_patches(
    images: torch.Tensor, patch_size: int, per_image: int, generator: torch.Generator
) -> torch.Tensor:
    """Patches at random distinct stride-1 positions, gathered without forming all patches.

    Implements docs/theory.md §3.3 (the nearest-neighbour estimators' seeded random subset).
    Positions are drawn without replacement per image (duplicates would give zero
    nearest-neighbour distances), from ``generator`` on its own device.

    Args:
        images: ``(B, C, H, W)`` finite floating tensor.
        patch_size: p >= 1, at most min(H, W).
        per_image: number of patches per image, 1 <= per_image <= (H - p + 1)(W - p + 1).
        generator: a seeded ``torch.Generator``.

    Returns:
        ``(B, per_image, C p^2)`` patches, dtype and device of ``images``, in unfold order.

    Raises:
        EstimatorInputError: on bad images, patch size, or per_image.

    Example:
        >>> img = torch.arange(4.0).reshape(1, 1, 2, 2)
        >>> sample_patches(img, 2, 1, torch.Generator().manual_seed(0)).tolist()
        [[[0.0, 1.0, 2.0, 3.0]]]
    """
    _check_patch_args(images, patch_size)
    batch, chans, height, width = images.shape
    wc = width - patch_size + 1
    positions = (height - patch_size + 1) * wc
    if isinstance(per_image, bool) or not isinstance(per_image, int):
        raise EstimatorInputError(f"expected per_image an int, got {per_image!r}")
    if not 1 <= per_image <= positions:
        raise EstimatorInputError(
            f"expected 1 <= per_image <= {positions} patch positions, got {per_image}"
        )
    picked = _distinct_positions(batch, positions, per_image, generator).to(images.device)
    start = (picked // wc) * width + picked % wc  # (B, per_image) flat top-left index
    c = torch.arange(chans, device=images.device).view(chans, 1, 1) * (height * width)
    u = torch.arange(patch_size, device=images.device).view(1, patch_size, 1) * width
    v = torch.arange(patch_size, device=images.device).view(1, 1, patch_size)
    offsets = (c + u + v).reshape(-1)
    index = (start[..., None] + offsets).reshape(batch, -1)
    flat = images.reshape(batch, -1)
    return flat.gather(1, index).reshape(batch, per_image, -1)


def _distinct_positions(
    batch: int, positions: int, per_image: int, generator: torch.Generator
) -> torch.Tensor:
    """``(batch, per_image)`` uniformly random distinct indices below ``positions`` per row.

    Few from many (the usual case: about a hundred patches of some 60 000 positions): draw
    with replacement and keep each row's first ``per_image`` distinct values in draw order,
    which is a uniform sample without replacement (sequential sampling with duplicates
    rejected); this draws ~2 per_image numbers instead of one key per position. A row left
    short (rare), or a sample that is a large share of the positions, takes the top-k of one
    random key per position.
    """
    if 4 * per_image <= positions:
        draws = torch.randint(
            positions, (batch, 2 * per_image + 16), generator=generator, device=generator.device
        )
        ordered, order = draws.sort(dim=1, stable=True)
        repeat = torch.zeros_like(draws, dtype=torch.bool)
        repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        # A value's first draw is the first of its run in the stable sort.
        first = torch.empty_like(repeat).scatter_(1, order, ~repeat)
        keep = first & (first.cumsum(1) <= per_image)
        if bool((keep.sum(1) == per_image).all()):
            return draws[keep].reshape(batch, per_image)
    keys = torch.rand(batch, positions, generator=generator, device=generator.device)
    return keys.topk(per_image, dim=1).indices
