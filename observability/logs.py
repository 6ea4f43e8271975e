"""Structured logs of the API and the workers: one JSON object per line, with the job in context.

It lives in ``observability``, which both the API and the workers import and which needs
neither FastAPI, Celery nor torch. Every line carries ``timestamp`` (UTC, ISO 8601), ``level``,
``logger`` and ``message``; a line logged while a job is being handled also carries ``job_id``
and ``tenant``. Those come from a context variable that holds a mutable ``JobLogContext``: the
API's middleware sets a fresh one per request and the dependencies that learn the tenant and
the job fill it in. It is mutable, not replaced, because FastAPI runs sync dependencies and
endpoints in worker threads on a *copy* of the request's context: a ``ContextVar.set`` made
there would not be seen by the lines logged later in the request (uvicorn's access line), but a
change to the shared object is. The workers set it around each task (``workers.logs``).

``configure_logging`` installs one stderr handler on the root logger, which it owns and
replaces when called again, and routes uvicorn's loggers through it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


@dataclass
class JobLogContext:
    """The job (and tenant) the current request or task is about; ``None`` until known."""

    job_id: str | None = None
    tenant: str | None = None


_current: ContextVar[JobLogContext | None] = ContextVar("ra_job_log_context", default=None)


def current_context() -> JobLogContext | None:
    """The context of the current request or task, if one was started."""
    return _current.get()


def start_context(job_id: str | None = None, tenant: str | None = None) -> JobLogContext:
    """Start a fresh context in the current ``contextvars`` context and return it."""
    context = JobLogContext(job_id=job_id, tenant=tenant)
    _current.set(context)
    return context


def bind(*, job_id: str | None = None, tenant: str | None = None) -> None:
    """Fill in the current context (visible to every line of this request or task)."""
    context = _current.get()
    if context is None:
        return
    if job_id is not None:
        context.job_id = job_id
    if tenant is not None:
        context.tenant = tenant


def enter(job_id: str | None, tenant: str | None = None) -> Token[JobLogContext | None]:
    """Start a context for a job until ``leave(token)`` (for paired hooks such as Celery's
    ``task_prerun``/``task_postrun``)."""
    return _current.set(JobLogContext(job_id=job_id, tenant=tenant))


def leave(token: Token[JobLogContext | None]) -> None:
    """Restore the context that was current before ``enter`` returned ``token``."""
    _current.reset(token)


@contextlib.contextmanager
def job_context(job_id: str | None, tenant: str | None = None) -> Iterator[JobLogContext]:
    """A context for the duration of the ``with`` block, then the previous one again."""
    context = JobLogContext(job_id=job_id, tenant=tenant)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class JobContextFilter(logging.Filter):
    """Copies the current job and tenant onto each record (``record.job_id``, ``.tenant``).

    A record that already names its job (``extra={"job_id": ...}``) keeps it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context is not None:
            if context.job_id is not None and not hasattr(record, "job_id"):
                record.job_id = context.job_id
            if context.tenant is not None and not hasattr(record, "tenant"):
                record.tenant = context.tenant
        return True


class JsonLogFormatter(JsonFormatter):
    """``{"timestamp", "level", "logger", "message", ...}``, extras and the job context after.

    Arguments passed by uvicorn's access logger become fields too (``http_method``,
    ``http_path``, ``http_status``, ``client``), so access lines can be filtered without
    parsing the message.
    """

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _, status = args
            log_data.update(client=client, http_method=method, http_path=path)
            log_data["http_status"] = status
        log_data.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for ``log_format``."""
    if log_format == "json":
        return JsonLogFormatter()
    return logging.Formatter(TEXT_FORMAT)


class _OwnedHandler(logging.StreamHandler[TextIO]):
    """The root handler installed by ``configure_logging`` (so a second call replaces it).

    Without a fixed stream it writes to whatever ``sys.stderr`` is at each record, like
    ``logging.lastResort``, so a replaced ``sys.stderr`` (pytest's capture) is never written
    to after it was closed.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._fixed = value


def configure_logging(
    log_format: LogFormat, level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Log every record of the process through one ``log_format`` handler on stderr.

    Handlers that others put on the root logger (pytest's capture, for one) are left alone;
    uvicorn's loggers lose their own handlers and propagate to the root, so its error and
    access lines are formatted the same way.
    """
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _OwnedHandler)]:
        root.removeHandler(existing)
    handler = _OwnedHandler(stream)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(JobContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
