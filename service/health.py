"""Readiness checks, in service terms (routes stay thin); metrics are in ``service.metrics``.

``storage`` is ``full`` when the payload store's disk has less than ``min_free_bytes`` free (or
refuses a file with ``ENOSPC``) or when Redis cannot persist (its append-only file or its last
snapshot failed; it then refuses writes with ``MISCONF``). Recovery needs no operator once
space returns: Redis retries a failed append-only write every second by itself, and a failed
snapshot (deployments with save points and ``stop-writes-on-bgsave-error yes``) is retried
here, by a ``BGSAVE`` at most every ``BGSAVE_EVERY_S`` while the payload store has room again,
since Redis only lifts ``MISCONF`` after a snapshot succeeds.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from typing import Final

import redis

from api_schemas.problems import ProblemError
from jobstore.errors import StoreUnavailableError
from jobstore.storage import Persistence, format_bytes, free_bytes, is_disk_full, write_refusal
from service.errors import NotReadyError
from service.resources import Resources

logger = logging.getLogger(__name__)
NOT_READY_RETRY_AFTER: Final = 5
BGSAVE_EVERY_S: Final = 10.0
PROBE_TTL_MS: Final = 60_000
_last_bgsave: dict[str, float] = {}
"""Redis URL -> when (monotonic) this process last asked it for a snapshot."""


def check_ready(resources: Resources) -> dict[str, str]:
    """Check that Redis takes writes, the payload store has room (and its object store,
    when ``RA_STORAGE_URL`` names one, answers) and a worker answers.

    Returns:
        Each check's status (``ok``).

    Raises:
        NotReadyError: Some check failed; its ``errors`` name each failing check and its
            ``checks`` member gives every check's status (``storage: full`` among them).
    """
    checks: dict[str, str] = {}
    failures: list[ProblemError] = []
    full: list[str] = []

    def fail(part: str, status: str, message: str) -> None:
        checks[part] = status
        failures.append(ProblemError(part=part, message=message))

    settings = resources.settings
    try:
        resources.redis.set(f"{settings.redis_prefix}:readyz", "1", px=PROBE_TTL_MS)
    except redis.ResponseError as exc:
        kind = write_refusal(exc)
        if kind == "MISCONF":
            full.append("Redis refuses writes (MISCONF)")
        elif kind is not None:
            fail("redis", "refuses writes", f"refuses writes: {exc}")
        else:
            fail("redis", "error", f"error on a write: {exc}")
    except redis.RedisError as exc:
        fail("redis", "unreachable", f"no answer: {exc}")
    if "redis" not in checks:
        checks["redis"] = "ok"
        full += _persistence(resources)

    root = resources.payloads.root
    reserve = settings.min_free_bytes
    try:
        root.mkdir(parents=True, exist_ok=True)
        free = free_bytes(root)
        if free < reserve:
            full.append(
                f"{format_bytes(free)} free under {root}, less than the reserve of "
                f"{format_bytes(reserve)} (RA_MIN_FREE_BYTES)"
            )
        fd, probe = tempfile.mkstemp(dir=root, prefix=".ready-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if is_disk_full(exc):
            full.append(f"{root}: {exc.strerror}")
        else:
            fail("storage", "not writable", f"{root} not writable: {exc}")
    if full:
        fail("storage", "full", "full: " + "; ".join(full))
    checks.setdefault("storage", "ok")
    try:
        resources.payloads.check_reachable()
    except StoreUnavailableError as exc:
        fail("object_store", "unreachable", str(exc))
    else:
        checks["object_store"] = "ok"

    try:
        answered = resources.dispatcher.workers_answer()
    except redis.RedisError as exc:  # the broker's Redis refuses the ping's writes
        fail("worker", "unknown", f"cannot ping the workers: {exc}")
    else:
        if answered:
            checks["worker"] = "ok"
        else:
            timeout = settings.worker_ping_timeout_seconds
            fail("worker", "no answer", f"no worker answered in {timeout} s")
    if failures:
        raise NotReadyError(
            "; ".join(f"{f.part} {checks[f.part]}" for f in failures),
            errors=failures,
            retry_after=NOT_READY_RETRY_AFTER,
            extensions={"checks": checks},
        )
    return checks


def _persistence(resources: Resources) -> list[str]:
    """Why Redis cannot persist (empty when it can); asks for a snapshot when the last one
    failed and the payload store has room again."""
    try:
        persistence = Persistence.read(resources.redis)
    except redis.RedisError as exc:
        logger.warning("readiness: INFO persistence failed: %s", exc)
        return []
    if persistence.ok:
        return []
    if not persistence.rdb_save_ok and not persistence.rdb_saving:
        _retry_snapshot(resources)
    return [persistence.describe()]


def _retry_snapshot(resources: Resources) -> None:
    url = resources.settings.redis_url
    now = time.monotonic()
    if now - _last_bgsave.get(url, -BGSAVE_EVERY_S) < BGSAVE_EVERY_S:
        return
    try:
        if free_bytes(resources.payloads.root) < resources.settings.min_free_bytes:
            return  # no room yet: the snapshot would fail again
    except OSError:
        return
    _last_bgsave[url] = now
    try:
        resources.redis.bgsave()
    except redis.RedisError as exc:  # one already running, or refused
        logger.warning("readiness: BGSAVE after a failed snapshot refused: %s", exc)
    else:
        logger.warning("readiness: Redis's last snapshot failed; asked for a new one (BGSAVE)")
