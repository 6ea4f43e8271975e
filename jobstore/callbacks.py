"""The webhook queue: which jobs have a callback to deliver, and when to try next.

Layout (``p`` is the prefix):

- ``p:job:<id>`` field ``callback``: the delivery record as JSON (``api_schemas.callbacks
  .CallbackDelivery``: url, state, attempts); written with a version bump, so a poll with the
  job's ETag sees every attempt;
- ``p:callbacks``: zset of job ids with a pending delivery, scored by the epoch second at
  which a deliverer should look at the job next.

A deliverer (``workers.callbacks``) *claims* due entries: one Lua script moves each claimed
entry's score a lease ahead, so several deliverers never post the same attempt, and an entry
whose deliverer died comes due again when the lease runs out. A job that is not finished yet
is looked at again a little later; whoever finishes a job may ``wake`` its entry so the event
goes out at once. Entries of deleted jobs are dropped by the deliverer.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final, cast

import redis

from jobstore.clock import Clock
from jobstore.ids import validate_job_id
from jobstore.keyspace import RedisKeyspace

CALLBACK_FIELD: Final = "callback"

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return ids
"""

# KEYS[1]: the queue, KEYS[2]: the job; ARGV[1]: job id, ARGV[2]: delivery JSON,
# ARGV[3]: next look (epoch s) or '' when the delivery is over.
_UPDATE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[2], 'callback', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'version', 1)
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""


class CallbackQueue(RedisKeyspace):
    """Register, claim and record the delivery of jobs' terminal events."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "ra", clock: Clock | None = None
    ) -> None:
        super().__init__(client, prefix)
        self.clock: Clock = clock or time.time
        """Epoch seconds now (injectable: tests make time pass instead of sleeping)."""
        self.key = f"{prefix}:callbacks"
        self._claim = client.register_script(_CLAIM)
        self._update = client.register_script(_UPDATE)

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{validate_job_id(job_id)}"

    def register(self, job_id: str, url: str) -> bool:
        """Record the job's callback as pending and queue it (the job exists already)."""
        delivery = {"url": url, "state": "pending", "attempts": []}
        return self.update(job_id, delivery, next_at=self.clock())

    def update(self, job_id: str, delivery: dict[str, Any], *, next_at: float | None) -> bool:
        """Write the delivery record; look again at ``next_at`` or, when ``None``, never.
        False when the job is gone (its queue entry is dropped)."""
        payload = json.dumps(delivery, allow_nan=False)
        when = "" if next_at is None else f"{next_at:.6f}"
        keys = [self.key, self._job_key(job_id)]
        return bool(self._update(keys=keys, args=[job_id, payload, when]))

    def look_again(self, job_id: str, at: float) -> None:
        """Look at the job again at ``at`` (epoch s): it has not finished yet."""
        self.redis.zadd(self.key, {validate_job_id(job_id): at}, xx=True)

    def drop(self, job_id: str) -> None:
        """Forget the job's entry (the job is gone, or its delivery is over)."""
        self.redis.zrem(self.key, job_id)

    def wake(self, job_id: str) -> None:
        """The job just finished: make its entry due now (if it has one)."""
        self.redis.zadd(self.key, {validate_job_id(job_id): 0}, xx=True)

    def claim(self, lease_seconds: float, limit: int = 16) -> list[str]:
        """Take up to ``limit`` due entries for ``lease_seconds``; returns their job ids."""
        now = self.clock()
        rows = cast(list[Any], self._claim(keys=[self.key], args=[now, now + lease_seconds, limit]))
        return [r.decode() if isinstance(r, bytes) else str(r) for r in rows]

    def pending(self) -> int:
        """Entries in the queue (deliveries not over)."""
        return int(cast(Any, self.redis.zcard(self.key)))
