"""PNG artifacts of an audit: per-pair heat maps and the job's tradeoff plots."""

from __future__ import annotations

import numpy as np

from api_schemas.jobs import artifact_stem
from api_schemas.report import GroupReport
from workers.engine.accumulate import BatchStatistics
from workers.engine.sources import ArtifactWriter, LoadedPair


def artifact_name(group: str, pair_id: str, kind: str) -> str:
    """File name of a pair's map, by restorer and file (``bicubic_photo1-1a2b3c-error.png``):
    safe for the payload store and unique in the job whatever the pair id is
    (``api_schemas.jobs.artifact_stem``)."""
    return f"{artifact_stem(group, pair_id)}-{kind}.png"


_MAP_LABELS = {
    "invented_detail": ("invented detail", "invented-detail ratio", 1.0),
    "error": ("error", "|restored - truth| (sum over channels)", None),
    "null_space": ("null-space error", "|(I - H+H)(restored - truth)|", None),
    "measurement": ("data inconsistency", "|H+(H restored - observation)|", None),
    "sample_std": ("sample standard deviation", "std over the input's samples", None),
}
"""Title, colour-bar label and fixed scale (None: the map's own maximum) of each map kind.
The invented-detail ratio has a meaningful scale (1: detail fully invented), so it is fixed
to make maps comparable across pairs."""


def render_maps(
    loaded: list[LoadedPair],
    batch: BatchStatistics,
    crop: int,
    artifacts: ArtifactWriter,
) -> dict[int, dict[str, str]]:
    """Draw each pair's maps as heat maps over its restored image; returns the links.

    Pixels go to ``artifacts.write_pixels`` where the store encodes later, PNG bytes to
    ``artifacts.write`` otherwise.
    """
    links: dict[int, dict[str, str]] = {}
    by_index = {p.index: p for p in loaded}
    for row, index in enumerate(batch.indices):
        background = by_index[index].restored.mean(0).numpy()
        if crop > 0:
            background = background[crop:-crop, crop:-crop]
        links[index] = {}
        source = by_index[index].source
        for kind, maps in batch.maps.items():
            # A map that is not finite (e.g. a flat ground truth's ratio) is left out.
            link = render_input_map(
                source.group, source.id, kind, background, maps[row, 0].double().numpy(), artifacts
            )
            if link is not None:
                links[index][kind] = link
    return links


def render_input_map(
    group: str,
    input_name: str,
    kind: str,
    background: np.ndarray,
    heat: np.ndarray,
    artifacts: ArtifactWriter,
) -> str | None:
    """Draw one map of a pair (or of a ground-truth-free input, docs/theory.md 3.9) as a heat
    map with a colour bar over ``background``; returns the link, or None for a map that is
    not finite."""
    from workers.render import encode_png, heatmap_pixels

    if not np.isfinite(heat).all():
        return None
    title, label, vmax = _MAP_LABELS[kind]
    pixels = heatmap_pixels(
        np.clip(background, 0.0, 1.0),
        heat,
        vmax=vmax,
        title=f"{input_name}: {title}",
        colorbar_label=label,
    )
    name = artifact_name(group, input_name, kind)
    if artifacts.write_pixels is not None:
        artifacts.write_pixels(name, pixels)
    else:
        artifacts.write(name, encode_png(pixels))
    return artifacts.url_for(name)


def render_plots(
    groups: list[GroupReport], artifacts: ArtifactWriter, patch_size: int
) -> dict[str, str]:
    """The job's uncertainty-perception and distortion-perception planes (docs/theory.md 2)."""
    from workers.plots import DpPoint, UpPoint, dp_plane_png, up_plane_png

    if not groups:
        return {}
    dimension = groups[0].dimension
    inherent = [g.inherent_uncertainty for g in groups if g.inherent_uncertainty is not None]
    # One bound per plot: the groups share the ground truth, so their N(X|Y) agree; the mean
    # stands for them when pairs differ.
    n_xy = float(np.mean(inherent)) if inherent else None
    frontier = next(
        ([(f.perception, f.ratio) for f in g.frontier] for g in groups if g.frontier), None
    )
    up_points = [
        UpPoint(
            g.name,
            g.perception.gaussian_renyi.value,
            g.uncertainty.gaussian.value,
            g.uncertainty.gaussian.ci_low,
            g.uncertainty.gaussian.ci_high,
        )
        for g in groups
        if g.perception.gaussian_renyi.value is not None
        and g.uncertainty.gaussian.value is not None
    ]
    dp_points = [
        DpPoint(g.name, g.perception.gaussian_renyi.value, g.distortion.mse.value)
        for g in groups
        if g.perception.gaussian_renyi.value is not None and g.distortion.mse.value is not None
    ]
    links = {}
    for name, png in (
        ("up_plane", up_plane_png(up_points, n_xy, dimension, frontier)),
        ("dp_plane", dp_plane_png(dp_points, n_xy, dimension if n_xy else None, frontier)),
    ):
        artifacts.write(f"{name}.png", png)
        links[name] = artifacts.url_for(f"{name}.png")
    sweep = _sweep_plot(groups, patch_size)
    if sweep is not None:
        artifacts.write("up_plane_by_patch_size.png", sweep)
        links["up_plane_by_patch_size"] = artifacts.url_for("up_plane_by_patch_size.png")
    return links


def _sweep_plot(groups: list[GroupReport], patch_size: int) -> bytes | None:
    """The dimension sweep's plot (docs/theory.md 3.11), when a group has rows with ratios."""
    from workers.plots import SweepPoint, sweep_plane_png

    points: list[SweepPoint] = []
    frontiers: dict[int, list[tuple[float, float]]] = {}
    for g in groups:
        channels = g.dimension // patch_size**2
        for row in g.by_patch_size or []:
            d = channels * row.patch_size**2
            if row.frontier and row.patch_size not in frontiers:
                frontiers[row.patch_size] = [(f.perception / d, f.ratio) for f in row.frontier]
            if row.per_dimension is not None and row.uncertainty_ratio is not None:
                points.append(
                    SweepPoint(g.name, row.patch_size, row.per_dimension, row.uncertainty_ratio)
                )
    if not points:
        return None
    return sweep_plane_png(points, frontiers)
