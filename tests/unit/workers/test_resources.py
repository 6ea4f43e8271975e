"""The worker's side of the memory budget (workers/tasks/resources.py, issue #11, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from api_schemas.cost import GIB, MIB, PairShape, estimate_job
from api_schemas.jobs import JobManifest, ManifestPair
from api_schemas.options import AuditOptions
from tests.support.reports import assert_same_report
from tests.support.sample_pairs import crops, degrade
from workers.engine import run_audit
from workers.settings import WorkerSettings
from workers.tasks.audit import pair_sources
from workers.tasks.resources import (
    MAX_WORKER_LOSSES,
    pair_shapes,
    plan_job,
    worker_lost_problem,
)


def _job(root: Path, sides: list[int], options: dict[str, Any] | None = None) -> JobManifest:
    pairs = []
    for i, side in enumerate(sides):
        image = Image.fromarray(np.zeros((side, side, 3), dtype=np.uint8))
        image.save(root / f"gt{i}.png")
        image.save(root / f"rs{i}.png")
        pairs.append(ManifestPair(id=f"p{i}", ground_truth=f"gt{i}.png", restored=f"rs{i}.png"))
    return JobManifest(
        job_id="0" * 32,
        tenant="local",
        created_at=datetime.now(UTC),
        options=AuditOptions.model_validate(options or {}),
        pairs=pairs,
    )


def test_shapes_come_from_the_headers(tmp_path: Path) -> None:
    manifest = _job(tmp_path, [32, 48])
    shapes = pair_shapes(manifest, tmp_path)
    assert shapes is not None
    assert [(s.height, s.width, s.channels, s.part) for s in shapes] == [
        (32, 32, 3, "ground_truth[p0]"),
        (48, 48, 3, "ground_truth[p1]"),
    ]


def test_unreadable_header_skips_the_check(tmp_path: Path) -> None:
    manifest = _job(tmp_path, [32])
    (tmp_path / "gt0.png").write_bytes(b"not an image")
    assert pair_shapes(manifest, tmp_path) is None
    assert plan_job(manifest, tmp_path, WorkerSettings(batch_size=7)).batch_size == 7


def test_a_job_within_the_budget_runs_at_the_worker_batch_size(tmp_path: Path) -> None:
    plan = plan_job(_job(tmp_path, [64, 64]), tmp_path, WorkerSettings(batch_size=16))
    assert plan.problem is None
    assert plan.batch_size == 16
    assert plan.estimate is not None
    assert plan.estimate.peak_bytes < GIB


def test_large_images_run_fewer_pairs_per_batch(tmp_path: Path) -> None:
    settings = WorkerSettings(batch_size=16, max_job_memory_bytes=1 * GIB)
    plan = plan_job(_job(tmp_path, [1024] * 4), tmp_path, settings)
    assert plan.problem is None
    assert 1 <= plan.batch_size < 16
    assert plan.estimate is not None
    assert plan.estimate.peak_bytes <= 1 * GIB


def test_a_job_over_the_budget_fails_with_a_resources_problem(tmp_path: Path) -> None:
    options = {"color": "rgb", "degradation": {"type": "downsample", "factor": 16}}
    plan = plan_job(_job(tmp_path, [128], options), tmp_path, WorkerSettings())
    assert plan.problem is not None
    assert plan.problem["type"].endswith("/resources")
    assert plan.problem["status"] == 422
    assert plan.problem["errors"][0]["part"] == "options.degradation"
    assert plan.problem["estimated_memory_bytes"] > plan.problem["memory_limit_bytes"]


def test_pixels_over_the_budget_are_a_413_naming_the_pair(tmp_path: Path) -> None:
    settings = WorkerSettings(max_job_memory_bytes=400 * MIB)
    plan = plan_job(_job(tmp_path, [64, 700]), tmp_path, settings)
    assert plan.problem is not None
    assert plan.problem["status"] == 413
    assert plan.problem["errors"][0]["part"] == "ground_truth[p1]"


def test_a_job_taken_over_after_too_many_losses_is_not_run(tmp_path: Path) -> None:
    manifest = _job(tmp_path, [64])
    settings = WorkerSettings()
    assert plan_job(manifest, tmp_path, settings, MAX_WORKER_LOSSES).problem is None
    plan = plan_job(manifest, tmp_path, settings, MAX_WORKER_LOSSES + 1)
    assert plan.problem is not None
    assert plan.problem["type"].endswith("/resources")
    assert "died 2 times" in plan.problem["detail"]


def test_worker_lost_problem_carries_the_estimate_when_it_can(tmp_path: Path) -> None:
    manifest = _job(tmp_path, [64])
    settings = WorkerSettings()
    problem = worker_lost_problem(manifest, tmp_path, settings, 2)
    assert problem["status"] == 500
    assert problem["memory_limit_bytes"] == settings.max_job_memory_bytes
    assert 0 < problem["estimated_memory_bytes"] < settings.max_job_memory_bytes
    assert "out-of-memory" in problem["detail"]
    bare = worker_lost_problem(None, tmp_path, settings, 2)
    assert "estimated_memory_bytes" not in bare


def test_a_pair_too_large_untiled_runs_in_bands_and_gives_the_same_report(
    tmp_path: Path,
) -> None:
    # Issue 15 item 2, at the worker's plan: a budget just under the untiled estimate makes
    # plan_job band the patch statistics, and the audit run as the task runs it (batch size
    # and patch budget from the plan) gives the untiled report to rounding (docs/theory.md
    # 3.3: the lag sums are additive over bands). A small photo keeps it fast; the exactness
    # of the bands themselves is tested in tests/unit/workers/estimators/test_patches.py.
    side = 192
    root = tmp_path / "job"
    root.mkdir()
    truth = crops(1, side, seed=3)[0]
    Image.fromarray(truth).save(root / "gt0.png")
    Image.fromarray(degrade(truth, "noise", seed=3)).save(root / "rs0.png")
    options = AuditOptions(color="rgb")
    manifest = JobManifest(
        job_id="0" * 32,
        tenant="local",
        created_at=datetime.now(UTC),
        options=options,
        pairs=[ManifestPair(id="p0", ground_truth="gt0.png", restored="rs0.png")],
    )
    untiled = estimate_job([PairShape(side, side, 3)], options)
    settings = WorkerSettings(max_job_memory_bytes=untiled.peak_bytes - 1)
    plan = plan_job(manifest, root, settings)
    assert plan.problem is None
    assert plan.patch_memory_bytes is not None
    assert plan.estimate is not None
    assert plan.estimate.band_rows is not None
    assert plan.estimate.band_rows < side - options.patch_size + 1
    assert plan.estimate.peak_bytes <= settings.max_job_memory_bytes
    sources = pair_sources(manifest, root)
    whole = run_audit(sources, options, device="cpu")
    banded = run_audit(
        sources,
        options,
        device="cpu",
        batch_size=plan.batch_size,
        patch_memory_bytes=plan.patch_memory_bytes,
    )
    assert_same_report(whole, banded)
