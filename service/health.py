"""Readiness checks, in service terms (routes stay thin); metrics are in ``service.metrics``."""

from __future__ import annotations

import logging
import os
import tempfile

import redis

from api_schemas.problems import ProblemError
from service.errors import NotReadyError
from service.resources import Resources

logger = logging.getLogger(__name__)
NOT_READY_RETRY_AFTER = 5


def check_ready(resources: Resources) -> dict[str, str]:
    """Check the job store, the payload directory and that a worker answers.

    Raises:
        NotReadyError: Some check failed; its ``errors`` name each failing check.
    """
    failures = []
    try:
        resources.redis.ping()
    except redis.RedisError as exc:
        failures.append(ProblemError(part="redis", message=f"no answer to PING: {exc}"))
    root = resources.payloads.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".ready-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        failures.append(ProblemError(part="storage", message=f"{root} not writable: {exc}"))
    if not resources.dispatcher.workers_answer():
        timeout = resources.settings.worker_ping_timeout_seconds
        failures.append(ProblemError(part="worker", message=f"no worker answered in {timeout} s"))
    if failures:
        raise NotReadyError(
            "; ".join(f.part for f in failures) + " not ready",
            errors=failures,
            retry_after=NOT_READY_RETRY_AFTER,
        )
    return {"redis": "ok", "storage": "ok", "worker": "ok"}
