"""The metrics kept in Redis: buckets, counters, recent rate and heartbeats, on a real server."""

from __future__ import annotations

import pytest

from jobstore import JobRecords
from observability.telemetry import (
    JOB_BUCKETS,
    JOB_DURATION,
    JOB_RUN,
    PAIR,
    PAIR_BUCKETS,
    RATE_WINDOW_SECONDS,
    Telemetry,
    bucket_field,
)
from tests.support.clock import ManualClock


@pytest.fixture
def telemetry(redis_client) -> Telemetry:
    return Telemetry(redis_client)


def test_a_value_on_a_bound_falls_in_that_bucket_and_beyond_the_last_in_inf() -> None:
    assert bucket_field("succeeded", JOB_BUCKETS, 0.5) == "succeeded:le:0.5"
    assert bucket_field("succeeded", JOB_BUCKETS, 0.51) == "succeeded:le:1.0"
    assert bucket_field("", PAIR_BUCKETS, 0.0) == ":le:0.01"
    assert bucket_field("failed", JOB_BUCKETS, 1e9) == "failed:le:+Inf"


def test_pairs_fill_counter_histogram_and_rate(telemetry: Telemetry) -> None:
    telemetry.record_pairs(2, 0.3)  # 0.15 s a pair
    telemetry.record_pairs(1, 4.0)
    telemetry.record_pairs(0, 1.0)  # nothing done: nothing recorded
    snapshot = telemetry.snapshot()
    assert snapshot.pairs_total == 3
    assert snapshot.pairs_last_window == 3
    (series,) = snapshot.histograms[PAIR].values()
    assert series.count == 3
    assert series.sum == pytest.approx(4.3)
    cumulative = dict(series.buckets)
    assert cumulative["0.1"] == 0
    assert cumulative["0.25"] == 2
    assert cumulative["2.5"] == 2
    assert cumulative["5.0"] == 3
    assert series.buckets[-1] == ("+Inf", 3)


def test_the_rate_window_forgets_older_seconds(telemetry: Telemetry, redis_client) -> None:
    seconds, _ = redis_client.time()
    redis_client.set(f"ra:metrics:pairs:{seconds - RATE_WINDOW_SECONDS}", 50)  # just outside
    redis_client.set(f"ra:metrics:pairs:{seconds - RATE_WINDOW_SECONDS + 2}", 7)  # inside
    assert telemetry.snapshot().pairs_last_window == 7


def test_jobs_are_observed_by_final_state_from_their_record(
    telemetry: Telemetry, redis_client
) -> None:
    records = JobRecords(redis_client)
    records.create("a" * 32, "acme", 1)
    assert records.try_start("a" * 32, "w", 30)
    assert records.finish("a" * 32, "w", "succeeded")
    telemetry.record_finished(records.require("a" * 32))
    telemetry.record_job("failed", 2000.0, None)  # failed before it ever ran
    snapshot = telemetry.snapshot()
    done = snapshot.histograms[JOB_DURATION]
    assert set(done) == {"succeeded", "failed"}
    assert done["succeeded"].count == 1
    assert 0 <= done["succeeded"].sum < 5
    assert dict(done["failed"].buckets)["1800.0"] == 0
    assert done["failed"].buckets[-1] == ("+Inf", 1)
    assert set(snapshot.histograms[JOB_RUN]) == {"succeeded"}


def test_workers_count_while_their_heartbeat_is_current(redis_client) -> None:
    clock = ManualClock()
    telemetry = Telemetry(redis_client, clock=clock)
    telemetry.heartbeat("w1@host", interval_seconds=0.1)  # live for 0.3 s
    telemetry.heartbeat("w2@host", interval_seconds=60)
    assert telemetry.snapshot().live_workers == 2
    telemetry.leave("w2@host")
    assert telemetry.snapshot().live_workers == 1
    clock.advance(0.4)
    assert telemetry.snapshot().live_workers == 0


def test_an_empty_store_reports_zeros(telemetry: Telemetry) -> None:
    snapshot = telemetry.snapshot()
    assert (snapshot.pairs_total, snapshot.pairs_last_window, snapshot.live_workers) == (0, 0, 0)
    assert all(series == {} for series in snapshot.histograms.values())
