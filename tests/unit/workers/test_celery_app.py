"""The Celery configuration: every setting that delivery, recovery and GPUs depend on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from pydantic import ValidationError

from api_schemas.tasks import AUDIT_QUEUE, AUDIT_TASK
from workers.celery_app import create_celery_app
from workers.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def app() -> Celery:
    settings = WorkerSettings(
        redis_url="redis://127.0.0.1:1/0",
        soft_time_limit=100,
        time_limit=120,
        visibility_timeout=600,
        unacked_restore_interval=2,
    )
    return create_celery_app(settings)


def test_delivery_is_at_least_once_one_message_at_a_time(app: Celery) -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_concurrency == 1


def test_only_json_is_accepted(app: Celery) -> None:
    assert app.conf.task_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_one_explicit_queue_and_no_implicit_ones(app: Celery) -> None:
    assert [q.name for q in app.conf.task_queues] == [AUDIT_QUEUE]
    assert app.conf.task_create_missing_queues is False
    assert app.conf.task_default_queue == AUDIT_QUEUE
    router = app.amqp.router
    assert router.route({}, AUDIT_TASK, args=["x"])["queue"].name == AUDIT_QUEUE
    with pytest.raises(KeyError, match="nowhere"):
        router.route({"queue": "nowhere"}, AUDIT_TASK, args=["x"])


def test_limits_sit_below_the_visibility_timeout(app: Celery) -> None:
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_soft_time_limit == 100
    assert app.conf.task_time_limit == 120
    assert app.conf.task_time_limit < visibility == 600
    assert app.conf.broker_transport_options["unacked_restore_interval"] == 2
    assert app.conf.broker_transport_options["unacked_restore_throttle"] == 1


def test_pool_is_prefork_spawned_without_results(app: Celery) -> None:
    assert app.conf.worker_pool == "prefork"
    assert app.conf.worker_pool_start_method == "spawn"
    assert app.conf.result_backend is None
    assert app.conf.task_ignore_result is True
    assert app.conf.task_track_started is False
    assert app.conf.broker_connection_retry_on_startup is True


def test_audit_task_is_registered_by_name_with_late_acks(app: Celery) -> None:
    app.loader.import_default_modules()
    app.finalize(auto=True)
    task = app.tasks[AUDIT_TASK]
    assert task.acks_late is True
    assert task.ignore_result is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"soft_time_limit": 200, "time_limit": 100}, "soft_time_limit < time_limit"),
        ({"time_limit": 4000, "visibility_timeout": 3600}, "time_limit < visibility_timeout"),
        ({"device": "tpu"}, "expected auto, cpu, cuda or cuda:N"),
        ({"redis_url": "http://x"}, "redis://"),
    ],
)
def test_unsafe_settings_fail_fast(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkerSettings.model_validate(overrides)


def test_settings_come_from_ra_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RA_REDIS_URL", "redis://127.0.0.1:6390/2")
    monkeypatch.setenv("RA_LEASE_SECONDS", "7")
    monkeypatch.setenv("RA_DEVICE", "cuda:1")
    settings = WorkerSettings()
    assert settings.redis_url == "redis://127.0.0.1:6390/2"
    assert settings.lease_seconds == 7
    assert settings.device == "cuda:1"
    assert create_celery_app(settings).conf.broker_url == "redis://127.0.0.1:6390/2"


@pytest.mark.integration  # starts a process
def test_import_reads_no_environment_and_opens_no_connection() -> None:
    code = (
        "import os\n"
        "os.environ['RA_TIME_LIMIT'] = 'not a number'\n"  # would fail if settings were read
        "import workers.celery_app as m\n"
        "assert not m.app.configured\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.integration  # starts a process
def test_module_app_is_configured_from_environment_on_first_use() -> None:
    code = (
        "import os\n"
        "os.environ['RA_REDIS_URL'] = 'redis://127.0.0.1:6391/3'\n"
        "from workers.celery_app import app\n"
        "assert app.conf.broker_url == 'redis://127.0.0.1:6391/3', app.conf.broker_url\n"
        "assert app.conf.task_acks_late is True\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
