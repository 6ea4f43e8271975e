"""Idempotency keys (Stripe style), scoped to a tenant.

A caller ``reserve``s the key with a digest of its payload before creating the job, then
``complete``s it with the new job id, or ``release``s it if creating failed. A reservation
that is neither completed nor released (a crashed API process) lapses after
``pending_seconds``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import redis

from jobstore import _lua
from jobstore.keyspace import RedisKeyspace

ReservationState = Literal["new", "replay", "mismatch", "in_progress"]
DEFAULT_PENDING_SECONDS: Final = 600


def idempotency_key_name(prefix: str, tenant: str, key: str) -> str:
    """The Redis key holding ``key`` of ``tenant`` (hashed: keys are caller-chosen text)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}:idem:{tenant}:{digest}"


@dataclass(frozen=True, slots=True)
class Reservation:
    """Outcome of ``IdempotencyKeys.reserve``.

    ``new``: the caller creates the job and completes the key. ``replay``: ``job_id`` is the
    job created with the same key and payload. ``mismatch``: the key was used with another
    payload. ``in_progress``: a request with this key is still creating its job; retry after
    ``retry_after`` seconds.
    """

    state: ReservationState
    job_id: str | None = None
    retry_after: int = 0


class IdempotencyKeys(RedisKeyspace):
    """Reserve, complete and release idempotency keys.

    Args:
        redis: Client of the Redis server of the job records.
        prefix: Same prefix as the ``JobRecords`` (deleting a job deletes its key).
        retention_seconds: How long a completed key replays.
        pending_seconds: How long an uncompleted reservation blocks the key.
    """

    def __init__(
        self,
        redis: redis.Redis,
        *,
        prefix: str = "ra",
        retention_seconds: int = 7 * 86400,
        pending_seconds: int = DEFAULT_PENDING_SECONDS,
    ) -> None:
        super().__init__(redis, prefix)
        self._reserve = redis.register_script(_lua.IDEM_RESERVE)
        self._complete = redis.register_script(_lua.IDEM_COMPLETE)
        self._release = redis.register_script(_lua.IDEM_RELEASE)
        self.retention_seconds = retention_seconds
        self.pending_seconds = pending_seconds

    def reserve(self, tenant: str, key: str, payload_digest: str) -> Reservation:
        """Reserve ``key`` for a payload with ``payload_digest`` (atomic)."""
        name = idempotency_key_name(self.prefix, tenant, key)
        raw = cast(
            list[Any],
            self._reserve(
                args=[name, payload_digest, self.pending_seconds * 1000, f"{self.prefix}:job:"]
            ),
        )
        state = _text(raw[0])
        job_id = _text(raw[1]) or None
        if state == "in_progress":
            retry_ms = max(int(raw[2]), 1000)
            return Reservation("in_progress", retry_after=min(-(-retry_ms // 1000), 60))
        if state not in ("new", "replay", "mismatch"):
            raise RuntimeError(f"unexpected reservation outcome {state!r}")
        return Reservation(cast(ReservationState, state), job_id=job_id)

    def complete(self, tenant: str, key: str, job_id: str) -> bool:
        """Bind the reserved key to ``job_id``; False if the reservation had lapsed."""
        name = idempotency_key_name(self.prefix, tenant, key)
        return bool(self._complete(args=[name, job_id, self.retention_seconds]))

    def release(self, tenant: str, key: str) -> bool:
        """Drop a reservation that will not be completed (creating the job failed)."""
        return bool(self._release(args=[idempotency_key_name(self.prefix, tenant, key)]))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
