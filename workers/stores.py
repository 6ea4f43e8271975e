"""A worker process's connections: the job records (Redis), the payload store and the metrics.

Opened once per process on first use (never at import, so importing the task module in a test
or the CLI connects to nothing); the audit task, the sweeper, the heartbeat and the worker's
log filter share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from jobstore import JobRecords, PayloadStore
from jobstore.connection import redis_client
from jobstore.objectstore import open_payload_store
from jobstore.storage import StoredBytes
from observability.telemetry import Telemetry
from workers.settings import WorkerSettings, get_settings


@dataclass(frozen=True)
class Stores:
    """The job records and payload store of this worker process."""

    records: JobRecords
    payloads: PayloadStore
    settings: WorkerSettings

    @cached_property
    def telemetry(self) -> Telemetry:
        """The service metrics, in the same Redis as the records."""
        return Telemetry(self.records.redis, prefix=self.records.prefix)

    @cached_property
    def stored_bytes(self) -> StoredBytes:
        """Each tenant's stored bytes (its storage quota's usage), beside the records."""
        records = self.records
        return StoredBytes(
            records.redis, prefix=records.prefix, retention_seconds=records.retention_seconds
        )


def open_stores(settings: WorkerSettings) -> Stores:
    """Connect to the records and the payload store named by ``settings``."""
    # Reconnect within the same call after a Redis restart (a stale pooled socket), so a lease
    # renewal right after a blip succeeds instead of waiting for the next renewal period.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3)
    client = redis_client(
        settings.redis_url,
        sentinel_master=settings.redis_sentinel_master,
        health_check_interval=30,
        retry=retry,
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    records = JobRecords(
        client, prefix=settings.redis_prefix, retention_seconds=settings.retention_seconds
    )
    return Stores(
        records,
        open_payload_store(
            settings.storage_url, settings.data_dir, presign=settings.storage_presign
        ),
        settings,
    )


@lru_cache(maxsize=1)
def stores() -> Stores:
    """This process's stores, opened on first use (never at import)."""
    return open_stores(get_settings())
