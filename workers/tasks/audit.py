"""The audit task: ``audit.run(job_id)`` audits one job from the payload store.

Thin by design (STYLE.md section 5): the message carries the job id only; inputs come from the
payload store, the maths from ``workers.engine.run_audit`` (or, for a job without ground truth,
``workers.engine.gtfree.run_ground_truth_free``, under the same lease, progress, cancel and
outcomes), the state goes to ``jobstore``.

Delivery is at least once, so the task is idempotent: ``records.try_start`` takes the job only
when it is queued or its previous holder's lease expired, and every later transition is
conditional on holding the lease. A second delivery of a job that is running, finished or
cancelled returns at once and leaves one result.

Outcomes:

* report written atomically, then ``finish(succeeded)``;
* ``AuditInputError``: ``finish(failed)`` with a 422 problem naming the offending part;
* ``AuditCancelledError`` after a cancel request: ``mark_cancelled`` (the acknowledgement:
  until then the job stays running with ``cancel_requested`` and its lease is renewed, so the
  sweeper never cancels a job whose worker is still computing);
* the job no longer ours (lease taken over, job gone): stop quietly (``lost``). Before every
  write to the payload store the worker checks it still holds the job, and the store refuses
  to write for a deleted job, so nothing is ever written for a job deleted meanwhile;
* soft time limit: ``finish(failed)`` with a "time limit" problem;
* any other exception inside the audit: ``finish(failed)`` with a 500 problem, no retry;
* the object store unreachable (``StoreUnavailableError``): handled as Redis unreachable
  below (a retry, or the sweeper's requeue once the lease ran out);
* Redis unreachable: progress and cancel checks are best effort during the audit, so a short
  blip costs nothing; at start or finish ``redis.ConnectionError`` (a named transient error) is
  retried with exponential backoff, and when even the retry cannot be published (Redis is the
  broker too) the job's lease runs out and the sweeper requeues it.

A crash of the pool child is handled by Celery (acks late + reject on worker lost); a whole
worker lost is handled by the lease sweeper (``workers.sweeper``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import redis
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from numpy.typing import NDArray

from api_schemas.jobs import JobManifest
from api_schemas.problems import JOB_PROBLEMS, ProblemError
from api_schemas.report import AuditReport, GroundTruthFreeReport
from api_schemas.tasks import AUDIT_TASK
from jobstore import JobNotFoundError, StoreUnavailableError, is_valid_job_id
from observability.telemetry import Telemetry
from workers.callbacks import wake as wake_webhook
from workers.engine import ArtifactWriter, PairSource, run_audit
from workers.engine.gtfree import run_ground_truth_free
from workers.errors import AuditCancelledError, AuditInputError
from workers.settings import get_settings
from workers.sources import fetch_sources
from workers.stores import Stores, stores
from workers.tasks.lease import JobLostError, LeaseKeeper
from workers.tasks.resources import plan_job
from workers.tasks.sampled import ground_truth_free_inputs

logger = logging.getLogger(__name__)

M = TypeVar("M")

MAX_RETRIES = 5
"""Retries of a job after a transient Redis error before the message is dropped."""


def input_problem(err: AuditInputError) -> dict[str, Any]:
    """The 422 problem of a job whose input cannot be audited."""
    part = err.part or "input"
    return JOB_PROBLEMS.INVALID_INPUT.problem(
        str(err), errors=[ProblemError(part=part, message=err.reason)]
    )


def observe_finished(stores: Stores, job_id: str) -> None:
    """Count a job this worker just finished in the job histograms, and what it stores in its
    tenant's stored bytes (best effort: neither must fail a job whose result is recorded)."""
    try:
        record = stores.records.get(job_id)
        if record is not None and record.finished:
            stores.telemetry.record_finished(record)
    except redis.RedisError as exc:
        logger.warning("job %s: metrics not recorded (%s)", job_id, exc)
    record_stored_bytes(stores, job_id)
    wake_webhook(stores.records, job_id)


def record_stored_bytes(stores: Stores, job_id: str) -> None:
    """Set the bytes the job keeps in the payload store (inputs, report, maps) in its tenant's
    usage, which the API checks against the tenant's quota at the next submission."""
    try:
        stored = stores.payloads.stored_bytes(job_id)
        stores.stored_bytes.set_job_bytes(job_id, stored)
    except (redis.RedisError, OSError, StoreUnavailableError) as exc:
        logger.warning("job %s: stored bytes not recorded (%s)", job_id, exc)
    stores.payloads.discard_local(job_id)


class PairMeter:
    """The engine's progress callback's clock: pairs done since the last call, and how long
    they took (decoding, estimators and maps of that batch), recorded for ``/metrics``."""

    def __init__(self, telemetry: Telemetry, job_id: str) -> None:
        self.telemetry = telemetry
        self.job_id = job_id
        self.done = 0
        self.since = time.monotonic()

    def update(self, done: int) -> None:
        """``done`` pairs of the job are finished in all."""
        now = time.monotonic()
        pairs, seconds = done - self.done, now - self.since
        self.done, self.since = done, now
        try:
            self.telemetry.record_pairs(pairs, seconds)
        except redis.RedisError as exc:
            logger.warning("job %s: pair metrics not recorded (%s)", self.job_id, exc)


def pair_sources(manifest: JobManifest, input_dir: Path) -> list[PairSource]:
    """The engine's pairs of a job with ground truth: the manifest's pairs, their files under
    ``input_dir``."""
    return [
        PairSource(
            id=p.id,
            group=p.group,
            ground_truth=input_dir / p.ground_truth,
            restored=input_dir / p.restored,
            observation=None if p.observation is None else input_dir / p.observation,
            input=p.input,
            sample=p.sample,
        )
        for p in manifest.pairs
        if p.ground_truth is not None  # all of them, or none (a ground-truth-free job)
    ]


def new_worker_id() -> str:
    """A worker id unique to this attempt (host, process and a random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def audit_job(job_id: str, stores: Stores, worker_id: str | None = None) -> str:
    """Audit one job; returns the outcome (``skipped``, ``succeeded``, ``failed``, ...).

    Raises:
        redis.ConnectionError: Redis could not be reached (the task retries).
    """
    records, payloads, settings = stores.records, stores.payloads, stores.settings
    worker_id = worker_id or new_worker_id()
    lease = settings.lease_seconds
    manifest = take_job(stores, job_id, worker_id, payloads.read_manifest, "job", "manifest")
    if isinstance(manifest, str):
        return manifest
    input_dir = payloads.input_dir(job_id)
    keeper = LeaseKeeper(records, job_id, worker_id, lease)

    if any(p.sources is not None for p in manifest.pairs):
        # Inputs by reference: fetched here, never through the broker, under the job's lease
        # (a slow source must not let the sweeper take the job over).
        with keeper:
            try:
                fetch_sources(manifest, input_dir, settings, before_write=keeper.check_held)
            except JobLostError as exc:
                logger.warning("job %s: stopped, no longer ours (%s)", job_id, exc)
                return "lost"
            except AuditInputError as err:
                return _failed(stores, job_id, worker_id, input_problem(err))
        keeper = LeaseKeeper(records, job_id, worker_id, lease)  # a thread starts only once
    record = records.get(job_id)
    plan = plan_job(manifest, input_dir, settings, record.attempts if record else 0)
    if plan.problem is not None:  # over the memory budget, or its worker kept dying
        logger.error("job %s: %s", job_id, plan.problem.get("detail"))
        return _failed(stores, job_id, worker_id, plan.problem)

    def write_artifact(name: str, data: bytes) -> None:
        keeper.checked(lambda: payloads.write_artifact(job_id, name, data))

    def write_artifact_pixels(name: str, pixels: NDArray[np.uint8]) -> None:
        keeper.checked(lambda: payloads.write_artifact_pixels(job_id, name, pixels))

    writer = ArtifactWriter(
        write=write_artifact,
        url_for=lambda name: f"/v1/jobs/{job_id}/artifacts/{name}",
        write_pixels=write_artifact_pixels,  # maps are PNG-encoded on first download
    )

    meter = PairMeter(stores.telemetry, job_id)

    def progress(done: int, total: int) -> None:
        meter.update(done)
        # Best effort: a Redis blip must not throw away the audit (the lease covers real loss).
        try:
            records.set_progress(job_id, worker_id, done, total)
        except redis.RedisError as exc:
            logger.warning("job %s: progress not recorded (%s)", job_id, exc)

    def run_engine() -> AuditReport | GroundTruthFreeReport:
        if manifest.ground_truth_free:
            return run_ground_truth_free(
                ground_truth_free_inputs(manifest, input_dir),
                manifest.options,
                writer,
                progress=progress,
                should_cancel=keeper.should_stop(),
                limits=settings.image_limits,
            )
        return run_audit(
            pair_sources(manifest, input_dir),
            manifest.options,
            device=settings.device,
            progress=progress,
            should_cancel=keeper.should_stop(),
            artifacts=writer,
            batch_size=plan.batch_size,
            patch_memory_bytes=plan.patch_memory_bytes,
            max_pixels=settings.max_pixels_per_image,
            max_compression_ratio=settings.max_compression_ratio,
        )

    with keeper:
        try:
            report = run_engine()
        except JobLostError as exc:
            logger.warning("job %s: stopped, no longer ours (%s)", job_id, exc)
            return "lost"
        except AuditInputError as err:
            return _failed(stores, job_id, worker_id, input_problem(err))
        except AuditCancelledError:
            if keeper.lost.is_set():
                return "lost"
            if not records.mark_cancelled(job_id, worker_id):
                logger.warning("job %s: cancel not recorded, no longer ours", job_id)
                return "lost"
            logger.info("job %s: cancelled at a batch boundary", job_id)
            observe_finished(stores, job_id)
            return "cancelled"
        except SoftTimeLimitExceeded:
            detail = f"the audit ran past the time limit of {settings.soft_time_limit} s"
            return _failed(stores, job_id, worker_id, JOB_PROBLEMS.TIME_LIMIT.problem(detail))
        except (redis.ConnectionError, StoreUnavailableError):
            raise  # transient: the task retries once the lease ran out (below)
        except Exception as exc:
            logger.exception("job %s: audit failed", job_id)
            detail = f"the audit failed: {type(exc).__name__}"
            return _failed(stores, job_id, worker_id, JOB_PROBLEMS.INTERNAL.problem(detail))
        try:
            keeper.checked(lambda: payloads.write_report(job_id, report.model_dump_json().encode()))
        except JobLostError as exc:
            logger.warning("job %s: report not written, no longer ours (%s)", job_id, exc)
            return "lost"
        finished = _finish(stores, job_id, worker_id, "succeeded")
    if finished:  # one line per job done, whichever worker did it (the scale-out test counts)
        logger.info("job %s: succeeded, report recorded", job_id)
    return "succeeded" if finished else "lost"


def take_job(
    stores: Stores,
    job_id: str,
    worker_id: str,
    read: Callable[[str], M],
    kind: str,
    what: str,
) -> M | Literal["skipped", "failed"]:
    """Take the job (``records.try_start``) and read what it asks with ``read`` (its manifest);
    the outcome instead when it is not startable (``skipped``) or ``read`` fails (``failed``,
    recorded with a missing-input problem: missing, corrupt or unreadable).

    ``kind`` and ``what`` name the job and what was read in the log and the problem.
    """
    if not stores.records.try_start(job_id, worker_id, stores.settings.lease_seconds):
        logger.info("%s %s: not startable (finished, cancelled or held); skipped", kind, job_id)
        return "skipped"
    try:
        return read(job_id)
    except (JobNotFoundError, ValueError, OSError) as exc:
        logger.error("%s %s: %s unusable: %s", kind, job_id, what, exc)
        detail = f"the {kind}'s {what} is missing or unreadable ({type(exc).__name__})"
        return _failed(stores, job_id, worker_id, JOB_PROBLEMS.MISSING_INPUT.problem(detail))


def _failed(
    stores: Stores, job_id: str, worker_id: str, error: dict[str, Any]
) -> Literal["failed"]:
    """Finish the job as failed with ``error`` (a problem); the outcome ``failed``."""
    _finish(stores, job_id, worker_id, "failed", error)
    return "failed"


def _finish(
    stores: Stores,
    job_id: str,
    worker_id: str,
    state: Literal["succeeded", "failed"],
    error: dict[str, Any] | None = None,
) -> bool:
    """``records.finish``, and the job counted in the metrics when this call finished it."""
    finished = stores.records.finish(job_id, worker_id, state, error)
    if finished:
        observe_finished(stores, job_id)
    return finished


@shared_task(  # type: ignore[untyped-decorator]  # celery ships no stubs
    name=AUDIT_TASK, bind=True, acks_late=True, ignore_result=True
)
def run(self: Task[Any, Any], job_id: str) -> str:
    """Audit the job ``job_id`` (the message's only argument), or run it when it is a
    self-check."""
    if not isinstance(job_id, str) or not is_valid_job_id(job_id):
        logger.error("audit.run: rejecting a malformed job id %r", job_id)
        return "rejected"
    try:
        # A self-check is a job of its own kind sent as this task, so the lease sweeper and
        # the hard-limit handler treat both kinds alike (docs/theory.md §3.12).
        if stores().records.kind_of(job_id) == "selfcheck":
            from workers.tasks.selfcheck import selfcheck_job

            return selfcheck_job(job_id, stores())
        return audit_job(job_id, stores())
    except (redis.ConnectionError, StoreUnavailableError) as exc:
        # The object store out like Redis out: the job keeps its record and is retried.
        retries = int(self.request.retries or 0)
        countdown = min(2**retries, 60) + get_settings().lease_seconds
        raise self.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES) from exc
