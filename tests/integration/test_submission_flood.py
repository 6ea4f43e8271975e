"""A flood of decompression-bomb submissions against uvicorn over loopback (issue #11, item 3).

45 clients at once, 16 times over (720 requests), each POST a pair of 2.5 KB TIFFs whose
strips all point at one deflated run (160 MB of float pixels declared). The API inspects
headers only, so each is a 422 naming its parts; meanwhile ``/healthz`` and the polling of a
queued job are timed in the same run, and the API's peak memory is read from /proc. No worker
runs: nothing here needs one, and the probed job stays queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import ApiServer, sample_pairs, submit
from tests.support.flood import flood_and_probe

CONCURRENCY = 45
WAVES = 16
HEALTH_P99_BUDGET_S = 0.2
POLL_P99_BUDGET_S = 0.5


@pytest.fixture
def flood_api(stack_env: dict[str, str], tmp_path: Path) -> Iterator[ApiServer]:
    server = ApiServer(dict(stack_env, RA_MAX_JOBS_IN_FLIGHT_PER_TENANT="16"), tmp_path / "api.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_flood_of_bombs_is_refused_while_health_and_polling_stay_responsive(flood_api):
    with httpx.Client(base_url=flood_api.base_url, timeout=30.0) as client:
        queued = submit(client, sample_pairs(1, 32), {"maps": False})
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]

    assert flood_api.popen is not None
    result = flood_and_probe(
        flood_api.base_url,
        concurrency=CONCURRENCY,
        waves=WAVES,
        job_id=job_id,
        api_pid=flood_api.popen.pid,
    )
    print("\n" + result.summary())

    assert len(result.statuses) == CONCURRENCY * WAVES
    assert {status for status, _ in result.statuses} == {422}
    assert {parts for _, parts in result.statuses} == {"ground_truth[0],restored[0]"}
    assert result.probe_failures == []
    assert len(result.health) >= 50, "the flood ended before the prober measured it"
    assert result.quantile(result.health, 0.99) < HEALTH_P99_BUDGET_S
    assert result.quantile(result.polls, 0.99) < POLL_P99_BUDGET_S
    if result.peak_rss_mb is not None:  # 45 full decodes took the API to 2.6 GB
        assert result.peak_rss_mb < 400
