"""A self-check job (docs/theory.md §3.12) on a worker: ``selfcheck_job(job_id, stores)``.

Sent as the audit task (``audit.run(job_id)``), which hands jobs of kind ``selfcheck`` here, so
the broker carries the id only and the lease sweeper requeues a self-check whose worker died
exactly as it requeues an audit. The work is the command line's: ``run_selfcheck`` of
``workers.selfcheck`` (one implementation, one result model, ``api_schemas.selfcheck``).

Outcomes follow the audit task's: the result (and the engine's report on the synthetic
restorers, so ``/v1/jobs/{id}/report`` serves it too) written atomically, then
``finish(succeeded)`` whether or not the checks hold (the result's ``passed`` says which); an
input problem (ground truths that cannot be decoded or are flat) ``failed`` with 422; a cancel
request ``cancelled`` between audit batches; the job no longer ours: stop quietly.
"""

from __future__ import annotations

import logging

import redis
from celery.exceptions import SoftTimeLimitExceeded

from api_schemas.problems import JOB_PROBLEMS
from workers.errors import AuditCancelledError, AuditInputError
from workers.stores import Stores
from workers.tasks.audit import (
    PairMeter,
    _failed,
    _finish,
    input_problem,
    new_worker_id,
    observe_finished,
    take_job,
)
from workers.tasks.lease import JobLostError, LeaseKeeper
from workers.tasks.resources import MAX_WORKER_LOSSES, worker_lost_problem

logger = logging.getLogger(__name__)


def selfcheck_job(job_id: str, stores: Stores, worker_id: str | None = None) -> str:
    """Run one self-check job; returns the outcome (``skipped``, ``succeeded``, ...).

    Raises:
        redis.ConnectionError: Redis could not be reached (the task retries).
    """
    from workers import io as image_io
    from workers.selfcheck import SelfCheckError, run_selfcheck_request

    records, payloads, settings = stores.records, stores.payloads, stores.settings
    worker_id = worker_id or new_worker_id()
    manifest = take_job(
        stores, job_id, worker_id, payloads.read_selfcheck_manifest, "self-check", "request"
    )
    if isinstance(manifest, str):
        return manifest
    record = records.get(job_id)
    if record is not None and record.attempts > MAX_WORKER_LOSSES:  # killed it before
        error = worker_lost_problem(
            None, payloads.input_dir(job_id), settings, record.attempts, estimate=False
        )
        return _failed(stores, job_id, worker_id, error)
    request = manifest.request
    keeper = LeaseKeeper(records, job_id, worker_id, settings.lease_seconds)
    meter = PairMeter(stores.telemetry, job_id)

    def progress(done: int, total: int) -> None:
        meter.update(done)
        try:  # best effort, as an audit's
            records.set_progress(job_id, worker_id, done, total)
        except redis.RedisError as exc:
            logger.warning("self-check %s: progress not recorded (%s)", job_id, exc)

    with keeper:
        try:
            input_dir = payloads.input_dir(job_id)
            truths = None
            if manifest.ground_truth:
                decoded = image_io.decode_many(
                    [input_dir / name for name in manifest.ground_truth],
                    [f"ground_truth[{i}]" for i in range(len(manifest.ground_truth))],
                    max_pixels=settings.max_pixels_per_image,
                )
                truths = [image.tensor for image in decoded]
            result = run_selfcheck_request(
                request,
                truths,
                settings.device,
                progress=progress,
                should_cancel=keeper.should_stop(),
            )
        except AuditInputError as err:
            return _failed(stores, job_id, worker_id, input_problem(err))
        except SelfCheckError as err:  # the synthetic problem could not be built
            error = JOB_PROBLEMS.SELFCHECK_UNBUILDABLE.problem(str(err))
            return _failed(stores, job_id, worker_id, error)
        except AuditCancelledError:
            if keeper.lost.is_set():
                return "lost"
            if not records.mark_cancelled(job_id, worker_id):
                return "lost"
            observe_finished(stores, job_id)
            return "cancelled"
        except SoftTimeLimitExceeded:
            detail = f"the self-check ran past the time limit of {settings.soft_time_limit} s"
            return _failed(stores, job_id, worker_id, JOB_PROBLEMS.TIME_LIMIT.problem(detail))
        except redis.ConnectionError:
            raise
        except Exception as exc:
            logger.exception("self-check %s failed", job_id)
            detail = f"the self-check failed: {type(exc).__name__}"
            return _failed(stores, job_id, worker_id, JOB_PROBLEMS.INTERNAL.problem(detail))
        try:
            report = result.report.model_dump_json().encode()
            keeper.checked(lambda: payloads.write_report(job_id, report))
            keeper.checked(
                lambda: payloads.write_selfcheck_result(job_id, result.model_dump_json().encode())
            )
        except JobLostError as exc:
            logger.warning("self-check %s: result not written, no longer ours (%s)", job_id, exc)
            return "lost"
        finished = _finish(stores, job_id, worker_id, "succeeded")
    logger.info("self-check %s: %s", job_id, "passed" if result.passed else "FAILED")
    return "succeeded" if finished else "lost"
