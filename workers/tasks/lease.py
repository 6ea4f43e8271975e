"""A job's lease while a worker audits it: renewed in the background, checked before writes.

Delivery is at least once and a worker may be presumed dead while it still computes, so every
write a worker makes for a job is conditional on still holding the job's lease; a job whose
worker died is requeued by the sweeper (``workers.sweeper``) once the lease runs out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from jobstore import JobNotFoundError, JobRecords

logger = logging.getLogger(__name__)


class JobLostError(Exception):
    """The job is no longer this worker's (lease taken over, job finished or deleted)."""


class LeaseKeeper:
    """Renews the job's lease every third of it in a background thread until stopped, a
    cancel request included (the worker acknowledges it at the next batch boundary).

    ``lost`` is set when the lease could not be renewed: the job is no longer ours (another
    worker took it over after ours was presumed dead), so this run must stop quietly.
    """

    def __init__(self, records: JobRecords, job_id: str, worker_id: str, lease: float) -> None:
        self.records = records
        self.job_id = job_id
        self.worker_id = worker_id
        self.lease = lease
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                renewed = self.records.renew_lease(self.job_id, self.worker_id, self.lease)
            except redis.RedisError:
                logger.warning("job %s: lease renewal failed; retrying", self.job_id)
                continue
            if not renewed and not self._stop.is_set():
                logger.warning("job %s: lease lost; the job is no longer ours", self.job_id)
                self.lost.set()
                return

    def check_held(self) -> None:
        """Before a write to the job's payload: raise ``JobLostError`` unless the job is
        still ours. A Redis blip is not a loss (the payload store still refuses to write for
        a deleted job)."""
        if self.lost.is_set():
            raise JobLostError(f"job {self.job_id} is no longer ours")
        try:
            held = self.records.holds(self.job_id, self.worker_id)
        except redis.RedisError as exc:
            logger.warning("job %s: ownership unreadable before a write (%s)", self.job_id, exc)
            return
        if not held:
            self.lost.set()
            raise JobLostError(f"job {self.job_id} is no longer ours")

    def checked(self, write: Callable[[], object]) -> None:
        """Run a write to the job's payload if the job is still ours (``check_held``); a
        store that finds the job's directory gone means the job is lost too."""
        self.check_held()
        try:
            write()
        except JobNotFoundError as exc:
            self.lost.set()
            raise JobLostError(str(exc)) from exc

    def should_stop(self) -> Callable[[], bool]:
        """The engine's ``should_cancel``: lease lost, or a cancel was requested."""

        def check() -> bool:
            if self.lost.is_set():
                return True
            try:
                return self.records.is_cancel_requested(self.job_id)
            except redis.RedisError as exc:  # a blip: look again after the next batch
                logger.warning("job %s: cancel flag unreadable (%s)", self.job_id, exc)
                return False

        return check
