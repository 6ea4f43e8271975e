"""`restoration-audit audit`: audit folders of images from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from api_schemas.exit_codes import EXIT_HIGH_RISK, EXIT_OK
from api_schemas.jobs import group_name_problem, pair_id_problem
from api_schemas.options import AuditOptions
from api_schemas.presets import PRESETS
from api_schemas.report import RISK_RANK, AuditReport, Estimate, GroupReport
from cli.errors import OverBudgetError, UsageError, exit_code, refused
from workers.device import DEVICE_CHOICES, parse_device
from workers.errors import AuditInputError

if TYPE_CHECKING:
    from workers.engine import ArtifactWriter, PairSource

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class RestoredFolder:
    name: str
    path: Path


def parse_restored(value: str) -> RestoredFolder:
    """``NAME=DIR`` or a bare ``DIR`` (group "default")."""
    name, sep, path = value.partition("=")
    if not sep:
        return RestoredFolder("default", Path(value))
    if not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {value!r}")
    problem = group_name_problem(name)  # the service's rule for restorer names
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return RestoredFolder(name, Path(path))


def _images_by_stem(folder: Path, role: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise AuditInputError(f"not a directory: {folder}", part=role)
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        if path.stem in found:
            raise AuditInputError(
                f"two images share the name {path.stem!r}: {found[path.stem].name} and {path.name}",
                part=role,
            )
        found[path.stem] = path
    if not found:
        raise AuditInputError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}", part=role
        )
    return found


def match_pairs(
    ground_truth: Path, restored: Sequence[RestoredFolder], observations: Path | None
) -> list[object]:
    """Pair files by name (without extension); a file on one side only is an error naming it."""
    from workers.engine import PairSource

    truth = _images_by_stem(ground_truth, "--ground-truth")
    obs = _images_by_stem(observations, "--observations") if observations else None
    # A name given more than once means several samples of that restorer per input
    # (docs/theory.md 3.9): its folders are samples 0, 1, ... in the order given.
    sample_of: dict[int, int] = {}
    repeats: dict[str, int] = {}
    for position, folder in enumerate(restored):
        sample_of[position] = repeats.get(folder.name, 0)
        repeats[folder.name] = sample_of[position] + 1
    single_restorer = len(repeats) == 1 and len(restored) == 1
    pairs: list[object] = []
    for position, folder in enumerate(restored):
        files = _images_by_stem(folder.path, f"--restored {folder.name}")
        only_restored = sorted(set(files) - set(truth))
        only_truth = sorted(set(truth) - set(files))
        if only_restored:
            raise AuditInputError(
                f"{files[only_restored[0]].name} has no ground truth in {ground_truth}",
                part=f"--restored {folder.name}",
            )
        if only_truth:
            raise AuditInputError(
                f"{truth[only_truth[0]].name} has no restored image in {folder.path}",
                part=f"--restored {folder.name}",
            )
        sampled = repeats[folder.name] > 1
        for stem in sorted(truth):
            observation = None
            if obs is not None:
                if stem not in obs:
                    raise AuditInputError(
                        f"{truth[stem].name} has no observation in {observations}",
                        part="--observations",
                    )
                observation = obs[stem]
            pair_id = stem if single_restorer else f"{folder.name}/{stem}"
            if sampled:
                pair_id = f"{folder.name}/{stem}/{sample_of[position]}"
            problem = pair_id_problem(pair_id)  # the service's rule, so reports line up
            if problem is not None:
                raise AuditInputError(
                    f"{files[stem].name}: the file name makes {problem}; rename the file",
                    part=f"--restored {folder.name}",
                )
            pairs.append(
                PairSource(
                    pair_id,
                    folder.name,
                    truth[stem],
                    files[stem],
                    observation,
                    input=stem if sampled else None,
                    sample=sample_of[position] if sampled else None,
                    # Errors name the files, not positions in a list the user never wrote.
                    names=(
                        str(truth[stem]),
                        str(files[stem]),
                        None if observation is None else str(observation),
                    ),
                )
            )
    return pairs


class ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} pairs {rate:.1f}/s"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _with_ci(estimate: Estimate) -> str:
    """``value [low, high]`` to three significant digits (``-`` where one is missing)."""
    return f"{_fmt(estimate.value, 3)} [{_fmt(estimate.ci_low, 3)}, {_fmt(estimate.ci_high, 3)}]"


def _table(titles: Sequence[str], specs: str, rows: list[list[str]], tail: str = "") -> list[str]:
    """Lines of a fixed-width table: one format spec per column (``"<16 >5"``), one cell per
    column and row; ``tail`` is a last, free-width column's title."""
    widths = specs.split()
    header = " ".join(format(t, w) for t, w in zip(titles, widths, strict=True)) + tail
    lines = [header]
    for row in rows:
        lines.append(" ".join(format(cell, w) for cell, w in zip(row, widths, strict=True)))
    return lines


def _estimates_row(g: GroupReport) -> list[str]:
    return [
        g.name[:16],
        str(g.n_pairs),
        _fmt(g.distortion.psnr.value, 4),
        _fmt(g.distortion.ssim.value, 3),
        _with_ci(g.uncertainty.gaussian),
        _fmt(g.perception.per_dimension, 3),
        f"{_fmt(g.hallucination.invented_detail_ratio.value, 3):>8}  {g.risk.level}",
    ]


def _placement_row(g: GroupReport) -> list[str]:
    oracle = g.uncertainty_floor_ratio.value if g.uncertainty_floor_ratio else None
    return [
        g.name[:16],
        _fmt(g.inherent_uncertainty, 3),
        "-" if g.uncertainty_ratio is None else _with_ci(g.uncertainty_ratio),
        _fmt(oracle, 3),
        f"{_fmt(g.min_perception_index, 3):>8}  {g.up_region or '-'}",
    ]


def _samples_row(g: GroupReport) -> list[str]:
    s = g.samples
    assert s is not None
    c = s.interval_coverage
    return [
        g.name[:16],
        str(s.per_input),
        _fmt(s.spread.value, 3),
        _with_ci(s.error_to_spread_ratio),
        "-" if c is None else f"{c.coverage:.3f} at {c.level:g}",
    ]


def summary_table(report: AuditReport) -> str:
    """A short human summary: one line per restorer, then the placement against the bound
    and the samples' spread for the restorers that have them, then the risk reasons."""
    groups = report.groups
    titles = ["restorer", "pairs", "PSNR", "SSIM", "uncertainty [CI]", "P/d", "invented"]
    rows = [_estimates_row(g) for g in groups]
    lines = _table(titles, "<16 >5 >7 >6 >26 >8 >8", rows, tail="  risk")
    lines.insert(1, "-" * len(lines[0]))
    known = [g for g in groups if g.inherent_uncertainty is not None]
    if known:
        titles = ["restorer", "N(X|Y)", "ratio U/N [CI]", "oracle r", "P_min"]
        tail = "  place against the Gaussian-oracle frontier"
        rows = [_placement_row(g) for g in known]
        lines += ["", *_table(titles, "<16 >10 >22 >8 >8", rows, tail)]
    sampled = [g for g in groups if g.samples is not None]
    if sampled:
        titles = ["restorer", "K", "spread", "error/spread [CI]", "coverage"]
        rows = [_samples_row(g) for g in sampled]
        lines += ["", *_table(titles, "<16 >3 >10 >24 >14", rows)]
    lines += [f"  {g.name}: {reason}" for g in groups for reason in g.risk.reasons]
    return "\n".join(lines)


_HELP = "audit restored images against ground truth and write the JSON report"
_DESCRIPTION = (
    "Pair the images of --ground-truth with those of each --restored folder by file "
    "name, run every estimator, print a summary and write the full JSON report."
)


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help=_HELP, description=_DESCRIPTION)
    p.add_argument(
        "--ground-truth",
        type=Path,
        metavar="DIR",
        help="folder of ground-truth images; without it, the ground-truth-free audit of "
        "several samples per input (needs --observations and --degradation: spread, N(X|Y) "
        "from the spread, measurement residual, per-pixel maps)",
    )
    p.add_argument(
        "--restored",
        required=True,
        action="append",
        type=parse_restored,
        metavar="NAME=DIR",
        help="a restorer's outputs (repeat for several restorers); the same NAME again adds "
        "another sample of that restorer per input (stochastic restorers: spread, "
        "error-to-spread ratio, per-pixel intervals)",
    )
    p.add_argument(
        "--observations",
        type=Path,
        metavar="DIR",
        help="folder of degraded observations, matched by name",
    )
    p.add_argument(
        "--degradation",
        metavar="SPEC",
        help="known degradation, e.g. downsample:4:bicubic or a JSON object",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="a measurement convention of the field, echoed in the report: "
        + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()),
    )
    p.add_argument(
        "--color",
        choices=["y", "y_full", "rgb"],
        default=None,
        help="statistics on luma (y: MATLAB rgb2ycbcr, the default; y_full: BT.601) or RGB",
    )
    p.add_argument(
        "--patch-size",
        type=int,
        default=8,
        metavar="N",
        help="side of the patches whose statistics are taken (d = C N^2; default 8)",
    )
    p.add_argument(
        "--patch-sizes",
        default=None,
        metavar="N,N,...",
        help="dimension sweep: also take every patch statistic at these sizes, e.g. 4,6,8 "
        "(report: by_patch_size; plot: up_plane_by_patch_size)",
    )
    p.add_argument(
        "--patch-stride",
        type=int,
        default=1,
        metavar="N",
        help="step between patch positions (default 1: every position)",
    )
    p.add_argument(
        "--crop-border",
        type=int,
        default=None,
        metavar="N",
        help="pixels cropped from every side (default: the SR factor, else 0)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        metavar="R",
        help="bootstrap resamples over pairs (0 disables intervals)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the bootstrap and of the nearest-neighbour subsample",
    )
    p.add_argument("--device", default="auto", help=DEVICE_CHOICES)
    p.add_argument(
        "--batch-size",
        type=int,
        default=16,
        metavar="N",
        help="pairs per device batch (bounds memory)",
    )
    p.add_argument(
        "--max-memory",
        type=memory_size,
        default=None,
        metavar="SIZE",
        help="peak memory the audit may need, e.g. 4GiB or 512MiB (the worker's "
        "RA_MAX_JOB_MEMORY_BYTES rule): fewer pairs per batch, then the patch statistics in "
        "row bands (exact); a job that cannot fit even so exits 5. Default: no budget",
    )
    p.add_argument(
        "--options",
        type=Path,
        metavar="FILE",
        help="JSON file of audit options (command-line flags override it)",
    )
    p.add_argument("--maps", type=Path, metavar="DIR", help="write hallucination-map PNGs here")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the JSON report")
    p.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write one row per pair (PSNR, SSIM, uncertainty, perception, invented detail, "
        "verdict) as CSV, the columns of GET /v1/jobs/{id}/pairs.csv",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write the report as one self-contained HTML page (no network needed to view it): "
        "summary, per-restorer estimates with intervals, verdicts, the UP/DP plots, pairs by "
        "risk with thumbnails; their heat maps too when --maps DIR is given",
    )
    p.add_argument(
        "--html-thumbnails",
        type=int,
        default=12,
        metavar="N",
        help="riskiest pairs shown with thumbnails in the --html page (default 12; the "
        "others are table rows)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    p.add_argument(
        "--fail-on",
        choices=["high", "medium"],
        default=None,
        help="exit 1 when any restorer's risk reaches this level",
    )


def memory_size(text: str) -> int:
    """``--max-memory``: bytes, with a unit or without (``4GiB``, ``512MiB``, ``4gb``; pydantic's
    ``ByteSize`` rules), more than zero."""
    from pydantic import ByteSize, TypeAdapter, ValidationError

    try:
        value = int(TypeAdapter(ByteSize).validate_python(text))
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 4GiB, 512MiB or a number of bytes, got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a size above zero, got {text!r}")
    return value


@dataclass(frozen=True)
class MemoryPlan:
    """How the audit runs under ``--max-memory``: what the worker would choose
    (``api_schemas.cost``) from the image headers."""

    batch_size: int
    patch_memory_bytes: int | None = None
    note: str | None = None
    """One line for the user when the plan changed something."""


def plan_memory(
    pairs: Sequence[PairSource], options: AuditOptions, batch_size: int, budget: int | None
) -> MemoryPlan:
    """The batch size and patch memory budget under ``budget`` bytes (``None``: no plan);
    raises :class:`OverBudgetError` when even one pair per batch with banded patch
    statistics does not fit. A header that cannot be read skips the plan: the audit then
    names the bad file itself."""
    if budget is None:
        return MemoryPlan(batch_size)
    from api_schemas.cost import PairShape, estimate_job, format_bytes, over_budget
    from workers.tasks.resources import image_shape

    shapes = []
    for pair in pairs:
        if not isinstance(pair.ground_truth, Path):
            return MemoryPlan(batch_size)
        try:
            height, width, channels = image_shape(pair.ground_truth)
        except Exception:  # Pillow raises anything on a bad file; run_audit reports it
            return MemoryPlan(batch_size)
        shapes.append(
            PairShape(
                height,
                width,
                channels,
                group=pair.group,
                observation=pair.observation is not None,
                part=pair.part("ground_truth"),
            )
        )
    over = over_budget(shapes, options, budget, batch_size=batch_size)
    if over is not None:
        named = "; ".join(f"{part}: {message}" for part, message in over.errors)
        raise OverBudgetError(f"--max-memory {format_bytes(budget)}: {over.detail}. {named}")
    estimate = estimate_job(shapes, options, batch_size=batch_size, budget=budget)
    note = None
    if estimate.batch_size < batch_size or estimate.band_rows is not None:
        bands = ""
        if estimate.band_rows is not None:
            bands = f", patch statistics in row bands of {estimate.band_rows} rows"
        note = (
            f"memory plan: {estimate.batch_size} pair(s) per batch{bands}, about "
            f"{format_bytes(estimate.peak_bytes)} at the peak of the {format_bytes(budget)} "
            "allowed"
        )
    return MemoryPlan(estimate.batch_size, estimate.patch_memory_bytes, note)


def device_option(text: str) -> str:
    """``--device`` checked by the rule workers' ``RA_DEVICE`` follows (``workers.device``)."""
    try:
        return parse_device(text)
    except ValueError as error:
        raise UsageError(f"--device: {error}") from None


def read_options_file(path: Path) -> Any:
    """The JSON of an ``--options`` file (audit and self-check), or a usage error naming it."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"--options: cannot read {path}: {error}") from error


def _options(args: argparse.Namespace) -> AuditOptions:
    base: dict[str, object] = {}
    if args.options is not None:
        base = read_options_file(args.options)
    # Colour, crop and preset only when given: a preset refuses an explicit colour or crop
    # that contradicts it, and the options file keeps its own otherwise.
    explicit = {"color": args.color, "crop_border": args.crop_border, "preset": args.preset}
    base.update({name: value for name, value in explicit.items() if value is not None})
    base.update(
        patch_size=args.patch_size,
        patch_stride=args.patch_stride,
        bootstrap={"resamples": args.bootstrap, "seed": args.seed, **(base.get("bootstrap") or {})},  # type: ignore[dict-item]
    )
    if args.degradation:
        base["degradation"] = _parse_degradation(args.degradation)
    if args.patch_sizes:
        try:
            base["patch_sizes"] = [int(x) for x in args.patch_sizes.split(",") if x.strip()]
        except ValueError as error:
            raise UsageError(
                f"--patch-sizes: expected integers separated by commas, got {args.patch_sizes!r}"
            ) from error
    from pydantic import ValidationError

    try:
        return AuditOptions.model_validate(base)
    except ValidationError as error:
        raise refused(error) from error


def _parse_degradation(text: str) -> dict[str, object]:
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"--degradation: invalid JSON: {error}") from error
        if not isinstance(value, dict):
            raise UsageError("--degradation: expected a JSON object")
        return value
    try:
        from api_schemas.degradation import parse_degradation_short
    except ImportError as error:  # pragma: no cover - the module ships with the package
        raise UsageError("--degradation: short forms are not supported by this build") from error
    try:
        spec = parse_degradation_short(text)
    except ValueError as error:
        raise UsageError(f"--degradation: {error}") from error
    dumped: dict[str, object] = spec.model_dump(mode="json")
    return dumped


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_html(
    path: Path,
    report: AuditReport,
    pairs: Sequence[object],
    args: argparse.Namespace,
    patch_size: int,
) -> None:
    """Write the HTML page; it always shows the UP/DP plots. Without ``--maps DIR`` (or with
    ``maps`` false) the audit wrote none, so they are drawn here for the page only (the JSON
    report keeps no links to files that do not exist)."""
    if report.plots:
        _write_atomically(path, html_page(report, pairs, args.ground_truth, args.html_thumbnails))
        return
    import tempfile

    from workers.engine import ArtifactWriter
    from workers.engine.artifacts import render_plots

    with tempfile.TemporaryDirectory(prefix="restoration-audit-plots-") as scratch:
        folder = Path(scratch)

        def write(name: str, data: bytes) -> None:
            (folder / name).write_bytes(data)

        writer = ArtifactWriter(write=write, url_for=lambda name: str(folder / name))
        plots = render_plots(report.groups, writer, patch_size)
        page_report = report.model_copy(update={"plots": plots})
        page = html_page(page_report, pairs, args.ground_truth, args.html_thumbnails)
    _write_atomically(path, page)


def html_page(
    report: AuditReport, pairs: Sequence[object], ground_truth: Path, thumbnails: int
) -> str:
    """The report as a self-contained HTML page, with thumbnails of the restored files and
    the maps and plots that ``--maps`` wrote (their links are file paths)."""
    from reporting.html import ReportImages, render_report_html
    from workers.engine import PairSource

    restored = {
        pair.id: pair.restored
        for pair in pairs
        if isinstance(pair, PairSource) and isinstance(pair.restored, Path)
    }

    def restored_path(pair_id: str) -> Path | None:
        path = restored.get(pair_id)
        return path if path is not None and path.is_file() else None

    def artifact_path(link: str) -> Path | None:
        path = Path(link)
        return path if path.is_file() else None

    return render_report_html(
        report,
        ReportImages(artifact=artifact_path, restored=restored_path),
        heading="Restoration audit report",
        context=[("ground truth", str(ground_truth))],
        thumbnails=thumbnails,
    )


def _map_writer(maps_dir: Path | None) -> ArtifactWriter | None:
    """Artifacts written as files under ``--maps DIR`` (links are their paths), or None."""
    from workers.engine import ArtifactWriter

    if maps_dir is None:
        return None
    maps_dir.mkdir(parents=True, exist_ok=True)

    def write(name: str, data: bytes) -> None:
        (maps_dir / name).write_bytes(data)

    return ArtifactWriter(write=write, url_for=lambda name: str(maps_dir / name))


def run_audit_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Execute ``audit``; returns the exit code."""
    from workers.engine import run_audit

    if args.html_thumbnails < 0:
        raise UsageError(f"--html-thumbnails: expected N >= 0, got {args.html_thumbnails}")
    device_option(args.device)
    options = _options(args)
    if args.ground_truth is None:
        return run_ground_truth_free_command(args, options, stdout)
    pairs = match_pairs(args.ground_truth, args.restored, args.observations)
    plan = plan_memory(pairs, options, args.batch_size, args.max_memory)  # type: ignore[arg-type]
    if plan.note is not None and not args.quiet and not args.json:
        stderr.write(plan.note + "\n")
    artifacts = _map_writer(args.maps)
    bar = ProgressBar(stderr, enabled=not args.quiet and not args.json)
    report = run_audit(
        pairs,  # type: ignore[arg-type]
        options,
        device=args.device,
        progress=bar,
        artifacts=artifacts,
        batch_size=plan.batch_size,
        patch_memory_bytes=plan.patch_memory_bytes,
    )
    document = report.model_dump_json(indent=2)
    if args.output is not None:
        _write_atomically(args.output, document + "\n")
    if args.csv is not None:
        from reporting.pairs_csv import pairs_csv

        _write_atomically(args.csv, pairs_csv(report))
    if args.html is not None:
        _write_html(args.html, report, pairs, args, options.patch_size)
    if args.json:
        stdout.write(document + "\n")
    elif not args.quiet:
        stdout.write(summary_table(report) + "\n")
        if args.output is not None:
            stdout.write(f"report written to {args.output}\n")
        if args.csv is not None:
            stdout.write(f"per-pair CSV written to {args.csv}\n")
        if args.html is not None:
            stdout.write(f"HTML report written to {args.html}\n")
    if args.fail_on is not None:
        threshold = RISK_RANK[args.fail_on]
        if any(RISK_RANK[g.risk.level] >= threshold for g in report.groups):
            return EXIT_HIGH_RISK
    return EXIT_OK


def sampled_inputs(restored: Sequence[RestoredFolder], observations: Path) -> list[object]:
    """Group each restorer's folders (its samples) by file name, with the observation of the
    same name; a file missing from a sample folder or the observations is an error naming it."""
    from workers.engine.gtfree import SampledInput

    obs = _images_by_stem(observations, "--observations")
    folders: dict[str, list[Path]] = {}
    for folder in restored:
        folders.setdefault(folder.name, []).append(folder.path)
    inputs: list[object] = []
    for name, paths in folders.items():
        if len(paths) < 2:
            raise UsageError(
                f"--restored {name}: without --ground-truth every restorer needs at least two "
                "sample folders (give the same NAME again)"
            )
        files = [_images_by_stem(path, f"--restored {name}") for path in paths]
        for path, found in zip(paths, files, strict=True):
            missing = sorted(set(obs) - set(found))
            if missing:
                raise AuditInputError(
                    f"{obs[missing[0]].name} has no restored image in {path}",
                    part=f"--restored {name}",
                )
            extra = sorted(set(found) - set(obs))
            if extra:
                raise AuditInputError(
                    f"{found[extra[0]].name} has no observation in {observations}",
                    part=f"--restored {name}",
                )
        for stem in sorted(obs):
            inputs.append(SampledInput(name, stem, [f[stem] for f in files], obs[stem]))
    return inputs


def run_ground_truth_free_command(
    args: argparse.Namespace, options: AuditOptions, stdout: TextIO
) -> int:
    """``audit`` without ``--ground-truth`` (docs/theory.md 3.9): samples, observations and the
    degradation only; the report names the evidence that needs ground truth."""
    from workers.engine.gtfree import run_ground_truth_free

    if args.observations is None or options.degradation is None:
        raise UsageError(
            "without --ground-truth, give --observations and --degradation (the "
            "ground-truth-free audit of several samples per input)"
        )
    if args.html is not None:
        raise UsageError("--html: the HTML page needs --ground-truth (not yet drawn without it)")
    if args.csv is not None:
        raise UsageError("--csv: the per-pair table needs --ground-truth (pairs are its rows)")
    if args.max_memory is not None:  # not silently ignored: nothing plans this audit's memory
        raise UsageError(
            "--max-memory: the ground-truth-free audit is not planned under a budget yet"
        )
    inputs = sampled_inputs(args.restored, args.observations)
    artifacts = _map_writer(args.maps)
    report = run_ground_truth_free(inputs, options, artifacts)  # type: ignore[arg-type]
    document = report.model_dump_json(indent=2)
    if args.output is not None:
        _write_atomically(args.output, document + "\n")
    if args.json:
        stdout.write(document + "\n")
    elif not args.quiet:
        for group in report.groups:
            residual = group.measurement_residual.value if group.measurement_residual else None
            stdout.write(
                f"{group.name}: {group.n_inputs} inputs x {group.per_input} samples, "
                f"spread {_fmt(group.spread.value)} (= N(X|Y) only for a calibrated sampler), "
                f"measurement residual {_fmt(residual)} vs noise {_fmt(group.noise_variance)}\n"
            )
        stdout.write("no ground truth: missing " + "; ".join(report.groups[0].missing_evidence))
        stdout.write("\n")
    return EXIT_OK


def main_audit(args: argparse.Namespace) -> int:
    """Run ``audit`` with errors turned into one line and an exit code."""
    return exit_code(lambda: run_audit_command(args, sys.stdout, sys.stderr), (AuditInputError,))
