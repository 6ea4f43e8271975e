"""A clock the tests advance by hand, injected into the job store (``jobstore.clock``)."""

from __future__ import annotations

import time


class ManualClock:
    """Epoch seconds that move only when ``advance`` is called (starts at the real time, so
    records stamped by it look like any other)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds
