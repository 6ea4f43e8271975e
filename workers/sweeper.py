"""The lease sweeper: recovery when a whole worker dies, and payload expiry.

Why it exists: with ``task_acks_late`` a message whose worker died is only redelivered after
Redis's visibility timeout (an hour by default, and it must exceed the longest audit), so a
killed worker would leave its job "running" for that long (PLATFORM.md). Instead every running
job holds a lease (``lease_seconds``) that its worker renews every third of it. The sweeper runs
as a thread in every worker's main process, started by Celery's ``worker_ready`` signal and
stopped by ``worker_shutdown``. Every ``sweep_interval`` seconds it:

1. asks ``records.expired_leases()`` for running jobs whose lease expired;
2. for each, ``records.requeue(job_id)`` (one conditional Lua transition, so when several
   workers sweep at once only one wins) and, when it won, sends ``audit.run`` again by name;
   a job already requeued ``MAX_ATTEMPTS`` time (once) is failed instead with a
   ``resources`` problem: a job that killed its worker twice, most likely out of memory, is
   not run into the out-of-memory killer again (issue #11, item 2; ``workers.tasks.resources``
   also checks its estimated memory before running it); a job whose audit was killed at the
   hard time limit (marked by a ``task_failure`` handler in the worker's main process) is
   failed with a time-limit problem instead of being run again;
3. deletes payload directories whose record expired (``PayloadStore.sweep_expired``) and
   prunes stale index entries, once a minute.

A job is recovered ``lease_seconds`` plus at most ``sweep_interval`` after its worker died,
provided some worker is alive (the launcher restarts its worker; compose restarts containers).
The original message comes back after the visibility timeout and is then skipped by
``try_start`` because the job has finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure

from api_schemas.problems import JOB_PROBLEMS
from api_schemas.tasks import AUDIT_QUEUE, AUDIT_TASK
from jobstore import JobNotFoundError, is_valid_job_id
from workers.periodic import Periodic, run_in_worker
from workers.stores import Stores, stores
from workers.tasks.audit import new_worker_id, observe_finished
from workers.tasks.resources import MAX_WORKER_LOSSES, worker_lost_problem

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = MAX_WORKER_LOSSES
"""Recoveries (requeues or take-overs) after which a job whose worker dies again is failed."""
PAYLOAD_SWEEP_EVERY_S = 60.0


class Sweeper(Periodic):
    """Requeues jobs whose lease expired and deletes expired payloads, in a daemon thread.

    Args:
        stores: Records, payload store and settings.
        send: Sends ``audit.run`` for a job id (``app.send_task`` by name).
        interval: Seconds between two sweeps.
    """

    def __init__(self, stores: Stores, send: Callable[[str], Any], interval: float) -> None:
        super().__init__("lease-sweeper", interval)
        self.stores = stores
        self.send = send
        self._last_payload_sweep = 0.0

    def run_once(self) -> None:
        """One sweep (``sweep_once``)."""
        self.sweep_once()

    def sweep_once(self) -> list[str]:
        """One sweep; returns the ids of jobs sent again."""
        records = self.stores.records
        resent = []
        for job_id in records.expired_leases():
            record = records.get(job_id)
            if records.redis.exists(hard_limit_key(self.stores, job_id)):
                limit = self.stores.settings.time_limit
                detail = f"the audit was killed at the hard time limit of {limit} s"
                self._give_up(job_id, JOB_PROBLEMS.TIME_LIMIT.problem(detail))
                continue
            if record is not None and record.attempts >= MAX_ATTEMPTS:
                self._give_up(job_id, self._lost_problem(job_id, record.attempts + 1))
                continue
            if records.requeue(job_id):
                logger.warning("sweeper: job %s lost its worker; requeued", job_id)
                self.send(job_id)
                resent.append(job_id)
        now = time.monotonic()
        if now - self._last_payload_sweep >= PAYLOAD_SWEEP_EVERY_S:
            self._last_payload_sweep = now
            self.stores.payloads.sweep_expired(records)
            records.prune_indexes()
        return resent

    def _lost_problem(self, job_id: str, losses: int) -> dict[str, Any]:
        """The ``resources`` problem of a job whose worker died ``losses`` times."""
        payloads = self.stores.payloads
        try:
            manifest = payloads.read_manifest(job_id)
        except (JobNotFoundError, ValueError, OSError):
            manifest = None
        return worker_lost_problem(
            manifest, payloads.input_dir(job_id), self.stores.settings, losses
        )

    def _give_up(self, job_id: str, error: dict[str, Any]) -> None:
        """Fail the job (taking its expired lease first, so only one sweeper does it)."""
        records = self.stores.records
        owner = new_worker_id()
        if records.try_start(job_id, owner, self.stores.settings.lease_seconds):
            if records.finish(job_id, owner, "failed", error):
                observe_finished(self.stores, job_id)
            logger.error("sweeper: job %s failed: %s", job_id, error.get("detail"))


def hard_limit_key(stores: Stores, job_id: str) -> str:
    """Redis key marking a job whose audit was killed at the hard time limit."""
    return f"{stores.records.prefix}:hard-limit:{job_id}"


def note_hard_time_limit(stores: Stores, job_id: str) -> None:
    """Mark the job so the sweeper fails it when its lease expires instead of rerunning it."""
    stores.records.redis.set(
        hard_limit_key(stores, job_id), "1", ex=stores.settings.retention_seconds
    )


@task_failure.connect  # type: ignore[untyped-decorator]  # celery ships no stubs
def _on_task_failure(
    sender: Any = None, exception: BaseException | None = None, args: Any = None, **_: Any
) -> None:
    # Sent in the worker's main process when the pool child is killed at the hard limit; the
    # child could not record anything, and rerunning would only hit the limit again.
    if getattr(sender, "name", None) != AUDIT_TASK or not isinstance(exception, TimeLimitExceeded):
        return
    job_id = args[0] if isinstance(args, list | tuple) and args else None
    if isinstance(job_id, str) and is_valid_job_id(job_id):
        logger.error("job %s: killed at the hard time limit", job_id)
        note_hard_time_limit(stores(), job_id)


def sender_for(app: Celery) -> Callable[[str], Any]:
    """Sends ``audit.run`` by name on ``app``."""

    def send(job_id: str) -> Any:
        return app.send_task(AUDIT_TASK, args=[job_id], queue=AUDIT_QUEUE)

    return send


def _sweeper_of(consumer: Any) -> Sweeper:
    s = stores()
    logger.info("sweeper: started (every %.1f s)", s.settings.sweep_interval)
    return Sweeper(s, sender_for(consumer.app), s.settings.sweep_interval)


run_in_worker("sweeper", _sweeper_of)
