"""Settings of the API process: one ``BaseSettings`` class, read from ``RA_*`` variables.

API keys are configured as a JSON object mapping each tenant to the SHA-256 hex digest of its
key, so keys are never stored in clear::

    key=$(openssl rand -hex 32)
    digest=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
    export RA_API_KEYS="{\\"acme\\": \\"$digest\\"}"

Clients then send ``Authorization: Bearer $key``. The rule, decided here and nowhere else:

* keys configured: every ``/v1`` request needs a valid bearer key (else 401), whatever the
  host; ``RA_LOCAL_MODE`` is then ignored (keys win);
* no keys: the service refuses to start unless ``RA_LOCAL_MODE=true``, which serves everyone
  as tenant ``local`` and is refused unless the server binds a loopback address (``RA_HOST``,
  set by the launcher; :func:`is_loopback` is the rule, the launcher's too).
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Final, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from api_schemas.cost import DEFAULT_MAX_JOB_MEMORY_BYTES
from api_schemas.images import DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_PIXELS, ImageLimits
from api_schemas.net import is_loopback
from api_schemas.setting_list import SettingList
from jobstore.connection import check_redis_url
from jobstore.settings import StoreSettings

LOCAL_TENANT: Final = "local"
TENANT_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
MIB: Final = 1 << 20
GIB: Final = 1 << 30


__all__ = ["LOCAL_TENANT", "ServiceSettings", "UnsafeSettingsError", "get_settings", "is_loopback"]


class UnsafeSettingsError(ValueError):
    """The configuration would run the service insecurely or not at all."""


class ServiceSettings(StoreSettings):
    """Everything the API process can be told; fails fast on unsafe combinations."""

    model_config = SettingsConfigDict(env_prefix="RA_", extra="ignore", frozen=True)

    retention_seconds: Annotated[int, Field(gt=0)] = 7 * 86400
    max_body_bytes: Annotated[int, Field(gt=0)] = 512 * MIB
    max_pixels_per_image: Annotated[int, Field(gt=0)] = DEFAULT_MAX_PIXELS
    """Largest image; the workers read the same variable (``api_schemas.images``)."""
    max_compression_ratio: Annotated[float, Field(ge=1.0)] = DEFAULT_MAX_COMPRESSION_RATIO
    """Largest declared compression ratio of an image file (pixel bytes as stored per file
    byte); beyond it the part is a 422, refused without decoding. The workers read it too."""
    max_concurrent_submissions: Annotated[int, Field(gt=0, le=256)] = 2
    """Submissions this process inspects and stores at once, in threads of their own; the
    rest wait their turn, so health checks and polling keep their threads and the GIL
    (benchmarks/bench_healthz_flood.py: more threads add no throughput, only latency)."""
    max_pairs_per_job: Annotated[int, Field(gt=0, le=100_000)] = 1024
    max_jobs_in_flight_per_tenant: Annotated[int, Field(gt=0)] = 16
    max_queued_jobs: Annotated[int, Field(gt=0)] = 10_000
    """Queued jobs over all tenants; beyond it submissions are 503 with ``Retry-After``."""
    max_job_memory_bytes: Annotated[int, Field(gt=0)] = DEFAULT_MAX_JOB_MEMORY_BYTES
    """Memory one job may need on a worker (``api_schemas.cost``'s estimate, the workers read
    the same variable); a job over it is a 413 (its images) or 422 (its options) problem."""
    max_stored_bytes_per_tenant: Annotated[int, Field(gt=0)] = 10 * GIB
    """Bytes a tenant's jobs may keep in the payload store (inputs, reports, maps) until they
    are deleted or expire; a submission that would go beyond is a 413 problem."""
    min_free_bytes: Annotated[int, Field(ge=0)] = GIB
    """Free space kept on the payload store's disk for Redis and running jobs: a submission
    that would leave less is a 507 problem, and ``/readyz`` says ``storage: full`` below it."""
    api_keys: dict[str, str] = Field(default_factory=dict)
    """Tenant -> SHA-256 hex digest of its API key (JSON in ``RA_API_KEYS``)."""
    local_mode: bool = False
    """Serve callers without a key as tenant ``local``; only without ``api_keys`` (keys win:
    with keys configured this is always false) and only on a loopback ``host``."""
    host: str = "127.0.0.1"
    """Address the HTTP server binds; checked against ``local_mode``."""
    public_base_url: AnyHttpUrl | None = None
    """Origin used in ``Location`` and job links; root-relative links when unset."""
    poll_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 2
    """``Retry-After`` sent with unfinished jobs."""
    readiness_cache_seconds: Annotated[float, Field(ge=0)] = 5.0
    worker_ping_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    broker_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    html_thumbnails: Annotated[int, Field(ge=0, le=1000)] = 12
    """Pairs of the HTML report shown with thumbnails, the riskiest first; the rest are table
    rows, so a big job's page stays small (about 10 kB a thumbnailed pair)."""
    metrics_enabled: bool = True
    """Serve ``/metrics``; when false it is a 404."""
    metrics_token_sha256: str | None = None
    """SHA-256 hex digest of the bearer token ``/metrics`` then requires (tenant keys do not
    open it); open when unset. The metrics are aggregates over all tenants, never per tenant,
    but they do show the service's load: set it when tenants can reach the port."""
    log_format: Literal["json", "text"] = "json"
    """``json``: one JSON object per line (uvicorn's logs included); ``text``: plain lines."""
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")] = "INFO"
    callback_allowed_hosts: SettingList = Field(default_factory=list)
    """Hosts a job's ``callback_url`` may name (JSON array or comma-separated; ``*.example.com``
    for subdomains); empty: webhooks are off. The workers read the same variable."""
    callback_secret: dict[str, SecretStr] = Field(default_factory=dict)
    """Tenant -> secret that signs its webhooks (JSON object in ``RA_CALLBACK_SECRET``; the
    workers sign with it, the API only checks that the tenant has one)."""
    source_allowed_hosts: SettingList = Field(default_factory=list)
    """Hosts a job's https sources may name (``RA_SOURCE_ALLOWED_HOSTS``, as above)."""
    dataset_roots: SettingList = Field(default_factory=list)
    """Directories (absolute) under which ``file://`` sources may be read
    (``RA_DATASET_ROOTS``); empty: file sources are off. The workers read the same variable."""

    @field_validator("dataset_roots")
    @classmethod
    def _absolute_roots(cls, roots: list[str]) -> list[str]:
        for root in roots:
            if not root.startswith("/"):
                raise UnsafeSettingsError(f"dataset root {root!r} must be an absolute path")
        return roots

    @field_validator("redis_url")
    @classmethod
    def _store_url(cls, value: str) -> str:
        return check_redis_url(value, broker=False)

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        return None if value is None else check_redis_url(value, broker=True)

    @field_validator("metrics_token_sha256")
    @classmethod
    def _token_is_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.strip().lower()
        if _SHA256_HEX.fullmatch(digest) is None:
            raise UnsafeSettingsError(
                "metrics_token_sha256 must be the SHA-256 hex digest of the token, not the token"
            )
        return digest

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("api_keys")
    @classmethod
    def _keys_are_digests(cls, keys: dict[str, str]) -> dict[str, str]:
        normalised: dict[str, str] = {}
        for tenant, digest in keys.items():
            if re.fullmatch(TENANT_PATTERN, tenant) is None:
                raise UnsafeSettingsError(f"tenant name {tenant!r} must match {TENANT_PATTERN}")
            if tenant == LOCAL_TENANT:
                raise UnsafeSettingsError(f"tenant name {LOCAL_TENANT!r} is reserved")
            value = digest.strip().lower()
            if _SHA256_HEX.fullmatch(value) is None:
                raise UnsafeSettingsError(
                    f"api_keys[{tenant!r}] must be the SHA-256 hex digest of the key, not the key"
                )
            normalised[tenant] = value
        if len(set(normalised.values())) != len(normalised):
            raise UnsafeSettingsError("two tenants share one API key")
        return normalised

    @model_validator(mode="before")
    @classmethod
    def _keys_win(cls, data: Any) -> Any:
        """With API keys configured, local mode is off, whatever ``RA_LOCAL_MODE`` says: the
        one place that decides whether a request without a key is served."""
        if isinstance(data, dict) and data.get("api_keys"):
            return {**data, "local_mode": False}
        return data

    @model_validator(mode="after")
    def _safe(self) -> ServiceSettings:
        if self.local_mode and not is_loopback(self.host):
            raise UnsafeSettingsError(
                "local mode serves without API keys and binds loopback only, "
                f"got host {self.host!r}"
            )
        if not self.local_mode and not self.api_keys:
            raise UnsafeSettingsError("configure RA_API_KEYS, or RA_LOCAL_MODE=true on 127.0.0.1")
        return self

    @property
    def image_limits(self) -> ImageLimits:
        """The image limits as the shared policy takes them (``api_schemas.images``)."""
        return ImageLimits(self.max_pixels_per_image, self.max_compression_ratio)

    @property
    def jobs_url(self) -> str:
        """URL of the jobs collection: absolute with ``public_base_url``, else root-relative."""
        base = str(self.public_base_url).rstrip("/") if self.public_base_url else ""
        return f"{base}/v1/jobs"

    @property
    def selfchecks_url(self) -> str:
        """URL of the self-checks collection, as :attr:`jobs_url`."""
        base = str(self.public_base_url).rstrip("/") if self.public_base_url else ""
        return f"{base}/v1/selfchecks"


@functools.cache
def get_settings() -> ServiceSettings:
    """The process's settings, read once from the environment on first use."""
    return ServiceSettings()
