"""Fixtures of the integration tests: one real Redis, one real worker, one uvicorn per session.

Everything under tests/integration is marked ``integration``. The lease is short (5 s) and the
sweeper fast (0.5 s) so that a worker killed mid-job is recovered within seconds; batches hold
two pairs so that progress and cancellation are visible on small jobs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from jobstore import JobRecords, PayloadStore
from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import FAST_RECOVERY, ApiServer, WorkerProcess, stack_environment

LEASE_SECONDS = int(FAST_RECOVERY["RA_LEASE_SECONDS"])
WEBHOOK_SECRET = "integration-webhook-secret"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data directory (payload store) and logs of the session's processes."""
    path = tmp_path_factory.mktemp("stack")
    (path / "data").mkdir()
    (path / "logs").mkdir()
    (path / "datasets").mkdir()
    return path


@pytest.fixture(scope="session")
def stack_redis() -> Iterator[RedisServer]:
    """The stack's own Redis server: tests elsewhere flush the shared ``redis_server``."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def stack_env(stack_redis: RedisServer, stack_dir: Path) -> dict[str, str]:
    """Environment of the worker and API processes."""
    return stack_environment(
        stack_redis.url,
        stack_dir / "data",
        **FAST_RECOVERY,
        # Webhooks to loopback receivers, retried fast and given up within seconds.
        RA_CALLBACK_ALLOWED_HOSTS="127.0.0.1",
        RA_CALLBACK_SECRET=json.dumps({"local": WEBHOOK_SECRET}),
        RA_CALLBACK_BACKOFF_BASE_SECONDS="0.2",
        RA_CALLBACK_BACKOFF_MAX_SECONDS="1",
        RA_CALLBACK_GIVE_UP_SECONDS="8",
        RA_CALLBACK_TIMEOUT_SECONDS="2",
        RA_CALLBACK_POLL_SECONDS="0.2",
        # Sources from a loopback image server and the session's dataset root.
        RA_SOURCE_ALLOWED_HOSTS="127.0.0.1",
        RA_SOURCE_ALLOW_PRIVATE_ADDRESSES="true",
        RA_SOURCE_TIMEOUT_SECONDS="3",
        RA_DATASET_ROOTS=str(stack_dir / "datasets"),
    )


@pytest.fixture(scope="session")
def worker(stack_env: dict[str, str], stack_dir: Path) -> Iterator[WorkerProcess]:
    """The session's Celery worker; a test that kills it starts it again before returning."""
    process = WorkerProcess(stack_env, stack_dir / "logs").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def api(stack_env: dict[str, str], stack_dir: Path) -> Iterator[ApiServer]:
    """uvicorn serving the API on 127.0.0.1."""
    server = ApiServer(stack_env, stack_dir / "logs" / "api.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(api: ApiServer, worker: WorkerProcess) -> Iterator[httpx.Client]:
    """An HTTP client of the API with a worker running behind it."""
    with httpx.Client(base_url=api.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture
def records(stack_redis: RedisServer) -> Iterator[JobRecords]:
    """The job records, read directly (never flushed: the worker shares the server)."""
    connection: redis.Redis = stack_redis.client()
    try:
        yield JobRecords(connection)
    finally:
        connection.close()


@pytest.fixture
def payloads(stack_dir: Path) -> PayloadStore:
    """The payload store the API and worker share."""
    return PayloadStore(stack_dir / "data")
