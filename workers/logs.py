"""JSON logs of a Celery worker: its main process, its pool children and Celery's own lines.

Celery configures logging itself, in the worker's main process and again in every (spawned)
pool child, then sends ``after_setup_logger`` and ``after_setup_task_logger``. With
``RA_LOG_FORMAT=json`` (the default) the receivers here give the handlers Celery made the JSON
formatter of ``observability.logs``, so Celery's ``--loglevel``, ``--logfile`` and its
redirection of stray prints to the ``celery.redirected`` logger keep working, and every line
is one JSON object. Celery's start-up banner is written to the real stdout rather than logged,
so it is replaced by one JSON line (``celeryd_after_setup``).

Job context: in the pool child, ``task_prerun``/``task_postrun`` put the job id and its tenant
around each ``audit.run``, so every line the audit logs (and Celery's "succeeded" line, which
comes before ``task_postrun``) carries them. Celery logs "Task received" in the main process
with the task's arguments in ``record.data``; ``CeleryTaskJobFilter`` reads the job id from
there and looks its tenant up (one ``HGET``, cached), since the message carries the job id only.

Importing this module connects the receivers. ``workers.celery_app`` imports it, so the main
process has them before the worker starts, and lists it in ``include``, so each pool child
imports it before Celery sets up logging there.
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import Token
from typing import Any, Final

import redis
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    celeryd_after_setup,
    celeryd_init,
    task_postrun,
    task_prerun,
)
from celery.utils.log import get_multiprocessing_logger

from api_schemas.tasks import AUDIT_TASK
from jobstore import is_valid_job_id
from observability.logs import (
    JobContextFilter,
    JobLogContext,
    JsonLogFormatter,
    configure_logging,
    enter,
    leave,
)
from workers.settings import get_settings
from workers.stores import stores

logger = logging.getLogger(__name__)

_JOB_ID_IN_ARGS: Final = re.compile(r"[0-9a-f]{32}")
_TENANT_CACHE_SIZE: Final = 4096
_tenants: dict[str, str] = {}
_task_contexts: dict[str, Token[JobLogContext | None]] = {}


def tenant_of(job_id: str) -> str | None:
    """The job's tenant from its record, cached (a job never changes tenant); ``None`` when
    Redis cannot say. Never raises: it runs inside logging."""
    tenant = _tenants.get(job_id)
    if tenant is not None:
        return tenant
    try:
        tenant = stores().records.tenant_of(job_id)
    except (redis.RedisError, ValueError, OSError):
        return None
    if tenant is not None:
        if len(_tenants) >= _TENANT_CACHE_SIZE:
            _tenants.clear()
        _tenants[job_id] = tenant
    return tenant


class CeleryTaskJobFilter(logging.Filter):
    """Names the job and tenant on Celery's own lines about an ``audit.run`` task.

    Celery passes ``extra={"data": {"id", "name", "args", ...}}`` with its "received",
    "succeeded" and failure lines; ``args`` is the repr of the task's arguments, the job id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if not isinstance(data, dict) or data.get("name") != AUDIT_TASK:
            return True
        if hasattr(record, "job_id"):
            return True
        found = _JOB_ID_IN_ARGS.search(str(data.get("args", "")))
        if found is not None:
            record.job_id = found.group()
            tenant = tenant_of(found.group())
            if tenant is not None:
                record.tenant = tenant
        return True


def use_json(target: logging.Logger) -> None:
    """Give every handler of ``target`` the JSON formatter and the job filters."""
    for handler in target.handlers:
        handler.setFormatter(JsonLogFormatter())
        if not any(isinstance(f, CeleryTaskJobFilter) for f in handler.filters):
            handler.addFilter(CeleryTaskJobFilter())
            handler.addFilter(JobContextFilter())


def _json_wanted() -> bool:
    return get_settings().log_format == "json"


@after_setup_logger.connect(dispatch_uid="ra-json-root-logger")  # type: ignore[untyped-decorator]
def _root_logger_as_json(logger: logging.Logger, **_: Any) -> None:
    if _json_wanted():
        use_json(logger)
        # billiard's pool-management logger gets its own handler from Celery.
        use_json(get_multiprocessing_logger())


@after_setup_task_logger.connect(  # type: ignore[untyped-decorator]
    dispatch_uid="ra-json-task-logger"
)
def _task_logger_as_json(logger: logging.Logger, **_: Any) -> None:
    if _json_wanted():
        use_json(logger)


@celeryd_init.connect(dispatch_uid="ra-json-early")  # type: ignore[untyped-decorator]
def _json_before_celery_logging(**_: Any) -> None:
    # Sent before Celery sets up logging, and before it warns (a Python warning, printed raw
    # until then) that it runs as root. Celery's own set-up later replaces this root handler.
    if _json_wanted():
        configure_logging("json")
        logging.captureWarnings(True)


@celeryd_after_setup.connect(dispatch_uid="ra-json-banner")  # type: ignore[untyped-decorator]
def _banner_as_one_line(sender: str, instance: Any, conf: Any, **_: Any) -> None:
    # Sent after Celery set up logging and before it starts the pool and prints its multi-line
    # banner to the real stdout (not through logging) unless it is quiet.
    if not _json_wanted():
        return
    # A spawned pool child logs through a handler billiard makes from these variables until
    # Celery's set-up runs in it (its "calling self.run()" line). Celery passes its text format
    # and the worker's level; JSON instead, and errors only, as Celery gives billiard's logger
    # in the main process. %-formatting cannot escape the message, but billiard's messages
    # there are fixed texts with numbers.
    os.environ["_MP_FORK_LOGLEVEL_"] = str(logging.ERROR)
    os.environ["_MP_FORK_LOGFORMAT_"] = (
        '{"timestamp": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", '
        '"message": "%(message)s"}'
    )
    instance.quiet = True
    queues = sorted(getattr(getattr(instance.app, "amqp", None), "queues", {}) or [])
    logger.info(
        "worker %s starting",
        sender,
        extra={"worker": sender, "queues": queues, "concurrency": instance.concurrency},
    )


@task_prerun.connect(dispatch_uid="ra-job-log-context")  # type: ignore[untyped-decorator]
def _enter_job_context(task_id: str, task: Any, args: Any = None, **_: Any) -> None:
    if getattr(task, "name", None) != AUDIT_TASK or not isinstance(args, list | tuple) or not args:
        return
    job_id = args[0]
    if isinstance(job_id, str) and is_valid_job_id(job_id):
        _task_contexts[task_id] = enter(job_id, tenant_of(job_id))


@task_postrun.connect(dispatch_uid="ra-job-log-context")  # type: ignore[untyped-decorator]
def _leave_job_context(task_id: str, **_: Any) -> None:
    token = _task_contexts.pop(task_id, None)
    if token is not None:
        leave(token)
