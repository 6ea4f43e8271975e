"""Service metrics kept in Redis: workers write observations, the API's ``/metrics`` reads them.

Why Redis: the API and the workers are separate processes (separate containers in
docker-compose), so what a worker observes cannot live in the API's memory, and Prometheus'
multiprocess mode needs a directory shared by all of them. Every observation is written
atomically (one Lua script or one MULTI/EXEC), so a scrape never sees a histogram's count
without its bucket. The API turns a ``snapshot()`` into Prometheus metric families at scrape
time (``service.metrics``); this module imports redis-py and the standard library only.

Layout in Redis (``p`` is the records' prefix):

- ``p:metrics:counters``: hash, ``pairs`` -> pairs audited since the store was created.
- ``p:metrics:hist:<name>``: hash per histogram; ``<label>:le:<bound>`` -> observations that
  fell in that bucket (not cumulative: above the previous bound, at most this one; ``+Inf``
  for the rest), ``<label>:count`` and ``<label>:sum``. ``<label>`` is the value of the
  histogram's one label (the job's final state), empty for the pair histogram.
- ``p:metrics:pairs:<epoch second>``: pairs audited in that second (Redis clock), expiring
  after two windows; the recent rate sums the last ``RATE_WINDOW_SECONDS`` of them.
- ``p:workers``: zset of live worker names scored by the expiry of their last heartbeat.

Counters and histograms are never reset by the service (Prometheus handles restarts of a
counter, not of its source, so they must outlive API and worker restarts); they go with the
Redis data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import redis

from jobstore.clock import LUA_NOW, Clock, clock_argument, redis_now
from jobstore.keyspace import RedisKeyspace
from jobstore.records import JobRecord

JOB_DURATION: Final = "job"
"""Submit (record created) to finish, by final state."""
JOB_RUN: Final = "job_run"
"""Worker start to finish, by final state."""
PAIR: Final = "pair"
"""Processing time of one pair, unlabelled."""

JOB_BUCKETS: Final = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
PAIR_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BUCKETS: Final[Mapping[str, tuple[float, ...]]] = {
    JOB_DURATION: JOB_BUCKETS,
    JOB_RUN: JOB_BUCKETS,
    PAIR: PAIR_BUCKETS,
}
RATE_WINDOW_SECONDS: Final = 60
HEARTBEAT_MISSES: Final = 3
"""A worker counts as live until it missed this many heartbeats."""

# ARGV: prefix, pairs, seconds (for all of them), bucket field, rate key TTL. The rate key is
# named after the Redis clock so workers on hosts with skewed clocks fall in the same second.
_RECORD_PAIRS = """
local p = ARGV[1]
local n = tonumber(ARGV[2])
local hist = p .. ':metrics:hist:pair'
redis.call('HINCRBY', p .. ':metrics:counters', 'pairs', n)
redis.call('HINCRBY', hist, ARGV[4], n)
redis.call('HINCRBY', hist, ':count', n)
redis.call('HINCRBYFLOAT', hist, ':sum', ARGV[3])
local second = redis.call('TIME')[1]
local key = p .. ':metrics:pairs:' .. second
redis.call('INCRBY', key, n)
redis.call('EXPIRE', key, tonumber(ARGV[5]))
return 1
"""

# ARGV: prefix, worker name, seconds until the heartbeat expires, injected time ('': Redis').
_HEARTBEAT = (
    LUA_NOW
    + """
local key = ARGV[1] .. ':workers'
local t = now()
redis.call('ZREMRANGEBYSCORE', key, '-inf', t)
redis.call('ZADD', key, t + tonumber(ARGV[3]), ARGV[2])
return 1
"""
)


def bucket_field(label: str, bounds: Sequence[float], value: float) -> str:
    """The hash field of the (non-cumulative) bucket that ``value`` falls in."""
    for bound in bounds:
        if value <= bound:
            return f"{label}:le:{format_bound(bound)}"
    return f"{label}:le:+Inf"


def format_bound(bound: float) -> str:
    """A bucket bound as Prometheus writes ``le``: ``0.5``, ``10.0``, ``+Inf``."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


@dataclass(frozen=True, slots=True)
class HistogramData:
    """One labelled series of a histogram: cumulative bucket counts, count and sum."""

    buckets: list[tuple[str, int]]
    """``(le, cumulative count)`` in bound order, ending with ``+Inf``."""
    count: int
    sum: float


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What ``/metrics`` reports, read from Redis at one scrape."""

    pairs_total: int
    pairs_last_window: int
    live_workers: int
    histograms: dict[str, dict[str, HistogramData]]
    """Histogram name -> label value -> series."""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Telemetry(RedisKeyspace):
    """Records and reads the service's metrics.

    Args:
        redis: A client of the job-record Redis (any ``decode_responses``).
        prefix: The job records' key prefix.
        clock: Epoch seconds now for heartbeats (``jobstore.clock``); ``None``: Redis' clock.
    """

    def __init__(
        self, redis: redis.Redis, *, prefix: str = "ra", clock: Clock | None = None
    ) -> None:
        super().__init__(redis, prefix)
        self.clock = clock  # None: Redis' clock (jobstore.clock); heartbeats expire by it
        self._record_pairs = redis.register_script(_RECORD_PAIRS)
        self._heartbeat = redis.register_script(_HEARTBEAT)

    def _hist_key(self, name: str) -> str:
        return f"{self.prefix}:metrics:hist:{name}"

    # -- writing (workers) ------------------------------------------------------------------

    def record_pairs(self, pairs: int, seconds: float) -> None:
        """``pairs`` pairs were audited in ``seconds`` together (one batch): each counts
        ``seconds / pairs`` in the pair histogram, and all of them in the counter and rate."""
        if pairs <= 0:
            return
        seconds = max(0.0, seconds)
        field = bucket_field("", PAIR_BUCKETS, seconds / pairs)
        ttl = 2 * RATE_WINDOW_SECONDS
        self._record_pairs(args=[self.prefix, pairs, repr(seconds), field, ttl])

    def record_job(self, state: str, duration_seconds: float, run_seconds: float | None) -> None:
        """A job reached the final ``state``; ``run_seconds`` is ``None`` if it never ran."""
        pipe = self.redis.pipeline(transaction=True)
        observed = [(JOB_DURATION, duration_seconds)]
        if run_seconds is not None:
            observed.append((JOB_RUN, run_seconds))
        for name, seconds in observed:
            seconds = max(0.0, seconds)
            key = self._hist_key(name)
            pipe.hincrby(key, bucket_field(state, JOB_BUCKETS, seconds), 1)
            pipe.hincrby(key, f"{state}:count", 1)
            pipe.hincrbyfloat(key, f"{state}:sum", seconds)
        pipe.execute()

    def record_finished(self, record: JobRecord) -> None:
        """Observe a job that reached its final state (times from its record: Redis clock)."""
        if record.finished_at is None:
            return
        duration = (record.finished_at - record.created_at).total_seconds()
        started = record.started_at
        run = None if started is None else (record.finished_at - started).total_seconds()
        self.record_job(record.state, duration, run)

    def heartbeat(self, worker: str, interval_seconds: float) -> None:
        """``worker`` is alive; it counts as live for ``HEARTBEAT_MISSES`` intervals."""
        expires_in = HEARTBEAT_MISSES * interval_seconds
        self._heartbeat(args=[self.prefix, worker, expires_in, clock_argument(self.clock)])

    def leave(self, worker: str) -> None:
        """``worker`` stops: it no longer counts as live (before its heartbeat expires)."""
        self.redis.zrem(f"{self.prefix}:workers", worker)

    # -- reading (the API) ------------------------------------------------------------------

    def snapshot(self) -> MetricsSnapshot:
        """Counters, histograms, recent pairs and live workers as of now (Redis clock)."""
        seconds, _ = self.redis.time()  # the rate keys are named by Redis' seconds
        now = redis_now(self.redis, self.clock)
        window = [
            f"{self.prefix}:metrics:pairs:{second}"
            for second in range(seconds - RATE_WINDOW_SECONDS + 1, seconds + 1)
        ]
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(f"{self.prefix}:metrics:counters", "pairs")
        pipe.mget(window)
        pipe.zcount(f"{self.prefix}:workers", f"({now}", "+inf")
        for name in BUCKETS:
            pipe.hgetall(self._hist_key(name))
        pairs, recent, workers, *hashes = pipe.execute()
        return MetricsSnapshot(
            pairs_total=int(_text(pairs)) if pairs is not None else 0,
            pairs_last_window=sum(int(_text(v)) for v in recent if v is not None),
            live_workers=int(workers),
            histograms={
                name: _histograms(raw, BUCKETS[name])
                for name, raw in zip(BUCKETS, hashes, strict=True)
            },
        )


def _histograms(raw: Mapping[Any, Any], bounds: Sequence[float]) -> dict[str, HistogramData]:
    """Series by label from a histogram hash (non-cumulative buckets made cumulative)."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    labels = {name.rsplit(":", 1)[0] for name in fields if name.endswith(":count")}
    series = {}
    for label in sorted(labels):
        running = 0
        buckets = []
        for bound in (*bounds, math.inf):
            running += int(fields.get(f"{label}:le:{format_bound(bound)}", "0"))
            buckets.append((format_bound(bound), running))
        series[label] = HistogramData(
            buckets=buckets,
            count=int(fields[f"{label}:count"]),
            sum=float(fields.get(f"{label}:sum", "0")),
        )
    return series
