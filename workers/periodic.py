"""A daemon thread that runs one round of work every few seconds until stopped.

The worker's background duties (the lease sweeper, webhook delivery, heartbeats) each run in
such a thread of the worker's main process; this is their one start/stop/loop, so a round
that fails (Redis out, an unexpected error) is logged and retried at the next interval the
same way everywhere, and stopping waits the same bounded time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)


class Periodic:
    """Calls ``run_once()`` every ``interval`` seconds in a daemon thread named ``name``.

    Subclasses implement ``run_once``; ``start`` and ``stop`` may be extended (a first round
    at start, resources closed at stop).
    """

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def run_once(self) -> None:
        """One round of work."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except redis.RedisError as exc:
                logger.warning("%s: redis unavailable (%s); retrying", self.name, exc)
            except Exception:
                logger.exception("%s: round failed; retrying", self.name)


def run_in_worker(name: str, make: Callable[[Any], Periodic]) -> None:
    """Run the thread ``make(sender)`` builds in each worker's main process: started when the
    worker is ready (``sender`` is its consumer), stopped when it shuts down. ``name`` keys
    the signal handlers, so connecting twice (a module imported again) runs one thread."""
    running: list[Periodic] = []

    @worker_ready.connect(dispatch_uid=f"ra-{name}-start", weak=False)  # type: ignore[untyped-decorator]
    def _start(sender: Any = None, **_: Any) -> None:
        periodic = make(sender)
        periodic.start()
        running.append(periodic)

    @worker_shutdown.connect(dispatch_uid=f"ra-{name}-stop", weak=False)  # type: ignore[untyped-decorator]
    def _stop(**_: Any) -> None:
        while running:
            running.pop().stop()
