"""Settings of a worker process: one ``BaseSettings`` read from ``RA_*`` environment variables.

Built when a process needs them (``get_settings()``), never at import time. Unsafe combinations
fail fast: a visibility timeout must exceed the hard time limit, otherwise Redis hands a running
task to a second worker (PLATFORM.md, "Celery behaviour that was measured").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from api_schemas.cost import DEFAULT_MAX_JOB_MEMORY_BYTES
from api_schemas.images import DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_PIXELS, ImageLimits
from api_schemas.setting_list import SettingList
from jobstore.connection import check_redis_url
from jobstore.settings import StoreSettings
from workers.device import parse_device


class WorkerSettings(StoreSettings):
    """Configuration of a Celery worker (and of the lease sweeper it runs).

    Attributes:
        redis_url: Job-record store (and broker unless ``broker_url``): ``redis://``,
            ``rediss://`` (TLS) or ``sentinel://`` (``jobstore.connection`` lists the forms).
        broker_url: Celery broker when it is another Redis than ``redis_url``.
        redis_sentinel_master: Name of the master the Sentinels of a ``sentinel://`` URL
            monitor (``RA_REDIS_SENTINEL_MASTER``; the API reads it too).
        redis_prefix: Key prefix of the job records; the API's ``RA_REDIS_PREFIX`` too.
        data_dir: Root of the payload store shared with the API (a volume in compose).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        lease_seconds: Lease a running job holds; renewed every third of it. A job whose lease
            expired (its worker died) is requeued by the sweeper.
        soft_time_limit: Seconds after which a running audit is failed with a "time limit" problem.
        time_limit: Hard limit: the pool child is killed.
        visibility_timeout: Seconds before Redis redelivers an unacknowledged message; above
            ``time_limit`` so a long task is never run twice concurrently.
        unacked_restore_interval: Seconds between kombu's sweeps of unacknowledged messages.
        sweep_interval: Seconds between two scans for expired leases.
        retention_seconds: How long records and payloads are kept (default 7 days).
        concurrency: Pool processes per worker; one per GPU.
        batch_size: Pairs per device batch at most; progress and cancel checks happen between
            batches. Lowered for large images so that a batch fits ``max_job_memory_bytes``.
        max_job_memory_bytes: Memory one job may need (``api_schemas.cost``'s estimate; the
            API reads the same ``RA_MAX_JOB_MEMORY_BYTES``): a job over it fails with a
            ``resources`` problem before running instead of being killed out of memory.
        max_pixels_per_image: Largest image (``RA_MAX_PIXELS_PER_IMAGE``, the API's setting:
            both decide by ``api_schemas.images``).
        max_compression_ratio: Largest declared compression ratio of an image file
            (``RA_MAX_COMPRESSION_RATIO``, the API's setting too).
        heartbeat_interval: Seconds between two heartbeats of the worker (``/metrics`` counts
            a worker as live until it missed three).
        log_format: ``json`` (one JSON object per line, Celery's own lines included) or
            ``text`` (Celery's usual format).
        local_mode: The API's ``RA_LOCAL_MODE``: only then may callbacks and sources use plain
            http, to a loopback host.
        public_base_url: The API's ``RA_PUBLIC_BASE_URL``, for the report URL of webhook
            events (root-relative when unset).
        callback_allowed_hosts, callback_secret: The API's settings of the same names: a
            callback is delivered only to an allowed host, signed with its tenant's secret.
        callback_timeout_seconds: Time one delivery attempt may take (connect to answer).
        callback_backoff_base_seconds, callback_backoff_max_seconds: Delay after the n-th
            failed attempt: ``min(base * 2**(n-1), max)`` times a random factor in [0.5, 1]
            (jitter, so receivers coming back are not hit by every sender at once).
        callback_give_up_seconds: No attempt starts later than this after the first one; the
            delivery is then ``failed``.
        callback_poll_seconds: How often a deliverer looks at an unfinished job with a
            callback (finishing workers wake the delivery at once; this catches the rest,
            e.g. a queued job cancelled through the API).
        source_allowed_hosts, dataset_roots: The API's settings of the same names.
        source_allow_private_addresses: Let https sources resolve to private, loopback or
            link-local addresses (a dataset server inside the cluster); off by default.
        source_max_bytes: Largest source file.
        source_timeout_seconds: Time one source may take to fetch, whole (a server trickling
            bytes is cut off at this deadline, not at a per-read timeout).
        source_ca_bundle: PEM file of the certificate authorities https sources are verified
            against (an internal CA); the system's default bundle when unset.
    """

    model_config = SettingsConfigDict(env_prefix="RA_", extra="ignore")

    device: str = "auto"
    lease_seconds: Annotated[float, Field(ge=1.0, le=3600.0)] = 30.0
    soft_time_limit: Annotated[int, Field(ge=1)] = 1800
    time_limit: Annotated[int, Field(ge=2)] = 1900
    visibility_timeout: Annotated[int, Field(ge=3)] = 3600
    unacked_restore_interval: Annotated[int, Field(ge=1, le=600)] = 5
    sweep_interval: Annotated[float, Field(gt=0.0, le=600.0)] = 5.0
    retention_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    concurrency: Annotated[int, Field(ge=1, le=64)] = 1
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 16
    max_job_memory_bytes: Annotated[int, Field(gt=0)] = DEFAULT_MAX_JOB_MEMORY_BYTES
    max_pixels_per_image: Annotated[int, Field(gt=0)] = DEFAULT_MAX_PIXELS
    max_compression_ratio: Annotated[float, Field(ge=1.0)] = DEFAULT_MAX_COMPRESSION_RATIO
    heartbeat_interval: Annotated[float, Field(gt=0.0, le=300.0)] = 5.0
    log_format: Literal["json", "text"] = "json"
    local_mode: bool = False
    public_base_url: str | None = None
    callback_allowed_hosts: SettingList = Field(default_factory=list)
    callback_secret: dict[str, SecretStr] = Field(default_factory=dict)
    callback_timeout_seconds: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    callback_backoff_base_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 5.0
    callback_backoff_max_seconds: Annotated[float, Field(gt=0.0, le=86400.0)] = 600.0
    callback_give_up_seconds: Annotated[float, Field(gt=0.0, le=7 * 86400.0)] = 6 * 3600.0
    callback_poll_seconds: Annotated[float, Field(gt=0.0, le=600.0)] = 5.0
    source_allowed_hosts: SettingList = Field(default_factory=list)
    dataset_roots: SettingList = Field(default_factory=list)
    source_allow_private_addresses: bool = False
    source_max_bytes: Annotated[int, Field(gt=0)] = 512 << 20
    source_timeout_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    source_ca_bundle: Path | None = None

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        return parse_device(value)

    @field_validator("redis_url", "broker_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        # Both are broker URLs unless broker_url is set; Celery takes no unix:// URL.
        return None if value is None else check_redis_url(value, broker=True)

    @model_validator(mode="after")
    def _limits_ordered(self) -> WorkerSettings:
        if not self.soft_time_limit < self.time_limit < self.visibility_timeout:
            raise ValueError(
                "expected soft_time_limit < time_limit < visibility_timeout, got "
                f"{self.soft_time_limit}, {self.time_limit}, {self.visibility_timeout}"
            )
        return self

    @property
    def image_limits(self) -> ImageLimits:
        """The API's image limits, read from the same variables (``api_schemas.images``)."""
        return ImageLimits(self.max_pixels_per_image, self.max_compression_ratio)


@lru_cache(maxsize=1)
def get_settings() -> WorkerSettings:
    """The process's settings, read from the environment on first use."""
    return WorkerSettings()
