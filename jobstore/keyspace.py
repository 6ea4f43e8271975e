"""The Redis client and key prefix that every Redis-backed store of a deployment shares."""

from __future__ import annotations

import redis


class RedisKeyspace:
    """A client of the job records' Redis and the prefix every key of one deployment starts
    with (so several deployments can share one server). The base of the job store's Redis
    stores and of the telemetry, so the prefix has one rule.

    Args:
        client: A client of the Redis server (any ``decode_responses``).
        prefix: The key prefix: not empty and without ``:`` (the key separator).

    Raises:
        ValueError: on an empty prefix or one with ``:``.
    """

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        if not prefix or ":" in prefix:
            raise ValueError(f"expected a prefix without ':', got {prefix!r}")
        self.redis = client
        self.prefix = prefix
