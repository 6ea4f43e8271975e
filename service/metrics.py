"""``/metrics``: a Prometheus collector that reads the job store and the broker at scrape time.

The workers record their observations in Redis (``observability.telemetry``); this collector turns
them, the job counts by state, the broker's queue and the workers' heartbeats into metric
families. Nothing is kept in the API process, so any number of API replicas report the same
figures and a restart of the API loses nothing. Every metric is an aggregate over all tenants:
no label carries a tenant, a job id or anything a tenant sent.

A scrape that cannot reach Redis or the broker fails (503), which Prometheus records as
``up == 0``, rather than reporting zeros that look like an idle service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from api_schemas.jobs import JOB_STATES
from api_schemas.problems import ProblemError
from observability.telemetry import (
    JOB_DURATION,
    JOB_RUN,
    PAIR,
    RATE_WINDOW_SECONDS,
    HistogramData,
    Telemetry,
)
from service.auth import bearer_token
from service.dispatch import DispatchError
from service.errors import AuthenticationRequiredError, ServiceUnavailableError
from service.resources import Resources
from service.settings import ServiceSettings

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format that ``generate_latest`` writes and every Prometheus reads."""
PREFIX = "restoration_audit"
BROKER_RETRY_AFTER = 5

_HISTOGRAMS = (
    (
        JOB_DURATION,
        "job_duration_seconds",
        "Seconds from submission to the end of jobs that a worker finished, by final state.",
    ),
    (
        JOB_RUN,
        "job_run_duration_seconds",
        "Seconds from a worker taking the job to its end, by final state.",
    ),
)


class ServiceCollector(Collector):
    """Collects the service's metrics from Redis and the broker on each scrape."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.telemetry = Telemetry(resources.redis, prefix=resources.settings.redis_prefix)

    def collect(self) -> Iterator[Metric]:
        records = self.resources.records
        counts = records.counts_by_state()
        jobs = GaugeMetricFamily(
            f"{PREFIX}_jobs", "Jobs in the job store by state (all tenants).", labels=["state"]
        )
        for job_state in JOB_STATES:
            jobs.add_metric([job_state], counts.get(job_state, 0))
        yield jobs
        yield GaugeMetricFamily(
            f"{PREFIX}_expired_leases",
            "Running jobs whose worker lease expired (the sweeper requeues them).",
            value=len(records.expired_leases()),
        )
        try:
            depth = self.resources.dispatcher.queue_depth()
        except DispatchError as exc:
            raise ServiceUnavailableError(
                f"the broker is unreachable: {exc}", retry_after=BROKER_RETRY_AFTER
            ) from exc
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_messages",
            "Audit messages waiting in the broker's queue (not those a worker holds).",
            value=depth,
        )
        snapshot = self.telemetry.snapshot()
        yield GaugeMetricFamily(
            f"{PREFIX}_workers",
            "Workers whose heartbeat is current.",
            value=snapshot.live_workers,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pairs",
            "Pairs audited by the workers.",
            value=snapshot.pairs_total,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_pairs_per_second",
            f"Pairs audited per second over the last {RATE_WINDOW_SECONDS} s.",
            value=snapshot.pairs_last_window / RATE_WINDOW_SECONDS,
        )
        for key, name, help_text in _HISTOGRAMS:
            family = HistogramMetricFamily(f"{PREFIX}_{name}", help_text, labels=["state"])
            for final_state, series in snapshot.histograms[key].items():
                _add(family, [final_state], series)
            yield family
        pairs = HistogramMetricFamily(
            f"{PREFIX}_pair_duration_seconds",
            "Seconds a worker spent per pair: each batch's time shared by its pairs.",
        )
        for series in snapshot.histograms[PAIR].values():
            _add(pairs, [], series)
        yield pairs


def _add(family: HistogramMetricFamily, labels: list[str], series: HistogramData) -> None:
    family.add_metric(labels, buckets=list(series.buckets), sum_value=series.sum)


def metrics_registry(resources: Resources) -> CollectorRegistry:
    """A registry of this app's collector only (not the process-global one, so several apps
    in one process, as in the tests, do not collide)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(resources))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry``."""
    return generate_latest(registry)


def check_metrics_token(settings: ServiceSettings, authorization: str | None) -> None:
    """Require the metrics token when one is configured.

    Raises:
        AuthenticationRequiredError: A token is configured and the request lacks it.
    """
    expected = settings.metrics_token_sha256
    if expected is None:
        return
    token = bearer_token(authorization)
    digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
    if not hmac.compare_digest(digest, expected):
        message = "send 'Authorization: Bearer <metrics token>'"
        raise AuthenticationRequiredError(
            message, errors=[ProblemError(part="authorization", message=message)]
        )
