"""PNG plots of the uncertainty-perception (UP) and distortion-perception (DP) planes.

Implements the pictures of docs/theory.md §2 and §3.6: each restorer is a point (its marginal
perception index, its uncertainty); when the inherent uncertainty is known, the Gaussian-oracle
frontier ``r_oracle(P) N(X|Y)`` of §3.6 is drawn with the region below it shaded (better than
the best Gaussian restorer at that perception), on the UP plane and, since the MSE is at least
the uncertainty (Thm 4), on the DP plane. Without frontier points the older curve
``eta(P; d) N(X|Y)`` is drawn, which is a floor only for a conditional index.

Matplotlib is imported lazily (the API image and most workers never plot) and only through its
object-oriented ``Figure`` + Agg canvas, so no global ``pyplot`` state or backend switch is
involved and the functions are safe in worker threads.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from workers.estimators.bounds import min_perception_index, min_uncertainty_multiplier

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DpPoint",
    "SweepPoint",
    "UpPoint",
    "dp_plane_png",
    "sweep_plane_png",
    "up_plane_png",
]

PERCEPTION_LABEL = "perception index D_1/2 (nats)"
UNCERTAINTY_LABEL = "uncertainty N(X̂−X)"
DISTORTION_LABEL = "distortion MSE"
BOUND_LABEL = "bound η(P; d)·N(X|Y)"
IMPOSSIBLE_LABEL = "impossible"
IMPOSSIBLE_COLOR = "#d9d9d9"
FIGURE_SIZE = (6.4, 4.8)
DPI = 100


@dataclass(frozen=True)
class UpPoint:
    """One restorer on the UP plane: its perception index, uncertainty and the interval."""

    name: str
    perception: float
    uncertainty: float
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class DpPoint:
    """One restorer on the distortion-perception plane."""

    name: str
    perception: float
    mse: float


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _perception_range(perceptions: list[float], dimension: int) -> float:
    """Upper end of the P axis: past every point, and far enough for eta to fall to 1.5."""
    reach = min_perception_index(1.5, dimension)
    largest = max((p for p in perceptions if _finite(p)), default=0.0)
    return max(1.25 * largest, reach)


def _bound_curve(p_max: float, dimension: int, inherent: float) -> tuple[Any, Any]:
    perception = torch.linspace(0.0, p_max, 256, dtype=torch.float64)
    bound = min_uncertainty_multiplier(perception, dimension) * inherent
    return perception.numpy(), bound.numpy()


FRONTIER_LABEL = "Gaussian-oracle frontier r_oracle(P)·N(X|Y)"
BELOW_FRONTIER_LABEL = "below the Gaussian oracle"


def _frontier_curve(
    frontier: list[tuple[float, float]], p_max: float, inherent: float
) -> tuple[Any, Any]:
    points = sorted(frontier)
    perception = [p for p, _ in points] + [max(p_max, points[-1][0])]
    bound = [r * inherent for _, r in points] + [inherent]
    return perception, bound


def _draw_bound(
    axes: Any,
    p_max: float,
    dimension: int,
    inherent: float,
    frontier: list[tuple[float, float]] | None = None,
) -> None:
    if frontier:
        perception, bound = _frontier_curve(frontier, p_max, inherent)
        labels = (BELOW_FRONTIER_LABEL, FRONTIER_LABEL)
    else:
        perception, bound = _bound_curve(p_max, dimension, inherent)
        labels = (IMPOSSIBLE_LABEL, BOUND_LABEL)
    axes.fill_between(perception, 0.0, bound, color=IMPOSSIBLE_COLOR, label=labels[0], zorder=0)
    axes.plot(perception, bound, color="black", linewidth=1.5, label=labels[1], zorder=2)
    axes.axhline(inherent, color="black", linestyle=":", linewidth=1.0, label="N(X|Y)", zorder=1)


MARGINS = {"left": 0.14, "right": 0.97, "bottom": 0.11, "top": 0.93}
"""Fixed subplot margins (fractions of the figure), room for tick labels of up to about
eight characters: a constrained layout measures every text, a fixed cost of every job that
``benchmarks/bench_artifacts.py`` prints beside this one's."""


def _new_figure() -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI)
    figure.subplots_adjust(**MARGINS)
    return figure


def _png(figure: Figure) -> bytes:
    # A bare Figure renders PNG through Agg without touching pyplot's global backend.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _up_plane_figure(
    points: list[UpPoint],
    inherent_uncertainty: float | None,
    dimension: int,
    frontier: list[tuple[float, float]] | None = None,
) -> Figure:
    figure = _new_figure()
    axes = figure.add_subplot()
    p_max = _perception_range([p.perception for p in points], dimension)
    if _finite(inherent_uncertainty) and inherent_uncertainty is not None:
        _draw_bound(axes, p_max, dimension, inherent_uncertainty, frontier)
        axes.set_title(f"uncertainty-perception plane (d = {dimension})")
    else:
        axes.set_title(f"uncertainty-perception plane (d = {dimension}; N(X|Y) unknown)")
    for point in points:
        if not (_finite(point.perception) and _finite(point.uncertainty)):
            continue
        low = point.ci_low if _finite(point.ci_low) else point.uncertainty
        high = point.ci_high if _finite(point.ci_high) else point.uncertainty
        error = [
            [max(point.uncertainty - float(low or 0.0), 0.0)],
            [max(float(high or 0.0) - point.uncertainty, 0.0)],
        ]
        axes.errorbar(
            [point.perception],
            [point.uncertainty],
            yerr=error,
            fmt="o",
            capsize=4,
            label=point.name,
            zorder=3,
        )
    axes.set_xlim(0.0, p_max)
    axes.set_ylim(bottom=0.0)
    axes.set_xlabel(PERCEPTION_LABEL)
    axes.set_ylabel(UNCERTAINTY_LABEL)
    axes.legend(loc="best", fontsize="small")
    return figure


def up_plane_png(
    points: list[UpPoint],
    inherent_uncertainty: float | None,
    dimension: int,
    frontier: list[tuple[float, float]] | None = None,
) -> bytes:
    """Render the uncertainty-perception plane as PNG bytes.

    Implements docs/theory.md §2 (regions of the UP plane): each restorer at
    ``(P, U_gauss)`` with its interval as a vertical error bar; when ``inherent_uncertainty``
    is known, the bound ``eta(P; d) N(X|Y)`` from P = 0 (where it is ``2 N(X|Y)``) to
    ``max(1.25 max P, P_min(1.5; d))``, the impossible region below it shaded, and the
    asymptote ``N(X|Y)`` dotted. Non-finite points are skipped.

    Args:
        points: restorers to place.
        inherent_uncertainty: ``N(X|Y)`` (§3.6), or ``None`` when the degradation is unknown
            (then no bound is drawn).
        dimension: the patch dimension ``d >= 1`` that ``eta`` depends on.

    Returns:
        PNG bytes of a 640 x 480 image.

    Raises:
        workers.estimators.errors.EstimatorInputError: if ``dimension`` is not a positive int.

    Example:
        >>> png = up_plane_png([UpPoint("sr", 2.0, 0.004, 0.0035, 0.0045)], 0.002, 64)
        >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """
    return _png(_up_plane_figure(points, inherent_uncertainty, dimension, frontier))


def _dp_plane_figure(
    points: list[DpPoint],
    inherent_uncertainty: float | None,
    dimension: int | None,
    frontier: list[tuple[float, float]] | None = None,
) -> Figure:
    figure = _new_figure()
    axes = figure.add_subplot()
    d = dimension or 1
    p_max = _perception_range([p.perception for p in points], d)
    if _finite(inherent_uncertainty) and inherent_uncertainty is not None and dimension:
        _draw_bound(axes, p_max, dimension, inherent_uncertainty, frontier)
    for point in points:
        if _finite(point.perception) and _finite(point.mse):
            axes.plot([point.perception], [point.mse], "o", label=point.name, zorder=3)
    axes.set_xlim(0.0, p_max)
    axes.set_ylim(bottom=0.0)
    axes.set_xlabel(PERCEPTION_LABEL)
    axes.set_ylabel(DISTORTION_LABEL)
    axes.set_title("distortion-perception plane")
    axes.legend(loc="best", fontsize="small")
    return figure


def dp_plane_png(
    points: list[DpPoint],
    inherent_uncertainty: float | None = None,
    dimension: int | None = None,
    frontier: list[tuple[float, float]] | None = None,
) -> bytes:
    """Render the distortion-perception plane as PNG bytes.

    Implements docs/theory.md §2 (Thm 4): each restorer at ``(P, MSE)``; with ``N(X|Y)`` and ``d``
    given, the bound ``D(P) >= eta(P; d) N(X|Y)`` and its impossible region as on the UP plane
    (MSE per pixel is the ``(1/d) E|X̂ - X|^2`` of Thm 4).

    Args:
        points: restorers to place.
        inherent_uncertainty: ``N(X|Y)`` or ``None`` (no bound drawn).
        dimension: the patch dimension ``d``; required for the bound.

    Returns:
        PNG bytes of a 640 x 480 image.

    Raises:
        workers.estimators.errors.EstimatorInputError: if ``dimension`` is given and is not a
            positive int.

    Example:
        >>> dp_plane_png([DpPoint("sr", 2.0, 0.004)])[:4] == b"\\x89PNG"
        True
    """
    return _png(_dp_plane_figure(points, inherent_uncertainty, dimension, frontier))


@dataclass(frozen=True)
class SweepPoint:
    """One restorer at one patch size of the dimension sweep (docs/theory.md §3.11)."""

    name: str
    patch_size: int
    per_dimension: float
    ratio: float


def sweep_plane_png(
    points: list[SweepPoint], frontiers: dict[int, list[tuple[float, float]]]
) -> bytes:
    """The UP plane in ratio units against P / d, one frontier curve per patch size.

    Implements docs/theory.md §3.11: the bound depends on P / d, so plotting ``U / N(X|Y)``
    against ``P / d`` puts every patch size on one set of axes; each size's Gaussian-oracle
    frontier (§3.6, ``frontiers[size]`` as ``(P, ratio)`` points with ``d = size^2`` times
    the channels folded in by the caller) is a curve, each restorer a marker per size.

    Example:
        >>> png = sweep_plane_png([SweepPoint("sr", 4, 0.01, 1.9)], {4: [(0.0, 2.0), (0.1, 1.0)]})
        >>> png[:4] == b"\\x89PNG"
        True
    """
    figure = _new_figure()
    axes = figure.add_subplot()
    cycle = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]
    sizes = sorted(set(frontiers) | {p.patch_size for p in points})
    for index, size in enumerate(sizes):
        colour = cycle[index % len(cycle)]
        curve = sorted(frontiers.get(size, []))
        if curve:
            axes.plot(
                [p for p, _ in curve],
                [r for _, r in curve],
                color=colour,
                linewidth=1.2,
                label=f"frontier, p = {size}",
            )
        mine = [p for p in points if p.patch_size == size]
        for point in mine:
            axes.scatter(point.per_dimension, point.ratio, color=colour, s=25, zorder=3)
            axes.annotate(
                point.name, (point.per_dimension, point.ratio), fontsize=7, xytext=(3, 3),
                textcoords="offset points",
            )  # fmt: skip
    axes.set_xlabel("P / d (nats per dimension)")
    axes.set_ylabel("uncertainty ratio U / N(X|Y)")
    axes.set_title("dimension sweep: ratio against P / d per patch size")
    axes.legend(fontsize=8, loc="best")
    return _png(figure)
