"""Submissions being accepted, counted with the tenant's unfinished jobs.

A submission takes a slot before its images are inspected and stored and gives it back once
its job exists (or it was refused), so a tenant at its in-flight limit cannot make the API
inspect more batches at once than it may have jobs. The slot is the job id the submission
will create: once that job record exists it is counted as a job, never twice.

Layout (``p`` is the prefix, as in ``jobstore._lua``): ``p:t:<tenant>:admitting``, a zset of
job ids scored by the time (Redis clock) their slot lapses; a slot whose API process died is
not counted after ``ttl_seconds``.
"""

from __future__ import annotations

from typing import Final

import redis

from jobstore.clock import LUA_NOW, Clock, clock_argument, redis_now
from jobstore.ids import validate_job_id
from jobstore.keyspace import RedisKeyspace

DEFAULT_TTL_SECONDS: Final = 300.0

# ARGV: prefix, tenant, job id, ttl seconds, limit, injected time ('': Redis' clock). Returns
# 1 when the slot was taken.
_ADMIT: Final = (
    LUA_NOW
    + """
local p, tenant, id = ARGV[1], ARGV[2], ARGV[3]
local ttl, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local ak = p .. ':t:' .. tenant .. ':admitting'
redis.call('ZREMRANGEBYSCORE', ak, '-inf', t)
local count = 0
for _, member in ipairs(redis.call('ZRANGE', ak, 0, -1)) do
  if redis.call('EXISTS', p .. ':job:' .. member) == 0 then count = count + 1 end
end
for _, st in ipairs({'queued', 'running'}) do
  local ix = p .. ':t:' .. tenant .. ':state:' .. st
  for _, member in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
    if redis.call('EXISTS', p .. ':job:' .. member) == 1 then count = count + 1 end
  end
end
if count >= limit then return 0 end
redis.call('ZADD', ak, string.format('%.6f', t + ttl), id)
redis.call('EXPIRE', ak, math.ceil(ttl) + 1)
return 1
"""
)


class Admissions(RedisKeyspace):
    """Slots of submissions in progress, per tenant, in the records' Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "ra",
        clock: Clock | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"expected a positive ttl, got {ttl_seconds}")
        super().__init__(client, prefix)
        self.ttl_seconds = ttl_seconds
        self.clock = clock  # None: Redis' clock (jobstore.clock)
        self._admit = client.register_script(_ADMIT)

    def _key(self, tenant: str) -> str:
        return f"{self.prefix}:t:{tenant}:admitting"

    def admit(self, tenant: str, job_id: str, limit: int) -> bool:
        """Take a slot for the submission that will create ``job_id``; False when the tenant's
        unfinished jobs plus its submissions in progress already reach ``limit``."""
        validate_job_id(job_id)
        args: list[str | float] = [
            *(self.prefix, tenant, job_id, self.ttl_seconds, limit),
            clock_argument(self.clock),
        ]
        return bool(self._admit(args=args))

    def release(self, tenant: str, job_id: str) -> None:
        """Give the slot back (its job now counts by itself, or there is none)."""
        self.redis.zrem(self._key(tenant), job_id)

    def in_progress(self, tenant: str) -> int:
        """Slots taken and not lapsed, those whose job exists included (for tests, metrics)."""
        now = redis_now(self.redis, self.clock)
        return int(self.redis.zcount(self._key(tenant), f"({now:.6f}", "+inf"))
