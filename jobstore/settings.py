"""Where the job store is: the settings the API and the workers read alike.

Both processes must find the same Redis (under the same key prefix) and the same payload
store, so the names, defaults and constraints of these variables are written once, here; each
process's settings class (``service.settings``, ``workers.settings``) extends this one and
validates the Redis URLs by its own rule (the API's store may be a ``unix://`` socket, a
worker's URL is also its broker's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobstore.connection import DEFAULT_SENTINEL_MASTER


class StoreSettings(BaseSettings):
    """The job store's location, from ``RA_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="RA_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis holding the job records and idempotency keys (and the broker unless
    ``broker_url``): ``redis://``, ``rediss://`` (TLS) or ``sentinel://``
    (``jobstore.connection`` lists the forms)."""
    broker_url: str | None = None
    """Celery broker when it is another Redis than ``redis_url``."""
    redis_sentinel_master: Annotated[str, Field(min_length=1)] = DEFAULT_SENTINEL_MASTER
    """Master name the Sentinels of a ``sentinel://`` URL monitor."""
    redis_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = "ra"
    """Key prefix of the job records."""
    data_dir: Path = Path("data")
    """Root of the payload store (a volume shared by the API and the workers in compose)."""
    storage_url: str | None = None
    """Payload store: unset or ``file:///dir`` (a directory), ``s3://bucket/prefix`` (object
    storage; ``data_dir`` is then local scratch). The API and workers pick it by one rule,
    ``jobstore.objectstore.open_payload_store``."""
    storage_presign: bool = False
    """Answer artifact downloads with a 307 to a presigned object-store URL (S3 only)."""

    @property
    def effective_broker_url(self) -> str:
        """The broker URL Celery uses."""
        return self.broker_url or self.redis_url
