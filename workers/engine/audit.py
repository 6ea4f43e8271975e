"""run_audit: stream pairs through the estimators and assemble the report of REPORT.md."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import torch

from api_schemas import images as policy
from api_schemas.options import AuditOptions
from api_schemas.report import AuditReport, EngineInfo, GroupReport, PairReport, ReportSettings
from api_schemas.samples import SampleEntry, input_name, sample_problems
from workers.device import parse_device
from workers.engine.accumulate import (
    BatchStatistics,
    DegradationInputs,
    GroupStatistics,
    StatisticSettings,
    batch_statistics,
)
from workers.engine.artifacts import render_maps, render_plots
from workers.engine.decode import Chunk, DecodeAhead
from workers.engine.degradation import GAUSSIAN_MODEL_NOTE, KnownDegradation, PriorImages
from workers.engine.samples import GroupSamples
from workers.engine.sources import ArtifactWriter, LoadedPair, PairSource
from workers.engine.summarize import PairMeta, group_bootstrap_weights, summarize_group
from workers.errors import AuditInputError
from workers.estimators.color import convert_color
from workers.estimators.errors import EstimatorInputError

DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_PIXELS = policy.DEFAULT_MAX_PIXELS
BATCH_RANGE = "restoration_audit.batch"
"""Profiler range around one device batch (statistics and folding into the group)."""


def engine_version() -> str:
    """The installed distribution's version (the source tree's when not installed)."""
    try:
        return version("restoration-audit")
    except PackageNotFoundError:
        return "0.0.0+source"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; a device outside the rule of ``workers.device``, or
    a CUDA device that is not there, is an input error."""
    try:
        parse_device(device)
    except ValueError as error:
        raise AuditInputError(str(error), part="device") from None
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AuditInputError(f"device {device!r} was asked for but no CUDA device is available")
    if resolved.type == "cuda" and resolved.index is not None:
        count = torch.cuda.device_count()
        if resolved.index >= count:
            raise AuditInputError(
                f"device {device!r} was asked for but there are {count} CUDA devices "
                f"(cuda:0 to cuda:{count - 1})"
            )
    return resolved


@dataclass(frozen=True)
class ResolvedSettings:
    """AuditOptions with every "auto" default made concrete."""

    crop: int
    detail_sigma: float


def _resolve(options: AuditOptions, known: KnownDegradation | None) -> ResolvedSettings:
    factor = known.factor if known is not None else None
    crop = policy.effective_crop(options)  # the API's rule, so both refuse the same sizes
    sigma = options.detail_sigma or (factor / 2 if factor else 2.0)
    return ResolvedSettings(crop=crop, detail_sigma=float(sigma))


def _validate_pairs(pairs: Sequence[PairSource]) -> None:
    if not pairs:
        raise AuditInputError("expected at least one pair, got none")
    seen: set[str] = set()
    for pair in pairs:
        if pair.id in seen:
            raise AuditInputError(f"duplicate pair id {pair.id!r}", part=f"pairs[{pair.id}]")
        seen.add(pair.id)
        if not pair.group:
            raise AuditInputError("empty group name", part=f"pairs[{pair.id}]")


@dataclass(frozen=True)
class SampleLayout:
    """How one group's pairs form inputs with several samples each (docs/theory.md 3.9)."""

    names: list[str]
    """Input names, in order of first appearance."""
    input_of: dict[int, int]
    """Pair index -> input index."""
    order: dict[int, tuple[int, int]]
    """Pair index -> (input index, sample index): the processing order."""
    samples: list[int]
    """K of each input."""

    @property
    def count(self) -> int:
        """Number of inputs."""
        return len(self.names)

    def calibration(self, options: AuditOptions) -> set[int]:
        """The inputs whose scores calibrate the per-pixel intervals: a seeded half."""
        generator = torch.Generator().manual_seed(options.bootstrap.seed + 1)
        permutation = torch.randperm(self.count, generator=generator).tolist()
        return set(permutation[: self.count // 2])

    def chunks(
        self, members: list[tuple[int, PairSource]], batch_size: int
    ) -> list[list[tuple[int, PairSource]]]:
        """Batches of whole inputs, about ``batch_size`` pairs each (at least one input)."""
        chunks: list[list[tuple[int, PairSource]]] = [[]]
        for position, member in enumerate(members):
            first_of_input = position == 0 or (
                self.input_of[member[0]] != self.input_of[members[position - 1][0]]
            )
            if first_of_input and chunks[-1]:
                k = self.samples[self.input_of[member[0]]]
                if len(chunks[-1]) + k > batch_size:
                    chunks.append([])
            chunks[-1].append(member)
        return chunks


def _sample_layout(pairs: Sequence[PairSource]) -> dict[str, SampleLayout]:
    """The groups whose pairs are several samples per input (docs/theory.md 3.9), validated
    by the rule of ``api_schemas.samples`` that the API applies at submission too."""
    entries = [SampleEntry(p.id, p.group, p.input, p.sample) for p in pairs]
    problems = sample_problems(entries)
    if problems:
        first = problems[0]
        raise AuditInputError(first.message, part=f"pairs[{pairs[first.position].id}]")
    layouts: dict[str, SampleLayout] = {}
    for group in dict.fromkeys(p.group for p in pairs):
        members = [(i, e) for i, e in enumerate(entries) if e.group == group]
        if all(e.sample is None for _, e in members):
            continue
        names = list(dict.fromkeys(input_name(e) for _, e in members))
        input_of: dict[int, int] = {}
        order: dict[int, tuple[int, int]] = {}
        samples = []
        for position, name in enumerate(names):
            outputs = sorted((e.sample or 0, i) for i, e in members if input_name(e) == name)
            samples.append(len(outputs))
            for rank, (_, index) in enumerate(outputs):
                input_of[index] = position
                order[index] = (position, rank)
        layouts[group] = SampleLayout(names, input_of, order, samples)
    return layouts


def _chunks(items: Sequence[tuple[int, PairSource]], size: int) -> Iterator[Chunk]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True)
class _AuditSettings:
    """What every group of one audit shares."""

    options: AuditOptions
    resolved: ResolvedSettings
    known: KnownDegradation | None
    device: torch.device
    artifacts: ArtifactWriter | None
    batch_size: int
    patch_memory_bytes: int | None = None


@dataclass(frozen=True)
class _AuditedGroup:
    report: GroupReport
    pairs: dict[int, PairReport]
    """Pair index -> its report."""
    warnings: list[str]


def run_audit(
    pairs: Sequence[PairSource],
    options: AuditOptions,
    *,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    artifacts: ArtifactWriter | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_compression_ratio: float = policy.DEFAULT_MAX_COMPRESSION_RATIO,
    decode_workers: int | None = None,
    patch_memory_bytes: int | None = None,
) -> AuditReport:
    """Audit pairs of ground-truth and restored images and return the report of REPORT.md.

    Pairs are decoded in a thread pool while the previous batch runs on the device; pairs of
    one size inside a batch form one tensor batch. Group statistics are pooled from per-pair
    sufficient statistics (docs/theory.md 3.3-3.8).

    Args:
        pairs: the pairs, in report order; ``group`` names the restorer.
        options: estimator settings (docs/theory.md 3 defaults).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        progress: called with ``(done, total)`` pairs after each batch.
        should_cancel: polled between batches; True stops with AuditCancelledError.
        artifacts: where maps and plots go; ``None`` (or ``options.maps`` false) renders
            none.
        batch_size: pairs per device batch; bounds peak memory.
        max_pixels: decompression-bomb limit per image (``RA_MAX_PIXELS_PER_IMAGE``).
        max_compression_ratio: largest declared compression ratio of an image file
            (``RA_MAX_COMPRESSION_RATIO``; ``api_schemas.images``).
        patch_memory_bytes: working memory the patch statistics of one batch may take;
            above it they are summed over row bands of the images (docs/theory.md 3.3: the
            sums are additive, so the report is the same to rounding). None: never banded.
        decode_workers: decoding threads (default: the CPU count).

    Returns:
        The AuditReport.

    Raises:
        AuditInputError: bad input (undecodable file, size mismatch, image too small, ...).
        AuditCancelledError: ``should_cancel`` returned True.
    """
    _validate_pairs(pairs)
    sampled = _sample_layout(pairs)
    if not options.maps:
        artifacts = None
    if batch_size < 1:
        raise AuditInputError(f"expected batch_size >= 1, got {batch_size}")
    torch_device = resolve_device(device)
    total = len(pairs)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    workers = decode_workers or max(1, os.cpu_count() or 1)
    known = KnownDegradation.from_options(options)
    shared = _AuditSettings(
        options,
        _resolve(options, known),
        known,
        torch_device,
        artifacts,
        batch_size,
        patch_memory_bytes,
    )
    report_pairs: dict[int, PairReport] = {}
    groups = []
    warnings: list[str] = []
    with torch.inference_mode(), ThreadPoolExecutor(max_workers=workers) as pool:
        decoder = DecodeAhead(
            pool, policy.ImageLimits(max_pixels, max_compression_ratio), should_cancel
        )
        for name in dict.fromkeys(p.group for p in pairs):
            members = [(i, p) for i, p in enumerate(pairs) if p.group == name]
            audited = _audit_group(name, members, sampled.get(name), shared, decoder, advance)
            groups.append(audited.report)
            warnings.extend(audited.warnings)
            report_pairs.update(audited.pairs)

    if known is not None:
        warnings.append(GAUSSIAN_MODEL_NOTE)
    plots: dict[str, str] = {}
    if artifacts is not None:
        plots = render_plots(groups, artifacts, options.patch_size)
    settings = ReportSettings(
        preset=options.preset,
        color=options.color,
        patch_size=options.patch_size,
        patch_stride=options.patch_stride,
        crop_border=shared.resolved.crop,
        renyi_order=options.renyi_order,
        knn_k=options.knn_k,
        bootstrap=options.bootstrap,
        degradation=options.degradation,
        thresholds=options.thresholds,
        bound_tolerance=options.bound_tolerance if known is not None else None,
    )
    return AuditReport(
        engine=EngineInfo(
            version=engine_version(), device=str(torch_device), torch=torch.__version__
        ),
        settings=settings,
        groups=groups,
        pairs=[report_pairs[i] for i in range(total)],
        plots=plots,
        warnings=warnings,
    )


def _audit_group(
    name: str,
    members: list[tuple[int, PairSource]],
    layout: SampleLayout | None,
    shared: _AuditSettings,
    decoder: DecodeAhead,
    advance: Callable[[int], None],
) -> _AuditedGroup:
    """Stream one group's pairs through the device, batch by batch, and summarize it."""
    options, resolved, known = shared.options, shared.resolved, shared.known
    knn_per_pair = policy.knn_per_pair(options, len(members))
    # A CPU generator on every device: the same seed draws the same patch positions and
    # dequantisation noise on CPU and CUDA, so their reports agree.
    generator = torch.Generator().manual_seed(options.bootstrap.seed)
    group_samples = None
    if layout is None:
        weights = group_bootstrap_weights(len(members), options)
        chunks = list(_chunks(members, shared.batch_size))
    else:
        # Inputs, not samples, are resampled (a pair's weight is its input's), and
        # the samples of one input share a batch.
        input_weights = group_bootstrap_weights(layout.count, options)
        weights = (
            None
            if input_weights is None
            else input_weights[:, [layout.input_of[i] for i, _ in members]]
        )
        group_samples = GroupSamples(input_weights, layout.calibration(options))
        chunks = layout.chunks(sorted(members, key=lambda m: layout.order[m[0]]), shared.batch_size)
    stats = GroupStatistics([i for i, _ in members], weights, options.renyi_order, group_samples)
    prior = PriorImages(known, options) if known is not None else None
    metas: dict[int, PairMeta] = {}
    for loaded in decoder.decoded(chunks):
        for same_size in _same_size_batches(loaded):
            # A named profiler range (free when no profiler runs): benchmarks/bench_launches.py
            # and the host-sync test count the operators and synchronisations inside it.
            with torch.profiler.record_function(BATCH_RANGE):
                batch = _run_batch(
                    same_size,
                    options,
                    resolved,
                    knn_per_pair,
                    generator,
                    shared.device,
                    with_maps=shared.artifacts is not None,
                    known=known,
                    prior=prior,
                    layout=layout,
                    patch_memory_bytes=shared.patch_memory_bytes,
                )
                stats.add(batch)
            links = (
                render_maps(same_size, batch, resolved.crop, shared.artifacts)
                if shared.artifacts is not None
                else {}
            )
            for item in same_size:
                _, height, width = item.ground_truth.shape
                metas[item.index] = PairMeta(
                    id=item.source.id,
                    group=name,
                    width=int(width),
                    height=int(height),
                    warnings=item.warnings,
                    maps=links.get(item.index, {}),
                )
        advance(len(loaded))
    finished = stats.finish()
    _check_knn(name, [metas[i] for i in finished.indices], options, resolved.crop)
    group, pair_reports, warnings = summarize_group(
        name,
        finished,
        [metas[i] for i in finished.indices],
        options,
        finished.dimension,
        known=known,
        prior=prior,
    )
    return _AuditedGroup(group, dict(zip(finished.indices, pair_reports, strict=True)), warnings)


def _check_knn(group: str, metas: list[PairMeta], options: AuditOptions, crop: int) -> None:
    """The group's images give the nearest-neighbour estimators enough patches for knn_k
    (the rule of ``api_schemas.images`` the API applies at submission)."""
    sizes = [policy.Geometry(f"ground_truth[{m.id}]", m.width, m.height, 1) for m in metas]
    problems = policy.knn_problems(group, sizes, options, crop)
    if problems:
        raise AuditInputError(problems[0].message, part=problems[0].part)


def _observation(item: LoadedPair, known: KnownDegradation) -> torch.Tensor | None:
    """The pair's observation, checked against the size the degradation produces."""
    if item.observation is None:
        return None
    _, height, width = item.ground_truth.shape
    expected = known.operator.output_size(int(height), int(width))
    got = tuple(item.observation.shape[-2:])
    if got != expected:
        raise AuditInputError(
            f"expected an observation of {expected[1]}x{expected[0]} pixels for a "
            f"{width}x{height} ground truth under the degradation, got {got[1]}x{got[0]}",
            part=item.source.part("observation"),
        )
    return item.observation


def _pair_geometry(item: LoadedPair) -> policy.PairGeometry:
    def geometry(role: str, image: torch.Tensor) -> policy.Geometry:
        channels, height, width = image.shape
        return policy.Geometry(item.source.part(role), int(width), int(height), int(channels))

    observation = item.observation
    return policy.PairGeometry(
        geometry("ground_truth", item.ground_truth),
        geometry("restored", item.restored),
        None if observation is None else geometry("observation", observation),
        item.source.group,
    )


def _same_size_batches(loaded: list[LoadedPair]) -> list[list[LoadedPair]]:
    by_shape: dict[tuple[int, ...], list[LoadedPair]] = {}
    for item in loaded:
        by_shape.setdefault(tuple(item.ground_truth.shape), []).append(item)
    return list(by_shape.values())


def _run_batch(
    items: list[LoadedPair],
    options: AuditOptions,
    resolved: ResolvedSettings,
    knn_per_pair: int,
    generator: torch.Generator,
    device: torch.device,
    *,
    with_maps: bool,
    known: KnownDegradation | None,
    prior: PriorImages | None,
    layout: SampleLayout | None = None,
    patch_memory_bytes: int | None = None,
) -> BatchStatistics:
    channels, height, width = items[0].ground_truth.shape
    inputs = None
    if layout is not None:
        inputs = [layout.input_of[i.index] for i in items]
        for index in set(inputs):
            if inputs.count(index) != layout.samples[index]:
                first = next(i for i in items if layout.input_of[i.index] == index)
                raise AuditInputError(
                    f"the samples of input {layout.names[index]!r} of group "
                    f"{first.source.group!r} differ in size: all outputs of one input must "
                    "have the same size",
                    part=f"pairs[{first.source.id}]",
                )
    for item in items:  # the size rules of api_schemas.images, as the API applies them
        problems = policy.pair_problems(_pair_geometry(item), options, resolved.crop)
        if problems:
            raise AuditInputError(problems[0].message, part=problems[0].part)
    truth = torch.stack([i.ground_truth for i in items]).to(device, non_blocking=True)
    restored = torch.stack([i.restored for i in items]).to(device, non_blocking=True)
    settings = StatisticSettings(
        color=options.color,
        crop=resolved.crop,
        patch_size=options.patch_size,
        patch_stride=options.patch_stride,
        detail_sigma=resolved.detail_sigma,
        map_window_sigma=options.map_window_sigma,
        extra_patch_sizes=tuple(q for q in options.patch_sizes or () if q != options.patch_size),
        # A small image has fewer distinct patch positions than the share asked for.
        knn_per_pair=min(
            knn_per_pair,
            (height - 2 * resolved.crop - options.patch_size + 1)
            * (width - 2 * resolved.crop - options.patch_size + 1),
        ),
        patch_memory_bytes=patch_memory_bytes,
    )
    degradation = None
    if known is not None:
        degradation = DegradationInputs(known.operator, [_observation(i, known) for i in items])
        if prior is not None and prior.wants():
            prior.offer(
                convert_color(truth, options.color), int(channels), [i.index for i in items]
            )
    try:
        return batch_statistics(
            truth,
            restored,
            [i.index for i in items],
            settings,
            generator,
            with_maps=with_maps,
            degradation=degradation,
            inputs=inputs,
        )
    except EstimatorInputError as error:
        raise AuditInputError(str(error), part=f"pairs[{items[0].source.id}]") from error
