"""Worker heartbeats for ``/metrics``: each worker says it is alive every few seconds.

A thread in the worker's main process (started by ``worker_ready``, stopped by
``worker_shutdown``) records the worker's node name in a Redis zset scored by when its
heartbeat expires (``observability.telemetry``, Redis clock). The API counts the unexpired entries
at scrape time. Cheaper and more robust than pinging workers over the broker from the scrape:
nothing waits on replies, a worker that dies without shutting down drops out after three
missed heartbeats, and one that shuts down cleanly drops out at once.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from observability.telemetry import Telemetry
from workers.periodic import Periodic, run_in_worker
from workers.stores import stores

logger = logging.getLogger(__name__)


class Heartbeat(Periodic):
    """Records ``worker`` as live every ``interval`` seconds in a daemon thread."""

    def __init__(self, telemetry: Telemetry, worker: str, interval: float) -> None:
        super().__init__("heartbeat", interval)
        self.telemetry = telemetry
        self.worker = worker

    def start(self) -> None:
        """Beat once now (so the worker counts as soon as it is ready), then periodically."""
        self._beat()
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating and drop the worker from the live set."""
        super().stop(timeout)
        try:
            self.telemetry.leave(self.worker)
        except redis.RedisError as exc:
            logger.warning("heartbeat: could not deregister %s (%s)", self.worker, exc)

    def run_once(self) -> None:
        """One beat."""
        self._beat()

    def _beat(self) -> None:
        try:
            self.telemetry.heartbeat(self.worker, self.interval)
        except redis.RedisError as exc:  # a blip: the next beat is within the expiry
            logger.warning("heartbeat: not recorded (%s)", exc)


def _heartbeat_of(consumer: Any) -> Heartbeat:
    s = stores()
    return Heartbeat(s.telemetry, str(consumer.hostname), s.settings.heartbeat_interval)


run_in_worker("heartbeat", _heartbeat_of)
