"""What one API process holds: its settings and the clients built from them.

Built by ``create_app`` and kept on ``app.state``; nothing here connects at construction, so
``create_app().openapi()`` works with no Redis reachable.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from jobstore import IdempotencyKeys, JobRecords, PayloadStore
from jobstore.connection import redis_client
from jobstore.objectstore import open_payload_store
from service.dispatch import Dispatcher
from service.settings import ServiceSettings


@dataclass
class Resources:
    """Settings plus the job store, payload store and task dispatcher built from them."""

    settings: ServiceSettings
    redis: redis.Redis
    records: JobRecords
    idempotency: IdempotencyKeys
    payloads: PayloadStore
    dispatcher: Dispatcher

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Resources:
        """Build the clients (lazily connecting) for ``settings``."""
        client = redis_client(
            settings.redis_url,
            sentinel_master=settings.redis_sentinel_master,
            decode_responses=True,
            socket_timeout=settings.broker_timeout_seconds,
            socket_connect_timeout=settings.broker_timeout_seconds,
            health_check_interval=30,
        )
        return cls(
            settings=settings,
            redis=client,
            records=JobRecords(
                client, prefix=settings.redis_prefix, retention_seconds=settings.retention_seconds
            ),
            idempotency=IdempotencyKeys(
                client, prefix=settings.redis_prefix, retention_seconds=settings.retention_seconds
            ),
            payloads=open_payload_store(
                settings.storage_url, settings.data_dir, presign=settings.storage_presign
            ),
            dispatcher=Dispatcher(settings),
        )

    def close(self) -> None:
        """Close the connections."""
        self.dispatcher.close()
        self.redis.close()
