"""A job's memory on the worker (issue #11, item 2): checked before running, bounded while
running, and a job that still kills its worker is not run into the out-of-memory killer again.

* Before running, the task reads the image headers (sizes, channels) and asks the cost model
  (``api_schemas.cost``, the one the API checks at submission) whether the job fits
  ``RA_MAX_JOB_MEMORY_BYTES``: a job over it fails at once with a ``resources`` problem
  naming the offending option or image, not with an out-of-memory kill. Jobs accepted before
  the budget existed, or under a larger one, land here.
* The batch size passed to the engine is ``RA_BATCH_SIZE`` lowered for large images, so that
  a batch fits the budget (``estimate_job(..., budget=...)``): sixteen 6000 x 6000 pairs run a
  couple of pairs at a time instead of sixteen.
* When even one pair does not fit, its patch statistics run in row bands (docs/theory.md 3.3:
  the lag sums are additive over bands, the report is the same to rounding): the model plans
  the band and the task passes ``Plan.patch_memory_bytes`` to the engine, so a 4096 x 4096
  RGB pair runs within a 4 GiB budget instead of needing 10 GiB.
* A pool process killed mid-task (the OOM killer, a SIGKILL) loses its job's lease; the lease
  sweeper requeues the job once (``MAX_WORKER_LOSSES``). The next loss fails the job with a
  ``resources`` problem (:func:`worker_lost_problem`) instead of another run.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import Image

from api_schemas.cost import (
    RESOURCES_SLUG,
    RESOURCES_TITLE,
    CostEstimate,
    PairShape,
    estimate_job,
    format_bytes,
    over_budget,
)
from api_schemas.jobs import JobManifest
from api_schemas.problems import PROBLEM_TYPE_BASE, Problem
from workers.settings import WorkerSettings

logger = logging.getLogger(__name__)

MAX_WORKER_LOSSES: Final = 1
"""Times a job may lose its worker mid-task (killed: out of memory, SIGKILL) and still be run
again; at the next loss it is failed with a ``resources`` problem."""
_COLOUR_MODES: Final = frozenset({"RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr"})


def image_shape(path: Path) -> tuple[int, int, int]:
    """Height, width and channels (1 grey, 3 colour) of an image from its header, no pixels
    decoded; raises what Pillow raises on a file it cannot read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            width, height = image.size
            return height, width, 3 if image.mode in _COLOUR_MODES else 1


def pair_shapes(manifest: JobManifest, input_dir: Path) -> list[PairShape] | None:
    """Size and channels of every pair from its ground truth's header (no pixels decoded);
    ``None`` when a header cannot be read (the engine then reports the bad file itself)."""
    shapes = []
    for pair in manifest.pairs:
        # A ground-truth-free job's samples have the size its truths would have.
        reference = pair.ground_truth or pair.restored
        try:
            height, width, channels = image_shape(input_dir / reference)
        except Exception as exc:  # Pillow raises anything on untrusted bytes
            logger.warning("job %s: header of %s unreadable (%s)", manifest.job_id, pair.id, exc)
            return None
        shapes.append(
            PairShape(
                height=height,
                width=width,
                channels=channels,
                group=pair.group,
                observation=pair.observation is not None,
                part=f"{'ground_truth' if pair.ground_truth else 'restored'}[{pair.id}]",
            )
        )
    return shapes


@dataclass(frozen=True)
class Plan:
    """How to run a job: the batch size and the patch statistics' memory budget (``None``:
    untiled), or the problem that fails it instead."""

    batch_size: int
    problem: dict[str, Any] | None = None
    estimate: CostEstimate | None = None
    patch_memory_bytes: int | None = None


def plan_job(
    manifest: JobManifest, input_dir: Path, settings: WorkerSettings, attempts: int = 0
) -> Plan:
    """The engine's batch size and patch memory budget for the job (the cost model's plan
    under ``RA_MAX_JOB_MEMORY_BYTES``), or a ``resources`` problem when it cannot fit
    or when it already lost its worker more than ``MAX_WORKER_LOSSES`` times (``attempts``,
    the job record's count; the sweeper normally fails such a job itself, this catches a
    redelivery that took the job over)."""
    if attempts > MAX_WORKER_LOSSES:
        return Plan(
            settings.batch_size,
            worker_lost_problem(manifest, input_dir, settings, attempts, estimate=False),
        )
    shapes = pair_shapes(manifest, input_dir)
    if shapes is None:
        return Plan(settings.batch_size)
    budget = settings.max_job_memory_bytes
    over = over_budget(shapes, manifest.options, budget, batch_size=settings.batch_size)
    if over is not None:
        return Plan(
            settings.batch_size,
            over.problem().model_dump(mode="json", exclude_none=True),
            over.estimate,
        )
    estimate = estimate_job(shapes, manifest.options, batch_size=settings.batch_size, budget=budget)
    return Plan(estimate.batch_size, None, estimate, estimate.patch_memory_bytes)


def worker_lost_problem(
    manifest: JobManifest | None,
    input_dir: Path,
    settings: WorkerSettings,
    losses: int,
    *,
    estimate: bool = True,
) -> dict[str, Any]:
    """The ``resources`` problem of a job whose worker died ``losses`` times mid-task, with
    the model's estimate when ``estimate`` and the manifest and headers are readable."""
    guess = None
    if manifest is not None and estimate:
        try:
            guess = plan_job(manifest, input_dir, settings).estimate
        except Exception as exc:  # the problem must be recorded whatever the estimate does
            logger.warning("job %s: no estimate for its problem (%s)", manifest.job_id, exc)
    budget = settings.max_job_memory_bytes
    detail = (
        f"the worker running the job died {losses} times mid-task (killed: most likely by "
        "the out-of-memory killer), so it is not run again"
    )
    if guess is not None:
        detail += (
            f"; its estimated peak was {format_bytes(guess.peak_bytes)} of the "
            f"{format_bytes(budget)} a worker may use for one job: it needed more than "
            "estimated; smaller images or fewer bootstrap resamples need less"
        )
    return Problem(
        type=PROBLEM_TYPE_BASE + RESOURCES_SLUG,
        title=RESOURCES_TITLE,
        status=500,
        detail=detail,
        estimated_memory_bytes=None if guess is None else guess.peak_bytes,
        memory_limit_bytes=budget,
    ).model_dump(mode="json", exclude_none=True)
