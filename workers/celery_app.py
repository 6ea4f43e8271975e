"""The Celery application and every Celery setting of the project (STYLE.md section 5).

Why each setting (PLATFORM.md records what was measured):

* JSON only, and the message carries a job id, never images or tensors.
* One explicit queue (``audit``) and ``task_create_missing_queues=False``: a typo in a route
  fails loudly instead of filling a queue nobody consumes.
* ``task_acks_late`` + ``task_reject_on_worker_lost`` + ``worker_prefetch_multiplier=1``: a pool
  child that dies mid-task gets its message back at once, and an idle GPU worker never sits on
  a second job. Delivery is at least once, so the task is idempotent (``records.try_start``).
* Soft and hard time limits below the visibility timeout (checked by ``WorkerSettings``), so a
  long audit is never redelivered to a second worker while it still runs.
* A short ``unacked_restore_interval`` with throttle 1: kombu's sweep of unacknowledged
  messages runs every few seconds. A whole worker killed is recovered faster by the lease
  sweeper (``workers.sweeper``), which this setting only backs up.
* prefork with ``worker_pool_start_method="spawn"``: time limits and revoke need prefork (solo
  ignores them), and CUDA must never be initialised in a forked child.
* No result backend: job state lives in the project's own records (``jobstore``).

``create_celery_app(settings)`` builds a configured app; the module-level ``app`` (for
``celery -A workers.celery_app``) reads ``WorkerSettings`` from the environment lazily, on first
use of its configuration, so importing this module never reads the environment or the network.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, current_app
from celery.signals import worker_init, worker_process_init
from kombu import Exchange, Queue  # type: ignore[attr-defined]  # kombu ships no stubs

from api_schemas.tasks import AUDIT_QUEUE, AUDIT_TASK
from jobstore.connection import celery_url_options
from workers import logs as _logs  # noqa: F401  # its receivers run before the worker starts
from workers.process_tuning import long_lived_imports, passive_thread_waits_in
from workers.settings import WorkerSettings, get_settings

APP_NAME = "restoration_audit"
TASK_MODULES = (
    "workers.celery_app",  # its worker_process_init receiver configures each pool child
    "workers.tasks.audit",
    "workers.sweeper",
    "workers.callbacks",
    "workers.heartbeat",
    "workers.logs",
)
"""Imported by the worker's main process and by each pool child before logging is set up;
this module and the last four connect signal receivers (pool child configuration, sweeper,
webhook deliverer, heartbeat, JSON logs)."""


def _audit_queue() -> Queue:
    exchange = Exchange(AUDIT_QUEUE, type="direct")  # type: ignore[no-untyped-call]
    return Queue(AUDIT_QUEUE, exchange, routing_key=AUDIT_QUEUE)  # type: ignore[no-untyped-call]


def celery_config(settings: WorkerSettings) -> dict[str, Any]:
    """Every Celery setting, derived from the worker settings."""
    # TLS (rediss://) and Sentinel (sentinel://) need options beside the URL.
    url_options = celery_url_options(
        settings.effective_broker_url, sentinel_master=settings.redis_sentinel_master
    )
    return {
        **url_options,
        "broker_url": settings.effective_broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": 1,
            **url_options.get("broker_transport_options", {}),
        },
        # Serialisation: JSON in and out; pickle is never accepted.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        # Routing: one explicit queue.
        "task_queues": (_audit_queue(),),
        "task_default_queue": AUDIT_QUEUE,
        "task_default_exchange": AUDIT_QUEUE,
        "task_default_routing_key": AUDIT_QUEUE,
        "task_create_missing_queues": False,
        "task_routes": {AUDIT_TASK: {"queue": AUDIT_QUEUE, "routing_key": AUDIT_QUEUE}},
        # Delivery: at least once, one message at a time per pool process.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A broker blip must not throw away a GPU audit: the task runs on (its records have their
        # own connection), its ack is lost, and the redelivery an hour later is skipped by
        # try_start because the job has finished.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Limits.
        "task_soft_time_limit": settings.soft_time_limit,
        "task_time_limit": settings.time_limit,
        # State is ours (jobstore), not Celery's.
        "result_backend": None,
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        "task_track_started": False,
        # Pool.
        "worker_pool": "prefork",
        "worker_concurrency": settings.concurrency,
        "worker_pool_start_method": "spawn",
        "worker_send_task_events": False,
        "include": list(TASK_MODULES),
    }


def create_celery_app(settings: WorkerSettings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (from the environment when ``None``).

    With explicit settings the configuration is applied at once; without, it is read on first
    use, so building the app touches neither the environment nor the network.
    """
    celery = Celery(APP_NAME, set_as_current=False)
    if settings is not None:
        celery.conf.update(celery_config(settings))
    else:
        celery.add_defaults(lambda: celery_config(get_settings()))
    return celery


@worker_process_init.connect(dispatch_uid="ra-configure-pool-child")  # type: ignore[untyped-decorator]
def _configure_pool_child(**_: Any) -> None:
    """Give a pool child's app the configuration its parent read lazily.

    The prefork pool (spawn) pickles the worker's app into each child, and a pickled app
    keeps its explicit changes but not the lazy ``add_defaults`` source: the child's app had
    Celery's defaults, so ``self.retry`` published to ``amqp://localhost`` and the retry
    became a reject (the job then waited for the lease sweeper and lost an attempt).
    """
    child_app = current_app._get_current_object()
    if "broker_url" not in child_app.conf.changes:  # explicit settings travel with the pickle
        child_app.conf.update(celery_config(get_settings()))


@worker_process_init.connect(dispatch_uid="ra-freeze-pool-child")  # type: ignore[untyped-decorator]
def _freeze_pool_child(**_: Any) -> None:
    """Freeze a pool child's modules (torch, the engine): they live as long as the child, and
    no garbage collection during a job needs to walk them (workers/process_tuning.py)."""
    with long_lived_imports():
        import workers.tasks.audit  # noqa: F401  # loaded already by the pool's task imports


@worker_init.connect(dispatch_uid="ra-pool-child-environment")  # type: ignore[untyped-decorator]
def _pool_child_environment(**_: Any) -> None:
    """Before the pool starts: its children (spawned with this environment) let idle OpenMP
    threads sleep, unless the operator chose a wait policy (workers/process_tuning.py). They
    keep the system allocator: the job memory budget's model is calibrated to it."""
    passive_thread_waits_in(os.environ)


app = create_celery_app()
"""The app named by ``celery -A workers.celery_app``; configured from ``RA_*`` on first use."""
