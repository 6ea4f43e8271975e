"""The only module of the API that talks to Celery: it sends tasks by name and pings workers.

The client is a bare ``celery.Celery`` object (no task imports, so the API image never imports
the workers or torch). Creating it opens no connection; the first send does.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery
from kombu.exceptions import ChannelError, OperationalError

from api_schemas.tasks import AUDIT_QUEUE, AUDIT_TASK
from jobstore.connection import celery_url_options
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)


class DispatchError(RuntimeError):
    """The broker did not take the message."""


class Dispatcher:
    """Sends audit tasks and asks whether a worker answers.

    Args:
        settings: The broker URL and timeouts come from here.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.celery = Celery("restoration-audit-api", set_as_current=False)
        # TLS (rediss://) and Sentinel (sentinel://) need options beside the URL.
        url_options = celery_url_options(
            settings.effective_broker_url, sentinel_master=settings.redis_sentinel_master
        )
        self.celery.conf.update(
            broker_use_ssl=url_options.get("broker_use_ssl"),
            broker_url=settings.effective_broker_url,
            task_serializer="json",
            accept_content=["json"],
            broker_connection_timeout=settings.broker_timeout_seconds,
            broker_connection_retry_on_startup=False,
            task_publish_retry=True,
            task_publish_retry_policy={
                "max_retries": 2,
                "interval_start": 0.0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
            broker_transport_options={
                "socket_timeout": settings.broker_timeout_seconds,
                **url_options.get("broker_transport_options", {}),
            },
        )
        self._ping_lock = threading.Lock()
        self._ping_at = float("-inf")
        self._ping_ok = False

    def enqueue_audit(self, job_id: str) -> None:
        """Queue the audit of ``job_id`` (the message carries the id only).

        Raises:
            DispatchError: The broker is unreachable or refused the message.
        """
        try:
            self.celery.send_task(AUDIT_TASK, args=[job_id], queue=AUDIT_QUEUE)
        except (OperationalError, OSError) as exc:
            logger.warning("could not queue job %s: %s", job_id, exc)
            raise DispatchError(str(exc)) from exc

    def workers_answer(self) -> bool:
        """Whether at least one worker answered a ping (cached ``readiness_cache_seconds``)."""
        with self._ping_lock:
            now = time.monotonic()
            if now - self._ping_at < self.settings.readiness_cache_seconds:
                return self._ping_ok
            try:
                with self.celery.connection_for_write() as conn:
                    conn.ensure_connection(
                        max_retries=1, timeout=self.settings.broker_timeout_seconds
                    )
                    replies = self.celery.control.ping(
                        timeout=self.settings.worker_ping_timeout_seconds, connection=conn
                    )
            except (OperationalError, OSError) as exc:
                logger.warning("worker ping failed: %s", exc)
                replies = []
            self._ping_ok = bool(replies)
            self._ping_at = now
            return self._ping_ok

    def queue_depth(self) -> int:
        """Messages waiting in the audit queue of the broker (not those a worker holds).

        Asked of the broker through kombu (a passive declare), so it holds for any transport;
        Redis keeps an empty queue as no key at all, which kombu reports as a missing queue.

        Raises:
            DispatchError: The broker is unreachable.
        """
        try:
            with self.celery.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=self.settings.broker_timeout_seconds)
                channel = conn.channel()
                try:
                    return int(channel.queue_declare(queue=AUDIT_QUEUE, passive=True).message_count)
                except ChannelError:
                    return 0
                finally:
                    channel.close()
        except (OperationalError, OSError) as exc:
            raise DispatchError(str(exc)) from exc

    def close(self) -> None:
        """Release the broker connections."""
        self.celery.close()
