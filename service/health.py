"""Readiness checks and Prometheus metrics, in service terms (routes stay thin)."""

from __future__ import annotations

import logging
import os
import tempfile

import redis

from api_schemas.jobs import JOB_STATES
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


def metrics_text(resources: Resources) -> str:
    """Prometheus text exposition (format 0.0.4) of the job counts by state."""
    counts = resources.records.counts_by_state()
    lines = [
        "# HELP restoration_audit_jobs Jobs in the job store by state (all tenants).",
        "# TYPE restoration_audit_jobs gauge",
        *(f'restoration_audit_jobs{{state="{st}"}} {counts.get(st, 0)}' for st in JOB_STATES),
        "# HELP restoration_audit_expired_leases Running jobs whose worker lease expired.",
        "# TYPE restoration_audit_expired_leases gauge",
        f"restoration_audit_expired_leases {len(resources.records.expired_leases())}",
    ]
    return "\n".join(lines) + "\n"
